import type { Clock } from '../clock.js';

/** Waits for a number of milliseconds; injected so tests can move a fake clock instead of sleeping. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A budget of vendor calls. `take` resolves true once `cost` units are granted, or false at once when
 * they cannot be granted before `deadline` (the caller then stops instead of overrunning its time).
 */
export interface RateBudget {
  take(cost: number, deadline: Date): Promise<boolean>;
}

/**
 * A token bucket: `perSecond` tokens a second, holding up to `burst`. Calls wait their turn in order
 * (a promise chain), so concurrent callers never overdraw it.
 */
export function createTokenBucket(options: { perSecond: number; burst?: number; clock: Clock; sleep?: Sleep }): RateBudget {
  const { perSecond, clock } = options;
  if (!(perSecond > 0)) throw new RangeError('perSecond must be positive');
  const burst = Math.max(1, options.burst ?? Math.ceil(perSecond));
  const sleep = options.sleep ?? realSleep;
  let tokens = burst;
  let refilledAt = clock.now().getTime();
  let queue: Promise<unknown> = Promise.resolve();

  const refill = () => {
    const now = clock.now().getTime();
    if (now > refilledAt) {
      tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * perSecond);
      refilledAt = now;
    }
  };

  const takeNow = async (cost: number, deadline: Date): Promise<boolean> => {
    const need = Math.min(cost, burst);
    refill();
    if (tokens < need) {
      const waitMs = Math.ceil(((need - tokens) / perSecond) * 1000);
      if (clock.now().getTime() + waitMs > deadline.getTime()) return false;
      await sleep(waitMs);
      refill();
    }
    // A cost above the burst is let through at burst size after the wait: one big call, not a deadlock.
    tokens -= need;
    return true;
  };

  return {
    take(cost, deadline) {
      const result = queue.then(() => takeNow(cost, deadline));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}

/**
 * A quota of units per UTC day (for example new deletion requests a vendor accepts a day). Kept per
 * instance: the vendor's 429 stays the authority across instances; this keeps one instance from
 * spending the whole day's quota in one burst.
 */
export function createDailyQuota(options: { perDay: number; clock: Clock }): RateBudget & { remaining(): number } {
  let day = '';
  let used = 0;
  const roll = () => {
    const today = options.clock.now().toISOString().slice(0, 10);
    if (today !== day) {
      day = today;
      used = 0;
    }
  };
  return {
    async take(cost) {
      roll();
      if (used + cost > options.perDay) return false;
      used += cost;
      return true;
    },
    remaining() {
      roll();
      return options.perDay - used;
    },
  };
}

/** Grants only when every budget grants, checked in order (cheap refusals first). */
export function allBudgets(...budgets: RateBudget[]): RateBudget {
  return {
    async take(cost, deadline) {
      for (const b of budgets) if (!(await b.take(cost, deadline))) return false;
      return true;
    },
  };
}
