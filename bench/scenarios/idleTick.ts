import { systemClock, HOUR, DAY } from '../../functions/clock.js';
import { evaluateDeletionAlerts } from '../../functions/store/evaluateDeletionAlerts.js';
import { vendorForecasts } from '../../functions/services/raiseAlerts.js';
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
  /** The alert scan over `scanRows` unfinished deletions (nothing changed since the last scan): min/median/max ms. */
  scanRows: number;
  scanMs: { min: number; median: number; max: number };
  /** A whole scheduled tick whose alert scan is due (forced each time), at `scanRows` unfinished rows. */
  tickWithScanMs: { min: number; median: number; max: number };
  /** The whole first scan after loading (every unfinished row looked at once), as after the migration or a policy change. */
  firstScanMs: number;
  firstScanPasses: number;
  scanPlan: string;
  /** The most deletions one of the timed scans read (thresholds passed, open alerts). */
  scanCandidates: number;
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
    await forgetFinished(db);
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
    const scan = await measureScan(db, profile, say, poller, config.deadline.warningDays, config.deadline.riskMarginMs);
    return {
      ...scan,
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

/**
 * Rows loaded in bulk are inserted finished, and every insert marks its row for the alert scan's next look; the
 * migration marks only unfinished rows, and a scan clears a finished row's mark for good. The finished rows are
 * left as that look would leave them, so the scans below find only the unfinished ones.
 */
async function forgetFinished(db: ReturnType<typeof countingPool>): Promise<void> {
  await db.pool.query("update vendor_deletion set alert_check_at = null where state in ('completed', 'cancelled') and alert_check_at is not null");
}

const spread = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
};

/**
 * The alert scan at `profile.idleRows` unfinished deletions beside the idle scenario's finished ones (all submitted, checks an hour or more ahead, nothing
 * stale yet): once the first scan has stored each row's next threshold, a scan reads only what changed, through
 * the partial index on alert_check_at. Timed alone (the store call, 20 times) and inside a whole scheduled tick
 * whose scan is made due before each of 20 ticks.
 */
async function measureScan(
  db: ReturnType<typeof countingPool>,
  profile: Profile,
  say: (s: string) => void,
  poller: { tick(): Promise<number> },
  warningDays: number,
  riskMarginMs: number,
): Promise<Pick<IdleTickResult, 'scanRows' | 'scanMs' | 'tickWithScanMs' | 'firstScanMs' | 'firstScanPasses' | 'scanPlan' | 'scanCandidates'>> {
  const rows = profile.idleRows;
  const now = systemClock.now();
  say(`idle tick: the alert scan at ${rows} unfinished rows`);
  // The idle rows finish (they stay, as a finished history beside the open ones).
  await db.pool.query("update vendor_deletion set state = 'completed', next_check_at = null where state <> 'completed'");
  await forgetFinished(db);
  await loadDeletions(db.pool, { n: rows, vendor: 'http', state: 'submitted', prefix: 'open-', now, nextCheckAt: new Date(now.getTime() + HOUR), spreadMs: 3_600_000 });
  await db.pool.query('vacuum analyze');
  const policies = [{ vendor: 'http', expectedDurationMs: 3 * DAY, noProgressMs: 3 * DAY }];
  // The poller's own policy, forecasts included: a scan with another one would see a policy change.
  const forecasts = await vendorForecasts(db.pool, policies);
  const args = () => ({ now: systemClock.now(), policies, deadlineWarningMs: warningDays * DAY, forecasts, riskMarginMs });
  // The first scan after the migration (or a policy change) looks at every unfinished row once, in passes of
  // 20,000 rows; a poll cycle gives it at most 20 s and the following scans go on. Here it runs to the end in one
  // call, timed as a whole.
  const t0 = performance.now();
  const first = await evaluateDeletionAlerts(db.pool, { ...args(), maxMs: Number.POSITIVE_INFINITY });
  const firstScanMs = performance.now() - t0;
  await db.pool.query('vacuum analyze vendor_deletion');
  const scans: number[] = [];
  // Rows whose threshold passed meanwhile, or with an open alert, are candidates: what a scan really reads.
  const candidates: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const t = performance.now();
    const r = await evaluateDeletionAlerts(db.pool, args());
    scans.push(performance.now() - t);
    candidates.push(r.candidates);
  }
  const ticks: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    await db.pool.query("update poller_schedule set due_at = '-infinity' where name = 'alert_scan'");
    const t = performance.now();
    await poller.tick();
    ticks.push(performance.now() - t);
  }
  const plan = (
    await db.pool.query<{ 'QUERY PLAN': string }>(`explain select id from vendor_deletion where alert_check_at <= $1::timestamptz`, [systemClock.now()])
  ).rows.map((r) => r['QUERY PLAN']);
  return { scanRows: rows, scanMs: spread(scans), tickWithScanMs: spread(ticks), firstScanMs, firstScanPasses: first.passes, scanPlan: plan.join('\n'), scanCandidates: Math.max(...candidates) };
}
