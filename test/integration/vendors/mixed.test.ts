import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxConfigInput } from '../../../local/sandbox/types.js';
import { createTokenBucket, realSleep } from '../../../functions/services/rateLimiter.js';
import type { DeletionSubject, DeletionVendor, OperationToCheck, StatusReport } from '../../../functions/vendors/DeletionVendor.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { vendorConfigs } from '../../../functions/vendors/settings.js';

const CUSTOMERS = 1_000;
const NAMED = ['segment', 'mixpanel', 'amplitude', 'mparticle', 'appsflyer'] as const;
type Named = (typeof NAMED)[number];

/**
 * The sandboxes' rate limits (requests per second) for this run: far above nothing, far below the real ones'
 * durations, so 1,000 revocations finish in seconds. Each adapter's policy takes half of it (and a burst of
 * one), the way an operator would set VENDOR_<NAME>_RATE_PER_SECOND under a vendor's limit.
 */
const LIMITS: Record<Named, number> = { segment: 40, mixpanel: 40, amplitude: 40, mparticle: 300, appsflyer: 300 };
/** Batch sizes under the documented maxima, so batching is exercised with more than one call per vendor. */
const BATCH: Partial<Record<Named, number>> = { segment: 50, mixpanel: 60, amplitude: 100 };

describe('mixed run: 1,000 revocations across every vendor adapter and sandbox', function () {
  this.timeout(120_000);
  let sandbox: RunningSandbox;
  const credentials = {
    segment: 'seg-token',
    mixpanel: 'mp-oauth',
    amplitude: 'amp-key:amp-secret',
    mparticle: 'mpk:mps',
    appsflyer: 'af-token',
  };

  before(async () => {
    const lifecycle = { inProgressAfterMs: 100, completeAfterMs: 300 };
    const vendors = Object.fromEntries(
      NAMED.map((name): [string, SandboxConfigInput] => [
        name,
        {
          credential: credentials[name],
          lifecycle,
          rateLimit: { requests: LIMITS[name], perMs: 1_000 },
          recordLimit: 5_000,
          ...(name === 'mixpanel' ? { options: { projectToken: 'mp-project' } } : {}),
          ...(name === 'amplitude' ? { options: { scheduleAfterDays: 0 } } : {}),
        },
      ]),
    );
    sandbox = await startSandbox({ vendors, seed: 7 });
  });
  after(async () => {
    await sandbox.stop();
  });

  it('submits and completes every deletion with the expected calls per vendor and no rate limit exceeded', async () => {
    const base = (name: Named) => `${sandbox.url}/${name}`;
    const adapters = createVendors(
      vendorConfigs(NAMED.map((name) => ({
        name,
        settings: {
          segment: { baseUrl: base('segment'), token: credentials.segment },
          mixpanel: { baseUrl: base('mixpanel'), token: credentials.mixpanel, projectToken: 'mp-project' },
          amplitude: { baseUrl: base('amplitude'), apiKey: 'amp-key', secretKey: 'amp-secret' },
          mparticle: { baseUrl: base('mparticle'), apiKey: 'mpk', apiSecret: 'mps' },
          appsflyer: { baseUrl: base('appsflyer'), token: credentials.appsflyer, propertyId: 'com.example', platform: 'ios' },
        }[name],
        policy: { requestsPerSecond: LIMITS[name] / 2, ...(BATCH[name] ? { maxBatchSize: BATCH[name] } : {}), timeoutMs: 5_000 },
      }))),
    );
    assert.deepEqual(adapters.map((a) => a.name), [...NAMED]);

    // Customers are spread round-robin: 200 per vendor.
    const subjects = new Map<Named, DeletionSubject[]>(NAMED.map((n) => [n, []]));
    for (let i = 0; i < CUSTOMERS; i++) {
      subjects.get(NAMED[i % NAMED.length]!)!.push({ deletionId: randomUUID(), customerId: `customer-${i}`, idempotencyKey: randomUUID() });
    }

    const rounds = new Map<Named, number>();
    const run = async (vendor: DeletionVendor) => {
      const name = vendor.name as Named;
      const bucket = createTokenBucket({ perSecond: vendor.policy.requestsPerSecond, burst: 1, clock: systemClock });
      const call = async <T>(work: () => Promise<T>): Promise<T> => {
        assert.ok(await bucket.take(1, new Date(Date.now() + 60_000)), `${name}: budget`);
        return work();
      };
      const mine = subjects.get(name)!;
      const ops: OperationToCheck[] = [];
      for (let i = 0; i < mine.length; i += vendor.policy.maxBatchSize) {
        const batch = mine.slice(i, i + vendor.policy.maxBatchSize);
        const submitted = await call(() => vendor.submit(batch));
        assert.equal(submitted.length, batch.length);
        submitted.forEach((op, j) =>
          ops.push({ deletionId: op.deletionId, customerId: batch[j]!.customerId, ref: op.ref, operationId: op.operationId, submittedAt: new Date() }),
        );
      }
      // One status call reads one vendor job: group operations that share one (Segment, Mixpanel; Amplitude lists a range).
      const groups = new Map<string, OperationToCheck[]>();
      for (const op of ops) {
        const key = name === 'amplitude' ? 'all' : op.operationId;
        groups.set(key, [...(groups.get(key) ?? []), op]);
      }
      const final = new Map<string, StatusReport>();
      let round = 0;
      while (final.size < ops.length) {
        assert.ok(round < 30, `${name}: not complete after ${round} rounds`);
        round += 1;
        await realSleep(150);
        for (const group of groups.values()) {
          const open = group.filter((op) => !final.has(op.deletionId));
          if (open.length === 0) continue;
          const reports = await call(() => vendor.checkStatus(open));
          for (const [id, report] of reports) {
            assert.notEqual(report.state, 'failed', `${name}: ${report.detail}`);
            assert.notEqual(report.state, 'error', `${name}: ${report.detail}`);
            if (report.state === 'completed') final.set(id, report);
          }
        }
      }
      rounds.set(name, round);
      return final;
    };

    const results = await Promise.all(adapters.map(run));
    assert.equal(results.reduce((n, r) => n + r.size, 0), CUSTOMERS);

    const expectedCreates: Record<Named, number> = { segment: 4, mixpanel: 4, amplitude: 2, mparticle: 200, appsflyer: 200 };
    for (const name of NAMED) {
      const calls = sandbox.control.calls(name);
      const stats = sandbox.control.stats(name);
      assert.equal(calls.filter((c) => c.method === 'POST').length, expectedCreates[name], `${name} creates`);
      assert.ok(calls.every((c) => c.status >= 200 && c.status < 300), `${name}: every call succeeded`);
      // At least one read per vendor job (Amplitude: one listing per round), at most one per job per round.
      const jobs = name === 'amplitude' ? 1 : expectedCreates[name];
      const gets = calls.filter((c) => c.method === 'GET').length;
      assert.ok(gets >= jobs && gets <= jobs * rounds.get(name)!, `${name}: ${gets} status reads`);
      assert.equal(stats.rateLimitExceeded, 0, `${name}: rate limit exceeded`);
      assert.deepEqual(stats.moduleLimitsExceeded, {}, `${name}: module limits`);
      assert.ok(stats.peakWindowRequests <= LIMITS[name], `${name}: peak ${stats.peakWindowRequests}`);
    }
    const segmentSubjects = sandbox.control.calls('segment').filter((c) => c.method === 'POST').map((c) => (c.body as { subjectIds: string[] }).subjectIds.length);
    assert.deepEqual(segmentSubjects, [50, 50, 50, 50]);
  });
});
