import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import { pauseVendor } from '../../store/pauseVendor.js';
import { createCallPacer, createDailyQuota, type CallPacer, type CallSlot, type RateBudget, type Sleep } from '../rateLimiter.js';

/**
 * The longest vendor pause (429 Retry-After) a cycle waits out instead of leaving the vendor's work to the
 * next scheduled tick: a sliding window frees within seconds, while a long pause is not worth an idle
 * function instance (nor worth a continuation, which Pub/Sub would deliver at once, not when it ends).
 */
export const MAX_PAUSE_WAIT_MS = 30_000;

/** Whether a vendor may be called in this cycle, and when: pauses, pacing and quotas. */
export interface CycleGate {
  /** A slot for one call, after any pause that ends within the budget and the vendor's pace (and daily quota
   * for a submission); null when the vendor is stopped for this cycle or the budget is spent. */
  slot(vendor: DeletionVendor, what: 'call' | 'submit'): Promise<CallSlot | null>;
  /** A 429: records the pause for every poller; rows given are waited out here when it ends within the budget.
   * Returns when the vendor may be called again. */
  pause(vendor: DeletionVendor, retryAfterMs: number, reason: string, rows: ReadonlyArray<{ deletionId: string }>): Promise<Date>;
  /** Stops calling `vendor` this cycle; its rows are due again at `until`. */
  stop(vendor: string, until: Date): void;
  /** When a vendor stopped for this cycle may be called again; undefined while it is not stopped. */
  stoppedUntil(vendor: string): Date | undefined;
  /** Configured vendors not stopped for this cycle. */
  active(): string[];
  stopped(): string[];
  /** Whether a row was handed back for a pause this cycle waits out (it is claimed again, not taken for a loop). */
  waitingOut(deletionId: string): boolean;
  /** The row was claimed again. */
  claimedAgain(deletionId: string): void;
  /** When the pauses of `vendors` that rows wait for end (null: none to wait for); each is waited for once. */
  nextResume(vendors: string[]): { at: number; vendors: string[] } | null;
  forget(vendors: string[]): void;
}

/**
 * The vendor gate of one poller instance. Pacers and quotas live as long as the instance, so a warm
 * instance keeps pacing across cycles: a sliding window like the vendors' own (N a second means N in any
 * second, never N + a refill in the first). Pauses are read from the database at the start of each cycle.
 */
export function createVendorGate(deps: { pool: pg.Pool; log: Logger; clock: Clock; sleep: Sleep; vendors: DeletionVendor[] }) {
  const { pool, log, clock, sleep, vendors } = deps;
  const pacers = new Map<string, CallPacer>();
  const submitQuotas = new Map<string, RateBudget>();
  for (const v of vendors) {
    pacers.set(v.name, createCallPacer({ perSecond: v.policy.requestsPerSecond, clock, sleep }));
    if (v.policy.dailySubmitQuota) submitQuotas.set(v.name, createDailyQuota({ perDay: v.policy.dailySubmitQuota, clock }));
  }

  function forCycle(callDeadline: Date, pauses: Map<string, Date>): CycleGate {
    /** Vendors not to call again this cycle, with when they may be called (pause end, or now). */
    const stopped = new Map<string, Date>();
    /** Vendors paused (429) until a time within this cycle's budget: their calls wait for it. */
    const pausedUntil = new Map<string, Date>();
    const waiting = new Set<string>();
    const waitable = (until: Date) => until <= callDeadline && until.getTime() - clock.now().getTime() <= MAX_PAUSE_WAIT_MS;
    for (const [vendor, until] of pauses) {
      if (waitable(until)) pausedUntil.set(vendor, until);
      else stopped.set(vendor, until);
      log.info({ event: 'vendor_paused', vendor, until: until.toISOString() }, 'vendor is paused; its work waits');
    }
    return {
      async slot(vendor, what) {
        if (stopped.has(vendor.name)) return null;
        const until = pausedUntil.get(vendor.name);
        if (until && until > clock.now()) await sleep(until.getTime() - clock.now().getTime());
        if (stopped.has(vendor.name) || clock.now() >= callDeadline) return null;
        const quota = what === 'submit' ? submitQuotas.get(vendor.name) : undefined;
        if (quota && !(await quota.take(1, callDeadline))) return null;
        return pacers.get(vendor.name)!.acquire(callDeadline);
      },
      async pause(vendor, retryAfterMs, reason, rows) {
        const now = clock.now();
        const until = new Date(now.getTime() + retryAfterMs);
        await pauseVendor(pool, { vendor: vendor.name, until, reason, now });
        const later = pausedUntil.get(vendor.name);
        if (!waitable(until)) stopped.set(vendor.name, until);
        else if (!later || later < until) pausedUntil.set(vendor.name, until);
        const waitedOut = !stopped.has(vendor.name);
        log.warn(
          { event: 'vendor_rate_limited', vendor: vendor.name, retryAfterMs, until: until.toISOString(), waitedOut },
          'vendor answered 429; pausing it',
        );
        if (waitedOut) for (const r of rows) waiting.add(r.deletionId);
        return until;
      },
      stop: (vendor, until) => void stopped.set(vendor, until),
      stoppedUntil: (vendor) => stopped.get(vendor),
      active: () => vendors.map((v) => v.name).filter((n) => !stopped.has(n)),
      stopped: () => [...stopped.keys()],
      waitingOut: (id) => waiting.has(id),
      claimedAgain: (id) => void waiting.delete(id),
      nextResume(names) {
        if (waiting.size === 0) return null;
        const waits = names.filter((n) => (pausedUntil.get(n)?.getTime() ?? 0) > clock.now().getTime());
        if (waits.length === 0) return null;
        return { at: Math.max(...waits.map((n) => pausedUntil.get(n)!.getTime()), 0), vendors: waits };
      },
      forget(names) {
        for (const n of names) pausedUntil.delete(n);
      },
    };
  }

  return { forCycle };
}
