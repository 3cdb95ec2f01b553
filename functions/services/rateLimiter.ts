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

/** A granted call slot: `done()` says the call has ended (answered, failed or timed out). */
export interface CallSlot {
  done(): void;
}

/** Paces calls to a vendor that enforces "at most N requests in any window" (see createCallPacer). */
export interface CallPacer {
  /** A slot once one is free, or null at once when none frees before `deadline`. */
  acquire(deadline: Date): Promise<CallSlot | null>;
}

/**
 * A sliding-window pacer: at most `perSecond` calls in any second (for a rate below 1, one call per
 * 1/rate seconds), counted the way a vendor counts them. A call is let go only once the call `n`
 * places before it has *ended* a whole window ago. A request reaches the vendor between its start and
 * its end, so two calls a window apart at the vendor stay a window apart whatever the network did (a
 * cold connection that delays the first request must not put the second inside the same window). A
 * late timer costs nothing later: the window is measured from the calls made, not from a refill.
 */
export function createCallPacer(options: { perSecond: number; clock: Clock; sleep?: Sleep }): CallPacer {
  const { perSecond, clock } = options;
  if (!(perSecond > 0)) throw new RangeError('perSecond must be positive');
  const sleep = options.sleep ?? realSleep;
  const slots = Math.max(1, Math.floor(perSecond));
  const windowMs = (1000 * slots) / perSecond;
  interface Entry {
    endedAt: number | null;
    ended: Promise<void>;
  }
  // The last `slots` calls, oldest at `next`.
  const log: Entry[] = [];
  let next = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const acquireNow = async (deadline: Date): Promise<CallSlot | null> => {
    const oldest = log.length < slots ? undefined : log[next]!;
    if (oldest) {
      if (oldest.endedAt === null) await oldest.ended;
      const free = oldest.endedAt! + windowMs;
      const now = clock.now().getTime();
      if (free > now) {
        if (free > deadline.getTime()) return null;
        await sleep(free - now);
      }
    }
    let resolve!: () => void;
    const entry: Entry = { endedAt: null, ended: new Promise<void>((r) => (resolve = r)) };
    if (log.length < slots) log.push(entry);
    else {
      log[next] = entry;
      next = (next + 1) % slots;
    }
    let ended = false;
    return {
      done() {
        if (ended) return;
        ended = true;
        entry.endedAt = clock.now().getTime();
        resolve();
      },
    };
  };

  return {
    acquire(deadline) {
      const result = queue.then(() => acquireNow(deadline));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}
