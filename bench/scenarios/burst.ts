import pg from 'pg';
import { systemClock } from '../../functions/clock.js';
import { startSandbox } from '../../local/sandbox/server.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { benchConfig, loadDeletions, pollerHandler, type Profile } from '../common.js';
import { createSeedSchema, seedSubmit } from '../seed/seed.js';
import { recordSubmitted, type SubmittedRow } from '../../functions/store/recordSubmitted.js';
import { SESSION_OPTIONS } from '../../functions/store/pool.js';

/** A backlog sample: seconds since the burst began, deletions not yet submitted. */
export type BacklogPoint = [seconds: number, backlog: number];

export interface BurstResult {
  revocations: number;
  batchSize: number;
  perSecond: number;
  requestsNeeded: number;
  /**
   * The physical floor: the first create goes at once and each later one a 1/rate apart, so the last starts
   * (requests − 1) / rate after the first; then one call's latency and the write of its rows.
   */
  idealSeconds: number;
  /** The parts of the floor: the vendor's latency and the measured write of one batch's rows (median of 3). */
  callLatencySeconds: number;
  lastWriteSeconds: number;
  /** From the start of the first poll delivery to the commit of the last batch (the delivery that drained the
   * queue has returned, so every row is committed; this stops at or just after the last commit). */
  /** To the last row's commit (the first 5 ms look that found the queue empty). */
  oursSeconds: number;
  /** To the return of the delivery that drained the queue (it seals the event log and scans after submitting). */
  deliveryReturnedSeconds: number;
  oursRequests: number;
  oursRateLimitExceeded: number;
  /** Poll deliveries it took (1 when no 429 paused the vendor). */
  oursTicks: number;
  seedMeasuredSeconds: number;
  seedSubmitted: number;
  seedPerSecond: number;
  seedProjectedSeconds: number;
  ours: BacklogPoint[];
  seed: BacklogPoint[];
}

const TOKEN = 'bench-segment-token';

/**
 * Scenario 1: N revocations queued at once for a batch vendor (the Segment sandbox, 1 create a second,
 * 2,000 ids a request). Ours: the real pollDeletions handler drains the queue; time until the last
 * submission is recorded. The seed: one create call per event at the same rate, measured for a window and
 * projected from its measured rate (at 1 request/s it needs N seconds).
 */
export async function runBurst(url: string, profile: Profile, say: (s: string) => void): Promise<BurstResult> {
  const n = profile.burst;
  const batchSize = 2000;
  const perSecond = 1;
  const latencyMs = 20;
  const sandbox = await startSandbox({
    vendors: {
      segment: {
        credential: TOKEN,
        rateLimit: { requests: perSecond, perMs: 1000 },
        latencyMs,
        lifecycle: { inProgressAfterMs: 3_600_000, completeAfterMs: 7_200_000 },
        options: { maxSubjects: batchSize, destinations: [{ id: 'dest_amplitude', name: 'Amplitude', supported: true }] },
      },
    },
  });
  const pool = new pg.Pool({ connectionString: url, max: 5, options: SESSION_OPTIONS });
  pool.on('error', () => {});
  try {
    const config = benchConfig(url, {
      VENDORS: 'segment',
      VENDOR_SEGMENT_BASE_URL: `${sandbox.url}/segment`,
      VENDOR_SEGMENT_TOKEN: TOKEN,
      VENDOR_SEGMENT_MAX_BATCH_SIZE: String(batchSize),
      VENDOR_SEGMENT_RATE_PER_SECOND: String(perSecond),
    });
    const vendors = createVendors(config.vendors);
    const start = systemClock.now();
    await loadDeletions(pool, { n, vendor: 'segment', state: 'queued', prefix: 'burst-', now: start, nextCheckAt: start });

    // ---- ours ----
    say(`burst: ${n} revocations queued; draining through pollDeletions at ${perSecond} request/s, ${batchSize} ids each`);
    const ours: BacklogPoint[] = [];
    const backlog = async () =>
      Number((await pool.query<{ n: string }>("select count(*) as n from vendor_deletion where vendor = 'segment' and state = 'queued'")).rows[0]!.n);
    const t0 = performance.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        ours.push([(performance.now() - t0) / 1000, await backlog()]);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const began = performance.now();
    // The stop time is the last row's commit: a watcher of its own looks every 5 ms and notes the first look
    // that finds the queue empty (the commit is at most one look earlier). The delivery itself returns later: the
    // cycle goes on to seal the event log and the rest of its work.
    let emptyAt: number | null = null;
    let watching = true;
    const watcher = (async () => {
      while (watching && emptyAt === null) {
        if ((await backlog()) === 0) emptyAt = performance.now();
        else await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const poller = pollerHandler({ config, pool, vendors, clock: systemClock });
    let ticks = 0;
    let drainedAt = began;
    // A 429 pauses the vendor and ends the cycle's work on it; in production the rest waits for the next
    // scheduled tick. Here the next tick is delivered as soon as the pause ends (as `consent-erasure poll`
    // would), and the extra ticks are reported.
    for (;;) {
      ticks += await poller.tick();
      drainedAt = performance.now();
      if ((await backlog()) === 0 || ticks > 50) break;
      const pause = (await pool.query<{ until: Date | null }>("select max(paused_until) as until from vendor_pause where vendor = 'segment'")).rows[0]?.until;
      const wait = pause ? pause.getTime() - Date.now() : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    sampling = false;
    watching = false;
    await sampler;
    await watcher;
    const left = await backlog();
    if (left !== 0) throw new Error(`burst: ${left} deletions still queued after the poll`);
    const oursSeconds = ((emptyAt ?? drainedAt) - began) / 1000;
    const deliveryReturnedSeconds = (drainedAt - began) / 1000;
    ours.push([oursSeconds, 0]);
    const lastWriteSeconds = await batchWriteSeconds(pool, batchSize);
    const stats = sandbox.control.stats('segment');
    if (process.env['BENCH_LOG']) say(JSON.stringify(sandbox.control.calls('segment').map((c) => [c.at, c.status])));
    const oursRequests = sandbox.control.calls('segment').filter((c) => c.method === 'POST').length;

    // ---- the seed, on the same customers ----
    sandbox.control.reset('segment');
    await createSeedSchema(pool);
    const [seedVendor] = createVendors(benchConfig(url, {
      VENDORS: 'segment',
      VENDOR_SEGMENT_BASE_URL: `${sandbox.url}/segment`,
      VENDOR_SEGMENT_TOKEN: TOKEN,
      VENDOR_SEGMENT_MAX_BATCH_SIZE: '1',
      VENDOR_SEGMENT_RATE_PER_SECOND: String(perSecond),
    }).vendors);
    say(`burst: the seed submits one revocation per call for ${profile.seedBurstWindowS} s`);
    const customers = Array.from({ length: n }, (_, i) => `burst-${i + 1}`);
    const seed: BacklogPoint[] = [[0, n]];
    const s0 = performance.now();
    const seedReport = await seedSubmit(pool, seedVendor!, customers, {
      clock: systemClock,
      perSecond,
      until: new Date(Date.now() + profile.seedBurstWindowS * 1000),
      onSubmitted: (k) => seed.push([(performance.now() - s0) / 1000, n - k]),
    });
    const seedMeasuredSeconds = (performance.now() - s0) / 1000;
    // From the first answer to the last: the first call goes at once, the rest at the vendor's pace.
    const first = seed[1]?.[0] ?? 0;
    const lastAt = seed.at(-1)?.[0] ?? seedMeasuredSeconds;
    const seedPerSecond = seedReport.submitted > 1 ? (seedReport.submitted - 1) / (lastAt - first) : seedReport.submitted / seedMeasuredSeconds;
    return {
      revocations: n,
      batchSize,
      perSecond,
      requestsNeeded: Math.ceil(n / batchSize),
      idealSeconds: (Math.ceil(n / batchSize) - 1) / perSecond + latencyMs / 1000 + lastWriteSeconds,
      callLatencySeconds: latencyMs / 1000,
      lastWriteSeconds,
      oursSeconds,
      deliveryReturnedSeconds,
      oursRequests,
      oursRateLimitExceeded: stats.rateLimitExceeded,
      oursTicks: ticks,
      seedMeasuredSeconds,
      seedSubmitted: seedReport.submitted,
      seedPerSecond,
      seedProjectedSeconds: n / seedPerSecond,
      ours,
      seed,
    };
  } finally {
    await pool.end();
    await sandbox.stop();
  }
}

/**
 * How long recording one batch takes: the submitter's own statement (store/recordSubmitted.ts: the rows'
 * update and their `submitted` events in the chained log) for `batchSize` rows the burst submitted, put back
 * to queued inside a transaction that is rolled back; median of 3.
 */
async function batchWriteSeconds(pool: pg.Pool, batchSize: number): Promise<number> {
  const times: number[] = [];
  const client = await pool.connect();
  try {
    for (let i = 0; i < 3; i += 1) {
      await client.query('begin');
      try {
        const picked = await client.query<{ id: string; operation_ref: Record<string, unknown>; operation_id: string }>(
          `update vendor_deletion set state = 'queued'
            where id in (select id from vendor_deletion where vendor = 'segment' order by id limit $1)
           returning id::text, operation_ref, operation_id`,
          [batchSize],
        );
        const now = new Date();
        const rows: SubmittedRow[] = picked.rows.map((r) => ({
          deletionId: r.id,
          state: 'submitted',
          operationRef: r.operation_ref,
          operationId: r.operation_id,
          rawStatus: 'INITIALIZED',
          statusPayload: null,
          expectedBy: now,
          expectedSource: null,
          nextCheckAt: now,
          completedAt: null,
        }));
        const t0 = performance.now();
        await recordSubmitted(client, rows, now);
        times.push((performance.now() - t0) / 1000);
      } finally {
        await client.query('rollback');
      }
    }
  } finally {
    client.release();
  }
  return times.sort((a, b) => a - b)[1]!;
}
