import { systemClock, HOUR } from '../../functions/clock.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { benchConfig, loadDeletions, pollerHandler, type Profile } from '../common.js';
import { countingPool } from '../db.js';

export interface IdleTickResult {
  rows: number;
  /** Median wall time of a whole scheduled tick (the pollDeletions handler) with nothing due. */
  tickMs: number;
  /** Median execution time of the due-work claim alone, from EXPLAIN ANALYZE. */
  claimMs: number;
  statementsPerTick: number;
  usesIndex: boolean;
  plan: string;
}

/**
 * Scenario 3b: a scheduler tick with nothing due over `rows` rows (90% finished, 10% pending with a
 * check scheduled an hour or more ahead), loaded with one insert … select generate_series statement.
 */
export async function runIdleTick(url: string, profile: Profile, say: (s: string) => void): Promise<IdleTickResult> {
  const rows = profile.idleRows;
  const db = countingPool(url, 5);
  try {
    const now = systemClock.now();
    say(`idle tick: loading ${rows} rows`);
    const pending = Math.floor(rows / 10);
    await loadDeletions(db.pool, { n: rows - pending, vendor: 'http', state: 'completed', prefix: 'done-', now, nextCheckAt: null });
    await loadDeletions(db.pool, { n: pending, vendor: 'http', state: 'submitted', prefix: 'wait-', now, nextCheckAt: new Date(now.getTime() + HOUR), spreadMs: 3_600_000 });
    await db.pool.query('vacuum analyze');
    const config = benchConfig(url);
    const poller = pollerHandler({ config, pool: db.pool, vendors: createVendors(config.vendors), clock: systemClock });
    await poller.tick();
    const times: number[] = [];
    db.reset();
    const ticks = 20;
    for (let i = 0; i < ticks; i += 1) {
      const t0 = performance.now();
      await poller.tick();
      times.push(performance.now() - t0);
    }
    const statementsPerTick = db.count() / ticks;
    const explain = async () =>
      (
        await db.pool.query<{ 'QUERY PLAN': string }>(
          `explain (analyze, buffers)
           select id from vendor_deletion
            where next_check_at <= $1::timestamptz
              and (lease_expires_at is null or lease_expires_at <= $1::timestamptz)
              and vendor = any($2::text[])
            order by next_check_at
            limit 500
              for update skip locked`,
          [new Date(), ['http']],
        )
      ).rows.map((r) => r['QUERY PLAN']);
    const claimTimes: number[] = [];
    let plan: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      plan = await explain();
      const m = /Execution Time: ([\d.]+) ms/.exec(plan.join('\n'));
      claimTimes.push(m ? Number(m[1]) : NaN);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return {
      rows,
      tickMs: median(times),
      claimMs: median(claimTimes),
      statementsPerTick,
      usesIndex: plan.some((l) => l.includes('vendor_deletion_due')),
      plan: plan.join('\n'),
    };
  } finally {
    await db.end();
  }
}
