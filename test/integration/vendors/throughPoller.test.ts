import assert from 'node:assert/strict';
import pLimit from 'p-limit';
import { HOUR, SECOND, type Clock } from '../../../functions/clock.js';
import { realSleep } from '../../../functions/services/rateLimiter.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { silentLogger } from '../../../functions/log.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxConfigInput } from '../../../local/sandbox/types.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import type { PollMessage } from '../../../functions/domain/pollMessage.js';
import type { DeletionVendor, VendorPolicy } from '../../../functions/vendors/DeletionVendor.js';
import { AmplitudeRefSchema, createAmplitudeVendor } from '../../../functions/vendors/amplitude/amplitudeVendor.js';
import { MixpanelRefSchema } from '../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { createAppsFlyerVendor } from '../../../functions/vendors/opendsr/appsflyerVendor.js';
import { createMParticleVendor } from '../../../functions/vendors/opendsr/mparticleVendor.js';
import { OpenDsrRefSchema } from '../../../functions/vendors/opendsr/openDsrVendor.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { SegmentRefSchema } from '../../../functions/vendors/segment/segmentVendor.js';
import { VENDOR_SETTINGS, vendorConfigs } from '../../../functions/vendors/settings.js';
import { useTestDatabase } from '../../helpers/db.js';
import { pollerConfig } from '../poller/fixtures.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

const CUSTOMERS = 1_000;
/** Virtual seconds per real second while calls are made; idle hours between ticks are skipped outright. */
const SPEED = 300;

/**
 * A clock that runs SPEED times faster than the wall clock, and jumps ahead between poll cycles. Calls,
 * their latency and the poller's pacing all happen on it as they would in real time, only faster (a clock
 * that moved only when someone slept would bunch calls in flight into one instant).
 */
function acceleratedClock(start: Date, speed: number): Clock & { advance(ms: number): void } {
  const realStart = performance.now();
  let offset = start.getTime();
  return {
    now: () => new Date(offset + (performance.now() - realStart) * speed),
    advance: (ms) => {
      offset += ms;
    },
  };
}
const VENDORS = ['http', 'segment', 'mixpanel', 'amplitude', 'mparticle', 'appsflyer'] as const;
type Vendor = (typeof VENDORS)[number];

const CREDENTIAL: Record<Vendor, string> = {
  http: 'http-key',
  segment: 'seg-token',
  mixpanel: 'mp-oauth',
  amplitude: 'amp-key:amp-secret',
  mparticle: 'mpk:mps',
  appsflyer: 'af-token',
};

/**
 * Each sandbox enforces its vendor's documented limit (vendors.md A1–A5) over a sliding window; time is
 * virtual, so these cost no wall time. Segment limits creates only.
 */
const SANDBOX_LIMIT: Record<Vendor, { requests: number; perMs: number }> = {
  http: { requests: 50, perMs: SECOND },
  segment: { requests: 600, perMs: 60 * SECOND },
  mixpanel: { requests: 1, perMs: SECOND },
  amplitude: { requests: 1, perMs: SECOND },
  mparticle: { requests: 1000, perMs: 60 * SECOND },
  // AppsFlyer documents no limit: a stand-in.
  appsflyer: { requests: 20, perMs: SECOND },
};

/** Batch sizes under the documented maxima, so every batch vendor makes more than one create. */
const BATCH: Partial<Record<Vendor, number>> = { segment: 300, mixpanel: 400, amplitude: 100 };

/** The answer each vendor's reference must have. */
const REF_CHECK: Record<Vendor, (ref: unknown, row: { operation_id: string; idempotency_key: string }) => void> = {
  http: (ref, row) => assert.deepEqual(ref, { operationId: row.operation_id }),
  segment: (ref, row) => assert.equal(SegmentRefSchema.parse(ref).regulateId, row.operation_id),
  mixpanel: (ref, row) => assert.equal(MixpanelRefSchema.parse(ref).trackingId, row.operation_id),
  amplitude: (ref, row) => {
    const r = AmplitudeRefSchema.parse(ref);
    assert.equal(`${r.project}/${r.day}/${r.id}`, row.operation_id);
    assert.ok((r.amplitudeIds ?? []).length > 0 && !r.shared, 'Amplitude named the customer\'s ids');
  },
  mparticle: (ref, row) => assert.equal(OpenDsrRefSchema.parse(ref).subjectRequestId, row.idempotency_key),
  appsflyer: (ref, row) => assert.equal(OpenDsrRefSchema.parse(ref).subjectRequestId, row.idempotency_key),
};

describe('every vendor through the real poller (sandboxes on a virtual clock, real PostgreSQL)', function () {
  this.timeout(300_000);
  const db = useTestDatabase('through_poller');
  const T0 = new Date('2026-03-02T08:00:00Z');
  const clock = acceleratedClock(T0, SPEED);
  const sleep = (ms: number) => realSleep(ms / SPEED);
  let sandbox: RunningSandbox;
  let vendors: DeletionVendor[];

  before(async () => {
    const start = (name: Vendor): SandboxConfigInput => ({
      credential: CREDENTIAL[name],
      lifecycle: { inProgressAfterMs: 2 * HOUR, completeAfterMs: 6 * HOUR },
      rateLimit: SANDBOX_LIMIT[name],
      recordLimit: 20_000,
      ...(name === 'mixpanel' ? { options: { projectToken: 'mp-project' } } : {}),
    });
    sandbox = await startSandbox({ vendors: Object.fromEntries(VENDORS.map((v) => [v, start(v)])), clock, seed: 5 });
    const url = (name: Vendor) => `${sandbox.url}/${name}`;
    const policy = (name: Vendor): Partial<VendorPolicy> => ({
      timeoutMs: 5_000,
      requestsPerSecond: (SANDBOX_LIMIT[name].requests / SANDBOX_LIMIT[name].perMs) * 1000 / 2,
      ...(BATCH[name] ? { maxBatchSize: BATCH[name] } : {}),
    });
    // Each adapter paces itself at half its vendor's limit, as an operator sets VENDOR_<NAME>_RATE_PER_SECOND with
    // room for latency: calls leave paced but arrive with jitter, and a limit enforced over a sliding window
    // counts arrivals.
    vendors = [
      ...createVendors(vendorConfigs([
        { name: 'http', settings: { baseUrl: url('http'), apiKey: CREDENTIAL.http }, policy: policy('http') },
        { name: 'segment', settings: { baseUrl: url('segment'), token: CREDENTIAL.segment }, policy: policy('segment') },
        { name: 'mixpanel', settings: { baseUrl: url('mixpanel'), token: CREDENTIAL.mixpanel, projectToken: 'mp-project' }, policy: policy('mixpanel') },
      ])),
      createAmplitudeVendor(VENDOR_SETTINGS.amplitude.parse({ baseUrl: url('amplitude'), apiKey: 'amp-key', secretKey: 'amp-secret' }), policy('amplitude'), clock),
      createMParticleVendor(VENDOR_SETTINGS.mparticle.parse({ baseUrl: url('mparticle'), apiKey: 'mpk', apiSecret: 'mps' }), policy('mparticle'), clock),
      createAppsFlyerVendor(
        VENDOR_SETTINGS.appsflyer.parse({ baseUrl: url('appsflyer'), token: CREDENTIAL.appsflyer, propertyId: 'com.example', platform: 'ios' }),
        policy('appsflyer'),
        clock,
      ),
    ];
  });
  after(async () => {
    await sandbox?.stop();
  });

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];

  function poller() {
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({
      pool: db().pool,
      vendors,
      publisher,
      clock,
      // One claim holds a whole mass revocation, so batch vendors get full batches (see the report).
      config: pollerConfig({ batchSize: 10_000 }),
      submit: true,
      sleep,
    });
    const alerts = () => publishedAlerts(publisher, db().pool);
    return { cycle, publisher, alerts };
  }

  async function recordRevocations(customers: string[]): Promise<void> {
    const recorder = createRevocationRecorder({ pool: db().pool, log: silentLogger(), clock, config: { consentField: 'analyticsConsent', customersCollection: 'customers' }, vendors });
    const limit = pLimit(4);
    await Promise.all(
      customers.map((c, i) =>
        limit(async () => {
          const result = await recorder.recordRevocation({ customerId: c, revokedAt: new Date(clock.now().getTime() + i).toISOString(), source: 'test', sourceEventId: `ev-${c}` });
          assert.equal(result.created, true);
        }),
      ),
    );
  }

  it('1,000 revocations across six vendors complete through poll cycles, with exact creates and no rate limit exceeded', async () => {
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => `mixed-${i}`);
    // Recorded as the ingest records them. Per-customer vendors are leased to the ingest for an immediate
    // call; none is made here, so the poller takes them over when the lease ends (a crashed ingest).
    await recordRevocations(customers);
    const { cycle, alerts } = poller();

    // Cloud Scheduler ticks hourly (the seed's schedule); a cycle that runs out of time budget publishes a
    // continuation, which is delivered at once.
    let ticks = 0;
    let cycles = 0;
    let message: PollMessage = {};
    for (;;) {
      const [open] = await q<{ n: number }>("select count(*)::int as n from vendor_deletion where state <> 'completed'");
      if (open!.n === 0) break;
      assert.ok(ticks < 7 * 24, `still ${open!.n} deletions open after ${ticks} hourly ticks`);
      const report = await cycle.run(message);
      cycles += 1;
      assert.equal(report.errors, 0, `cycle ${cycles}: errors`);
      assert.deepEqual(report.pausedVendors, [], `cycle ${cycles}: no vendor paused by a 429`);
      if (report.continuationPublished) {
        message = { continuation: (message.continuation ?? 0) + 1 };
        continue;
      }
      message = {};
      ticks += 1;
      clock.advance(HOUR);
    }
    assert.ok(cycles > ticks, 'the mass revocation needed continuations');

    const rows = await q<{ vendor: Vendor; state: string; operation_id: string; operation_ref: unknown; idempotency_key: string; completed_at: Date | null }>(
      'select vendor, state, operation_id, operation_ref, idempotency_key::text, completed_at from vendor_deletion',
    );
    assert.equal(rows.length, CUSTOMERS * VENDORS.length);
    const completed = await q<{ n: number }>('select count(*)::int as n from completed_deletion where operation_id is not null');
    assert.equal(completed[0]!.n, CUSTOMERS * VENDORS.length, 'every deletion is in completed_deletion with its operation id');

    for (const name of VENDORS) {
      const mine = rows.filter((r) => r.vendor === name);
      assert.equal(mine.length, CUSTOMERS, name);
      for (const r of mine) {
        assert.equal(r.state, 'completed', name);
        assert.ok(r.completed_at, name);
        REF_CHECK[name](r.operation_ref, r);
      }
      const calls = sandbox.control.calls(name);
      const stats = sandbox.control.stats(name);
      const creates = calls.filter((c) => c.method === 'POST');
      const size = vendors.find((v) => v.name === name)!.policy.maxBatchSize;
      const expected = size === 1 ? CUSTOMERS : Math.ceil(CUSTOMERS / size);
      assert.equal(creates.length, expected, `${name}: creates`);
      assert.ok(creates.every((c) => c.status >= 200 && c.status < 300), `${name}: every create accepted`);
      if (name === 'segment' || name === 'mixpanel') {
        // One job per create, shared by its batch: the customers' references name exactly those jobs.
        assert.equal(new Set(mine.map((r) => r.operation_id)).size, expected, `${name}: one job per create`);
      } else if (size === 1) {
        assert.equal(new Set(mine.map((r) => r.operation_id)).size, CUSTOMERS, `${name}: one operation per customer`);
      }
      assert.equal(stats.rateLimitExceeded, 0, `${name}: rate limit exceeded ${stats.rateLimitExceeded} times`);
      assert.deepEqual(stats.moduleLimitsExceeded, {}, `${name}: module limits`);
      assert.ok(stats.peakWindowRequests <= SANDBOX_LIMIT[name].requests, `${name}: peak ${stats.peakWindowRequests}`);
    }
    // The per-request vendors are told when each customer withdrew consent (OpenDSR submitted_time).
    const revokedAt = new Map(
      (await q<{ customer_id: string; revoked_at: Date }>('select customer_id, revoked_at from deletion_request')).map((r) => [r.customer_id, r.revoked_at.toISOString()]),
    );
    const mparticleCreates = sandbox.control.calls('mparticle').filter((c) => c.method === 'POST');
    for (const c of mparticleCreates) {
      const body = c.body as { submitted_time: string; subject_identities: { controller_customer_id: { value: string } } };
      assert.equal(body.submitted_time, revokedAt.get(body.subject_identities.controller_customer_id.value), 'mParticle submitted_time');
    }
    const segmentBatches = sandbox.control.calls('segment').filter((c) => c.method === 'POST').map((c) => (c.body as { subjectIds: string[] }).subjectIds.length);
    assert.deepEqual(segmentBatches.sort((a, b) => b - a), [300, 300, 300, 100]);
    const segmentJobs = new Set(rows.filter((r) => r.vendor === 'segment').map((r) => r.operation_id));
    assert.equal(segmentJobs.size, 4, 'four regulations, each shared by its batch');
    // Stale alerts depend on where checks fall against each vendor's expected time; faults would show here.
    assert.deepEqual(
      // deadline_at_risk too: the documented 30 days of Segment, Mixpanel and Amplitude leave a GDPR month no margin.
      (await alerts()).filter((a) => a.kind !== 'stale' && a.kind !== 'no_progress' && a.kind !== 'deadline_at_risk').map((a) => [a.kind, a.vendor]),
      [],
      'no failure, contract or credential alert in a healthy run',
    );
  });

  it("each vendor's drift and rejected credential through the poller raise their alert, and recovery closes the incident", async () => {
    // Jobs that stay pending long enough to be checked again and again.
    for (const v of VENDORS) {
      sandbox.control.reset(v);
      sandbox.control.configure(v, { lifecycle: { inProgressAfterMs: 20 * 24 * HOUR, completeAfterMs: 25 * 24 * HOUR } });
    }
    await db().pool.query('delete from vendor_pause');
    const customers = ['drift-a', 'drift-b'];
    await recordRevocations(customers);
    const { cycle, alerts } = poller();
    clock.advance(HOUR);
    await cycle.run({});
    const submitted = await q<{ vendor: Vendor; n: number }>(
      "select vendor, count(*)::int as n from vendor_deletion where customer_id = any($1::text[]) and state = 'submitted' group by vendor order by vendor",
      [customers],
    );
    assert.deepEqual(submitted.map((r) => [r.vendor, r.n]), VENDORS.slice().sort().map((v) => [v, 2]));

    const incident = async (vendor: Vendor, kind: string) =>
      (await q<{ closed_at: Date | null }>('select closed_at from vendor_incident where vendor = $1 and kind = $2', [vendor, kind]))[0];
    const forced = (vendor: Vendor) => cycle.run({ customerIds: customers, vendors: [vendor], reason: 'test' });

    for (const vendor of VENDORS) {
      for (const [kind, fault] of [
        ['contract_violation', { drift: 'unknown_status' }],
        ['credential_rejected', { rejectCredentials: true }],
      ] as const) {
        const seen = (await alerts()).length;
        sandbox.control.configure(vendor, fault);
        clock.advance(HOUR);
        await forced(vendor);
        const raised = (await alerts()).slice(seen);
        assert.deepEqual(raised.map((a) => [a.kind, a.vendor]), [[kind, vendor]], `${vendor}: one ${kind} alert`);
        assert.equal((await incident(vendor, kind))?.closed_at, null, `${vendor}: ${kind} incident open`);
        const states = await q<{ state: string }>('select state from vendor_deletion where vendor = $1 and customer_id = any($2::text[])', [vendor, customers]);
        assert.ok(states.every((s) => s.state === 'submitted'), `${vendor}: the operations keep their last good state`);

        sandbox.control.configure(vendor, { drift: null, rejectCredentials: false });
        clock.advance(HOUR);
        await forced(vendor);
        assert.ok((await incident(vendor, kind))?.closed_at, `${vendor}: ${kind} incident closed on recovery`);
        assert.equal((await alerts()).length, seen + 1, `${vendor}: nothing more raised after recovery`);
      }
    }
  });
});
