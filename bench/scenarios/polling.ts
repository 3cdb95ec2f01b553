import { randomUUID } from 'node:crypto';
import { systemClock, DAY } from '../../functions/clock.js';
import { startSandbox } from '../../local/sandbox/server.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { inFlightFor } from '../../functions/domain/inFlight.js';
import { benchConfig, loadDeletions, pollerHandler, type Profile } from '../common.js';
import { countingPool } from '../db.js';
import { createSeedSchema, loadSeedPending, seedPollTick } from '../seed/seed.js';

export interface PollingResult {
  operations: number;
  capPerSecond: number;
  latencyMs: number;
  /** Calls in flight the poller sized itself to (domain/inFlight.ts): no concurrency is configured. */
  concurrency: number;
  oursChecked: number;
  oursSeconds: number;
  oursPerSecond: number;
  oursStatements: number;
  oursStatementsPerCheck: number;
  oursRateLimitExceeded: number;
  seedChecked: number;
  seedSeconds: number;
  seedPerSecond: number;
  seedStatements: number;
  seedStatementsPerCheck: number;
}

/**
 * Scenarios 2 and 3a: N pending operations at a per-operation vendor (the http sandbox: `latencyMs` latency,
 * 500 requests/s). Ours: the real pollDeletions handler, with the default configuration but for the vendor's
 * rate, checks every due one; it sizes its calls in flight from the rate and the latency it measures
 * (domain/inFlight.ts), nobody sets a concurrency. The seed's loop checks them one by one for a measured
 * window (skipped with `seed: false`). Statements are counted on each side's own pool.
 */
export async function runPolling(url: string, profile: Profile, say: (s: string) => void, options: { latencyMs: number; seed: boolean }): Promise<PollingResult> {
  const n = profile.polling;
  const cap = 500;
  const { latencyMs } = options;
  const sandbox = await startSandbox({ vendors: { http: { lifecycle: { inProgressAfterMs: DAY, completeAfterMs: 2 * DAY }, recordLimit: 0 } } });
  const ours = countingPool(url, 10);
  const seedPool = countingPool(url, 2);
  try {
    const env = { VENDORS: 'http', VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` };
    // Set-up: create the operations at the sandbox as fast as it goes (no latency, no cap yet).
    const [setupVendor] = createVendors(benchConfig(url, { ...env, VENDOR_HTTP_CONCURRENCY: '64', VENDOR_HTTP_RATE_PER_SECOND: '100000' }).vendors);
    const operationIds: string[] = [];
    for (let i = 0; i < n; i += 2000) {
      const subjects = Array.from({ length: Math.min(2000, n - i) }, (_, k) => ({ deletionId: String(i + k), customerId: `poll-${i + k + 1}`, idempotencyKey: randomUUID() }));
      for (const op of await setupVendor!.submit(subjects)) operationIds.push(op.operationId);
    }
    const now = systemClock.now();
    // Each latency's run has rows of its own (both runs share the database): only this run's are counted.
    const prefix = `poll${latencyMs}-`;
    await loadDeletions(ours.pool, { n, vendor: 'http', state: 'submitted', prefix, now, operationIds, nextCheckAt: now });
    await createSeedSchema(seedPool.pool);
    await loadSeedPending(seedPool.pool, operationIds.map((o, i) => ({ userId: `poll-${i + 1}`, vendor: 'http', operationId: o })), now);
    await ours.pool.query('vacuum analyze vendor_deletion');
    sandbox.control.configure('http', { latencyMs, rateLimit: { requests: cap, perMs: 1000 } });

    // ---- ours ----
    const config = benchConfig(url, { ...env, VENDOR_HTTP_RATE_PER_SECOND: String(cap) });
    const vendors = createVendors(config.vendors);
    const concurrency = inFlightFor(vendors[0]!.policy, latencyMs);
    say(`polling: ${n} due operations, ${cap}/s cap, ${latencyMs} ms latency, default concurrency (sized to ${concurrency} at this latency)`);
    ours.reset();
    const before = sandbox.control.stats('http');
    const t0 = performance.now();
    await pollerHandler({ config, pool: ours.pool, vendors, clock: systemClock }).tick();
    const oursSeconds = (performance.now() - t0) / 1000;
    const oursStatements = ours.count();
    const after = sandbox.control.stats('http');
    const oursChecked = Number(
      (await ours.pool.query<{ n: string }>("select count(*) as n from vendor_deletion where vendor = 'http' and check_count >= 1 and customer_id like $1::text", [`${prefix}%`])).rows[0]!.n,
    );

    // ---- the seed, on the same operations ----
    seedPool.reset();
    let seed = { checked: 0 };
    let seedSeconds = 0;
    if (options.seed) {
      say(`polling: the seed's loop for ${profile.seedPollingWindowS} s`);
      const [seedVendor] = createVendors(benchConfig(url, env).vendors);
      const s0 = performance.now();
      seed = await seedPollTick(seedPool.pool, seedVendor!, { clock: systemClock, perSecond: cap, until: new Date(Date.now() + profile.seedPollingWindowS * 1000) });
      seedSeconds = (performance.now() - s0) / 1000;
    }
    const seedStatements = seedPool.count();
    return {
      operations: n,
      capPerSecond: cap,
      latencyMs,
      concurrency,
      oursChecked,
      oursSeconds,
      oursPerSecond: oursChecked / oursSeconds,
      oursStatements,
      oursStatementsPerCheck: oursStatements / Math.max(1, oursChecked),
      oursRateLimitExceeded: after.rateLimitExceeded - before.rateLimitExceeded,
      seedChecked: seed.checked,
      seedSeconds,
      seedPerSecond: seedSeconds > 0 ? seed.checked / seedSeconds : 0,
      seedStatements,
      seedStatementsPerCheck: seedStatements / Math.max(1, seed.checked),
    };
  } finally {
    await ours.end();
    await seedPool.end();
    await sandbox.stop();
  }
}
