import pg from 'pg';
import { createFakeClock, DAY, HOUR, MINUTE, systemClock } from '../../functions/clock.js';
import { startSandbox } from '../../local/sandbox/server.js';
import type { Sleep } from '../../functions/services/rateLimiter.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { benchConfig, loadDeletions, pollerHandler, type Profile } from '../common.js';
import type { BenchDatabase } from '../db.js';
import { createSeedSchema, seedPollTick, seedSubmit } from '../seed/seed.js';
import { SESSION_OPTIONS } from '../../functions/store/pool.js';

/** One vendor's 30 days: vendor calls (every request the sandbox received) per deleted customer. */
export interface LifecycleVendorResult {
  vendor: 'segment' | 'http';
  kind: 'batch' | 'per-operation';
  customers: number;
  oursCalls: number;
  oursDeleted: number;
  oursCallsPerDeleted: number;
  /** Virtual days from the revocations until the last of ours was seen completed. */
  oursDays: number;
  seedCustomers: number;
  seedCalls: number;
  seedDeleted: number;
  seedCallsPerDeleted: number;
}

export interface LifecycleResult {
  days: number;
  /** Scheduled ticks ours was delivered (ticks with nothing due are skipped: they call no vendor). */
  oursTicks: number;
  seedTicks: number;
  vendors: LifecycleVendorResult[];
}

const TOKEN = 'bench-segment-token';
const TICK = 10 * MINUTE;

/**
 * Scenario 6: a simulated deletion that the vendors finish `profile.lifecycleDays` (30) days after it is
 * created, on a virtual clock shared by the poller, its pacing and the sandbox. Ours: revocations queued at a
 * batch vendor (Segment sandbox, 2,000 ids a request) and at a per-operation vendor (http sandbox), the real
 * pollDeletions handler delivered on a 10-minute schedule until every deletion is seen completed. Scheduled
 * ticks with nothing due are skipped by moving the clock to the first tick at or after the earliest next
 * check: such a tick claims nothing and so calls no vendor (scenario 3b measures what it costs). The seed:
 * one create call per revocation, then its hourly tick checking every pending row.
 */
export async function runLifecycle(db: BenchDatabase, profile: Profile, say: (s: string) => void): Promise<LifecycleResult> {
  const days = profile.lifecycleDays;
  const start = new Date(Math.ceil(systemClock.now().getTime() / HOUR) * HOUR);
  const clock = createFakeClock(start);
  // Waiting on the virtual clock moves it: pacing and pauses cost no wall time.
  const sleep: Sleep = async (ms) => {
    clock.advance(Math.max(0, ms));
  };
  const lifecycle = { inProgressAfterMs: DAY, completeAfterMs: days * DAY };
  const sandbox = await startSandbox({
    clock,
    sleep,
    vendors: {
      segment: { credential: TOKEN, rateLimit: { requests: 1, perMs: 1000 }, lifecycle, recordLimit: 0, options: { maxSubjects: 2000, destinations: [{ id: 'dest_amplitude', name: 'Amplitude', supported: true }] } },
      http: { lifecycle, recordLimit: 0 },
    },
  });
  const fresh = await db.fresh('lifecycle');
  // This scenario counts vendor calls on a virtual clock, not time: waiting for each commit's WAL flush would
  // only stretch the run (the seed alone commits three statements per check).
  const admin = new pg.Client({ connectionString: fresh.url });
  await admin.connect();
  try {
    await admin.query(`alter database ${new URL(fresh.url).pathname.slice(1)} set synchronous_commit = off`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ connectionString: fresh.url, max: 5, options: SESSION_OPTIONS });
  pool.on('error', () => {});
  const env = (batch: string) => ({
    VENDORS: 'segment,http',
    VENDOR_SEGMENT_BASE_URL: `${sandbox.url}/segment`,
    VENDOR_SEGMENT_TOKEN: TOKEN,
    VENDOR_SEGMENT_MAX_BATCH_SIZE: batch,
    VENDOR_SEGMENT_RATE_PER_SECOND: '1',
    VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
    VENDOR_HTTP_CONCURRENCY: '25',
    VENDOR_HTTP_RATE_PER_SECOND: '500',
  });
  const horizon = start.getTime() + (days + 10) * DAY;
  try {
    // ---- ours ----
    const config = benchConfig(fresh.url, env('2000'));
    const vendors = createVendors(config.vendors);
    await loadDeletions(pool, { n: profile.lifecycleBatch, vendor: 'segment', state: 'queued', prefix: 'life-b-', now: start, nextCheckAt: start });
    await loadDeletions(pool, { n: profile.lifecyclePerOp, vendor: 'http', state: 'queued', prefix: 'life-p-', now: start, nextCheckAt: start });
    say(`lifecycle: ${profile.lifecycleBatch} customers at a batch vendor, ${profile.lifecyclePerOp} at a per-operation vendor, ${days}-day deletions on a virtual clock`);
    const poller = pollerHandler({ config, pool, vendors, clock, sleep });
    let oursTicks = 0;
    for (;;) {
      oursTicks += await poller.tick();
      const r = (
        await pool.query<{ open: string; next: Date | null }>(
          `select count(*) filter (where state not in ('completed', 'cancelled', 'error', 'failed')) as open,
                  min(next_check_at) filter (where state not in ('completed', 'cancelled', 'error', 'failed')) as next
             from vendor_deletion`,
        )
      ).rows[0]!;
      if (Number(r.open) === 0) break;
      const now = clock.now().getTime();
      if (now > horizon) throw new Error(`lifecycle: ${r.open} deletions still open after ${days + 10} virtual days`);
      const due = Math.max(now + 1, r.next?.getTime() ?? now + TICK);
      // The scheduler's ticks fall every 10 minutes from the start.
      clock.set(new Date(start.getTime() + Math.ceil((due - start.getTime()) / TICK) * TICK));
    }
    const oursEnd = clock.now();
    const completed = async (vendor: string) =>
      Number((await pool.query<{ n: string }>("select count(*) as n from vendor_deletion where vendor = $1::text and state = 'completed'", [vendor])).rows[0]!.n);
    const ours = {
      segment: { calls: sandbox.control.stats('segment').requests, deleted: await completed('segment') },
      http: { calls: sandbox.control.stats('http').requests, deleted: await completed('http') },
    };

    // ---- the seed, on customers of the same kind ----
    sandbox.control.reset('segment');
    sandbox.control.reset('http');
    clock.set(start);
    await createSeedSchema(pool);
    const seedVendors = createVendors(benchConfig(fresh.url, env('1')).vendors);
    const seedCustomers = profile.lifecycleSeed;
    say(`lifecycle: the seed, ${seedCustomers} customers per vendor, hourly ticks`);
    for (const v of seedVendors) {
      const perSecond = v.name === 'segment' ? 1 : 500;
      await seedSubmit(pool, v, Array.from({ length: seedCustomers }, (_, i) => `life-seed-${v.name}-${i + 1}`), { clock, perSecond, sleep });
    }
    let seedTicks = 0;
    const pendingSeed = async () => Number((await pool.query<{ n: string }>('select count(*) as n from seed_pending_deletion')).rows[0]!.n);
    while ((await pendingSeed()) > 0) {
      seedTicks += 1;
      clock.set(new Date(start.getTime() + seedTicks * HOUR));
      if (clock.now().getTime() > horizon) throw new Error(`lifecycle: the seed left deletions open after ${days + 10} virtual days`);
      for (const v of seedVendors) await seedPollTick(pool, v, { clock, perSecond: v.name === 'segment' ? 1 : 500, sleep });
    }
    const seedDeleted = async (vendor: string) =>
      Number((await pool.query<{ n: string }>('select count(*) as n from seed_completed_deletion where vendor = $1::text', [vendor])).rows[0]!.n);
    const result = (vendor: 'segment' | 'http', customers: number): LifecycleVendorResult => ({
      vendor,
      kind: vendor === 'segment' ? 'batch' : 'per-operation',
      customers,
      oursCalls: ours[vendor].calls,
      oursDeleted: ours[vendor].deleted,
      oursCallsPerDeleted: ours[vendor].calls / Math.max(1, ours[vendor].deleted),
      oursDays: (oursEnd.getTime() - start.getTime()) / DAY,
      seedCustomers,
      seedCalls: sandbox.control.stats(vendor).requests,
      seedDeleted: 0,
      seedCallsPerDeleted: 0,
    });
    const out = [result('segment', profile.lifecycleBatch), result('http', profile.lifecyclePerOp)];
    for (const r of out) {
      r.seedDeleted = await seedDeleted(r.vendor);
      r.seedCallsPerDeleted = r.seedCalls / Math.max(1, r.seedDeleted);
      if (r.oursDeleted !== r.customers) throw new Error(`lifecycle: ${r.oursDeleted} of ${r.customers} deletions completed at ${r.vendor}`);
    }
    return { days, oursTicks, seedTicks, vendors: out };
  } finally {
    await pool.end();
    await fresh.drop();
    await sandbox.stop();
  }
}
