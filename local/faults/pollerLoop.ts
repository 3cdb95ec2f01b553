import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../functions/clock.js';
import type { Config } from '../../functions/config.js';
import { createMemoryPublisher } from '../../functions/services/publisher.js';
import { createPollCycle } from '../../functions/services/poll/pollCycle.js';
import { createSubmitter } from '../../functions/services/submitDeletions.js';
import type { DeletionVendor } from '../../functions/vendors/DeletionVendor.js';

/** The points of a poll cycle a fault test may kill the poller at. */
export const POLL_PHASES = ['claim', 'call', 'write'] as const;
export type PollPhase = (typeof POLL_PHASES)[number];

/** Which phase a statement belongs to: the leased claim of due work, or the write of results. */
export function phaseOfStatement(text: unknown): PollPhase | undefined {
  const sql = typeof text === 'string' ? text : typeof (text as { text?: unknown })?.text === 'string' ? (text as { text: string }).text : '';
  if (/for update skip locked/i.test(sql)) return 'claim';
  if (/update vendor_deletion/i.test(sql)) return 'write';
  return undefined;
}

/** The pool, reporting each claim and write statement to `mark` just before it is sent. */
export function markingPool(pool: pg.Pool, mark: (phase: PollPhase) => void): pg.Pool {
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query') {
        return (...args: unknown[]) => {
          const phase = phaseOfStatement(args[0]);
          if (phase) mark(phase);
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The vendor, reporting each submission and status call to `mark` just before it goes out. */
export function markingVendor(vendor: DeletionVendor, mark: (phase: PollPhase) => void): DeletionVendor {
  return {
    name: vendor.name,
    policy: vendor.policy,
    submit(subjects) {
      mark('call');
      return vendor.submit(subjects);
    },
    checkStatus(operations) {
      mark('call');
      return vendor.checkStatus(operations);
    },
  };
}

export interface PollerLoopOptions {
  pool: pg.Pool;
  vendors: DeletionVendor[];
  config: Pick<Config, 'topics' | 'poller' | 'alerts' | 'deadline'>;
  log: Logger;
  clock: Clock;
  /** Called with each phase as the cycle enters it (the process entry writes it to stdout). */
  mark: (phase: PollPhase | 'cycle') => void;
  /** Pause between cycles. */
  pauseMs: number;
  /** Stop (resolve) once a cycle ends with no deletion pending; otherwise run until killed. */
  untilIdle: boolean;
}

/**
 * Runs poll cycles back to back over a real database and real vendors, as a scheduler ticking very fast
 * would, reporting the phase it is in so a fault test can kill it at a chosen point. Alerts are published
 * to memory: the kill scenario counts deletions, not emails.
 */
export async function runPollerLoop(options: PollerLoopOptions): Promise<number> {
  const pool = markingPool(options.pool, options.mark);
  const vendors = options.vendors.map((v) => markingVendor(v, options.mark));
  const cycle = createPollCycle({
    pool,
    vendors,
    publisher: createMemoryPublisher(),
    log: options.log,
    clock: options.clock,
    config: options.config,
    submitter: createSubmitter({ pool, log: options.log, clock: options.clock }),
  });
  for (let cycles = 1; ; cycles += 1) {
    await cycle.run({});
    options.mark('cycle');
    if (options.untilIdle) {
      const { rows } = await options.pool.query<{ n: number }>('select count(*)::int as n from pending_deletion');
      if (rows[0]!.n === 0) return cycles;
    }
    await new Promise((r) => setTimeout(r, options.pauseMs));
  }
}
