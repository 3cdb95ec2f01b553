import assert from 'node:assert/strict';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { createFakeClock, DAY, HOUR, MINUTE, SECOND } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import type { DeletionVendor, VendorPolicy } from '../../../functions/vendors/DeletionVendor.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { useTestDatabase } from '../../helpers/db.js';
import { capturingLogger, pollerConfig, seedDeletions } from './fixtures.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

describe('poll cycle against the http sandbox (real PostgreSQL, real HTTP)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('poller_cycle');
  const T0 = new Date('2026-03-02T00:00:00Z');
  const clock = createFakeClock(T0);
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: SECOND, completeAfterMs: 10 * MINUTE } } } });
  });
  after(async () => {
    await sandbox?.stop();
  });
  beforeEach(async () => {
    sandbox.control.reset('http');
    clock.set(T0);
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null");
    await db().pool.query('truncate vendor_pause, vendor_incident, deletion_alert');
  });

  function vendor(policy: Partial<VendorPolicy> = {}): DeletionVendor {
    return createHttpVendor(
      { baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' },
      { requestsPerSecond: 10_000, concurrency: 8, ...policy },
    );
  }

  /** Creates `n` operations at the sandbox and records them as submitted and due now. */
  async function submitted(n: number, prefix: string): Promise<Array<{ id: string; operationId: string }>> {
    const v = vendor();
    const subjects = Array.from({ length: n }, (_, i) => ({ deletionId: String(i), customerId: `${prefix}-${i}`, idempotencyKey: randomUUID() }));
    const ops = await v.submit(subjects);
    const ids = await seedDeletions(
      db().pool,
      ops.map((op, i) => ({ customerId: subjects[i]!.customerId, vendor: 'http', operationId: op.operationId, revokedAt: clock.now(), nextCheckAt: clock.now() })),
    );
    return ids.map((id, i) => ({ id, operationId: ops[i]!.operationId }));
  }

  function statusCalls(since = 0) {
    return sandbox.control.calls('http', since).filter((c) => c.method === 'GET');
  }

  it('two pollers at once over 1,000 due operations check each exactly once', async () => {
    const ops = await submitted(1000, 'pair');
    const before = sandbox.control.calls('http').at(-1)?.seq ?? 0;
    const make = () =>
      buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, config: pollerConfig({ batchSize: 50 }) });
    const [a, b] = await Promise.all([make().run({}), make().run({})]);
    assert.equal(a.claimed + b.claimed, 1000);
    const calls = statusCalls(before);
    assert.equal(calls.length, 1000);
    const perOperation = new Map<string, number>();
    for (const c of calls) perOperation.set(c.path, (perOperation.get(c.path) ?? 0) + 1);
    assert.equal(perOperation.size, 1000);
    assert.ok([...perOperation.values()].every((n) => n === 1));
    const rows = await db().pool.query(
      `select state, check_count, raw_status, next_check_at > $2 as later, lease_owner from vendor_deletion where id = any($1::bigint[])`,
      [ops.map((o) => o.id), clock.now()],
    );
    assert.ok(rows.rows.every((r) => r.check_count === 1 && r.state === 'submitted' && r.raw_status === 'pending' && r.later && r.lease_owner === null));
    const events = await db().pool.query("select count(*)::int as n from deletion_event where kind = 'status_seen' and vendor_deletion_id = any($1::bigint[])", [ops.map((o) => o.id)]);
    assert.equal(events.rows[0].n, 1000);
  });

  it('follows an operation to completion with backoff, recording a status only when it changes', async () => {
    const [op] = await submitted(1, 'life');
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, config: pollerConfig() });
    const nextAt = async () => (await db().pool.query('select next_check_at from vendor_deletion where id = $1', [op!.id])).rows[0].next_check_at as Date | null;

    clock.advance(2 * SECOND);
    await cycle.run({});
    const first = await nextAt();
    assert.equal(first!.getTime() - clock.now().getTime(), 5 * MINUTE, 'first gap is the minimum interval');

    clock.set(first!);
    await cycle.run({});
    assert.equal((await nextAt())!.getTime() - clock.now().getTime(), Math.min(10 * MINUTE, Math.ceil((3 * DAY - 2 * SECOND - 5 * MINUTE) / 2)), 'then doubles');

    clock.set((await nextAt())!);
    await cycle.run({});
    const row = (await db().pool.query('select * from completed_deletion where deletion_id = $1', [op!.id])).rows[0];
    assert.ok(row, 'moved to completed_deletion');
    assert.equal(row.check_count, 3);
    assert.equal(await nextAt(), null);
    const kinds = (await db().pool.query('select kind, detail from deletion_event where vendor_deletion_id = $1 order by id', [op!.id])).rows;
    assert.deepEqual(kinds.map((k) => k.kind), ['status_seen', 'status_seen', 'completed']);
    assert.deepEqual(
      kinds.filter((k) => k.kind === 'status_seen').map((k) => k.detail.rawStatus),
      ['in_progress', 'complete'],
      'in_progress seen twice, recorded once',
    );
    assert.equal(kinds.filter((k) => k.kind === 'completed').length, 1);
    assert.equal((await db().pool.query('select 1 from pending_deletion where deletion_id = $1', [op!.id])).rowCount, 0);
  });

  it('5xx and timeouts lose nothing: the state stays, the fault is recorded, the next cycle recovers', async () => {
    const ops = await submitted(4, 'flaky');
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor({ timeoutMs: 200 })], clock, config: pollerConfig() });
    sandbox.control.configure('http', { failureShare: 1, failureStatus: 503 });
    await cycle.run({});
    sandbox.control.configure('http', { failureShare: 0, timeoutShare: 1, hangMs: 1000 });
    clock.advance(HOUR);
    await cycle.run({});
    let rows = (await db().pool.query('select state, last_error_kind, next_check_at, check_count from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows;
    assert.ok(rows.every((r) => r.state === 'submitted' && r.last_error_kind === 'transient' && r.next_check_at > clock.now() && r.check_count === 0));
    const errors = await db().pool.query("select detail from deletion_event where kind = 'error' and vendor_deletion_id = any($1::bigint[])", [ops.map((o) => o.id)]);
    assert.ok(errors.rowCount! >= 4);
    assert.ok(errors.rows.some((e) => e.detail.httpStatus === 503));

    sandbox.control.configure('http', { timeoutShare: 0 });
    clock.advance(HOUR);
    await cycle.run({});
    rows = (await db().pool.query('select state, last_error_kind from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows;
    assert.ok(rows.every((r) => r.state === 'completed' && r.last_error_kind === null));
  });

  it("a 429 pauses the vendor for its Retry-After, across cycles, and releases the rest untouched", async () => {
    const ops = await submitted(6, 'limited');
    sandbox.control.configure('http', { rateLimit: { requests: 2, perMs: 60_000 } });
    const pollerA = buildPollCycle({ pool: db().pool, vendors: [vendor({ concurrency: 1, maxBatchSize: 1 })], clock, config: pollerConfig() });
    const report = await pollerA.run({});
    assert.deepEqual(report.pausedVendors, ['http']);
    const pause = (await db().pool.query("select paused_until from vendor_pause where vendor = 'http'")).rows[0];
    assert.equal(pause.paused_until.getTime(), clock.now().getTime() + 60 * SECOND);
    const callsAfterFirst = sandbox.control.stats('http').requests;

    // Another poller (a forced poll, say) honours the stored pause.
    const pollerB = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, config: pollerConfig() });
    clock.advance(10 * SECOND);
    assert.equal((await pollerB.run({})).claimed, 0);
    assert.equal(sandbox.control.stats('http').requests, callsAfterFirst);

    const rows = (await db().pool.query('select state, lease_owner, next_check_at from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows;
    assert.ok(rows.every((r) => r.state === 'submitted' && r.lease_owner === null && r.next_check_at !== null), 'nothing lost or left leased');

    clock.advance(60 * SECOND);
    sandbox.control.configure('http', { rateLimit: null });
    await pollerB.run({});
    const seen = await db().pool.query('select count(*)::int as n from vendor_deletion where id = any($1::bigint[]) and check_count = 1', [ops.map((o) => o.id)]);
    assert.equal(seen.rows[0].n, 6, 'each operation checked once in all');
  });

  it('a short 429 is waited out inside the cycle: every operation checked once in the same cycle, no call while paused', async () => {
    const ops = await submitted(6, 'short');
    // 2 requests per 2 s: the sandbox answers 429 with a Retry-After of a second or two.
    sandbox.control.configure('http', { rateLimit: { requests: 2, perMs: 2 * SECOND } });
    const sleep = sinon.stub<[number], Promise<void>>().callsFake(async (ms) => clock.advance(ms));
    const before = sandbox.control.calls('http').at(-1)?.seq ?? 0;
    const cycle = buildPollCycle({
      pool: db().pool,
      vendors: [vendor({ concurrency: 1, maxBatchSize: 1 })],
      clock,
      sleep,
    });
    const report = await cycle.run({});
    assert.deepEqual(report.pausedVendors, [], 'no vendor left paused for the next tick');
    assert.equal(report.continuationPublished, false);
    const seen = await db().pool.query('select count(*)::int as n from vendor_deletion where id = any($1::bigint[]) and check_count = 1', [ops.map((o) => o.id)]);
    assert.equal(seen.rows[0].n, 6, 'each operation checked once, all in this cycle');
    const limited = statusCalls(before).filter((c) => c.status === 429).length;
    assert.ok(limited >= 1, 'the sandbox did answer 429');
    assert.ok(limited <= 2, `no hammering while paused (${limited} answers 429)`);
  });

  it('drift alerts once per vendor incident, keeps the last good state, and recovers by itself', async () => {
    const ops = await submitted(3, 'drift');
    const publisher = createMemoryPublisher();
    const { log, lines } = capturingLogger();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], publisher, log, clock, config: pollerConfig() });
    clock.advance(2 * SECOND);
    await cycle.run({});
    sandbox.control.configure('http', { drift: 'unknown_status' });
    for (let i = 0; i < 3; i += 1) {
      clock.advance(HOUR);
      await cycle.run({});
    }
    const alerts = () => publishedAlerts(publisher, db().pool);
    assert.deepEqual((await alerts()).map((a) => [a.kind, a.vendor]), [['contract_violation', 'http']]);
    assert.match((await alerts())[0]!.detail ?? '', /status/);
    assert.equal((await alerts())[0]!.totalItems, ops.length, 'the deletions whose checks met the drift');
    assert.deepEqual((await alerts())[0]!.items.map((i) => i.operationId).sort(), ops.map((o) => o.operationId).sort());
    const rows = (await db().pool.query('select state, raw_status, last_error_kind from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows;
    assert.ok(rows.every((r) => r.state === 'in_progress' && r.raw_status === 'in_progress' && r.last_error_kind === 'contract_violation'));
    const errorLine = lines.find((l) => l['event'] === 'vendor_contract_violation');
    assert.equal(errorLine?.['severity'], 'ERROR');
    assert.match(String(errorLine?.['stack_trace']), /VendorContractError/);
    assert.equal(errorLine?.['vendor'], 'http');

    sandbox.control.configure('http', { drift: null });
    clock.advance(HOUR);
    await cycle.run({});
    const incident = (await db().pool.query("select closed_at from vendor_incident where vendor = 'http' and kind = 'contract_violation'")).rows[0];
    assert.ok(incident.closed_at, 'incident closed once the vendor answered well');
    assert.ok((await db().pool.query('select state from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows.every((r) => r.state === 'completed'));
    assert.equal((await alerts()).length, 1, 'no further alert after recovery');
  });

  it('a create call answered outside the contract lists its deletions in the alert, as having no deletion at the vendor yet', async () => {
    const ids = await seedDeletions(
      db().pool,
      ['cd1', 'cd2'].map((c) => ({ customerId: c, vendor: 'http', state: 'queued' as const, submittedAt: null, revokedAt: clock.now(), nextCheckAt: clock.now() })),
    );
    sandbox.control.configure('http', { drift: 'html' });
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor({ maxBatchSize: 2 })], publisher, log: silentLogger(), clock, submit: true });
    await cycle.run({});
    sandbox.control.configure('http', { drift: null });
    const [alert, ...more] = (await publishedAlerts(publisher, db().pool)).filter((a) => a.kind === 'contract_violation');
    assert.equal(more.length, 0);
    assert.equal(alert!.totalItems, 2);
    assert.deepEqual(alert!.items.map((i) => i.deletionId).sort(), [...ids].sort());
    for (const item of alert!.items) {
      assert.equal(item.operationId, null);
      assert.match(item.detail ?? '', /create call was answered outside the contract: no deletion at the vendor yet/);
    }
    await db().pool.query("update vendor_incident set closed_at = now() where vendor = 'http'");
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null where id = any($1::bigint[])", [ids]);
  });

  it('a rejected credential raises one credential alert and stops calling the vendor for the cycle', async () => {
    const ops = await submitted(5, 'auth');
    sandbox.control.configure('http', { rejectCredentials: true });
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor({ maxBatchSize: 1, concurrency: 1 })], publisher, clock, config: pollerConfig() });
    const before = sandbox.control.stats('http').requests;
    await cycle.run({});
    assert.equal(sandbox.control.stats('http').requests - before, 1);
    clock.advance(HOUR);
    await cycle.run({});
    const alerts = await publishedAlerts(publisher, db().pool);
    assert.deepEqual(alerts.map((a) => a.kind), ['credential_rejected']);
    const rows = (await db().pool.query('select state, next_check_at from vendor_deletion where id = any($1::bigint[])', [ops.map((o) => o.id)])).rows;
    assert.ok(rows.every((r) => r.state === 'submitted' && r.next_check_at !== null));
  });

  it('submits queued deletions through the submitter, resubmits a failed one up to maxSubmitAttempts, then needs a person', async () => {
    sandbox.control.configure('http', { lifecycle: { failureShare: 1 } });
    const ids = await seedDeletions(
      db().pool,
      ['q1', 'q2', 'q3'].map((c) => ({ customerId: c, vendor: 'http', state: 'queued' as const, submittedAt: null, revokedAt: clock.now(), nextCheckAt: clock.now() })),
    );
    const publisher = createMemoryPublisher();
    const log = silentLogger();
    const cycle = buildPollCycle({
      pool: db().pool,
      vendors: [vendor({ maxBatchSize: 2, maxSubmitAttempts: 2 })],
      publisher,
      log,
      clock,
      submit: true,
    });
    const rows = async () =>
      (await db().pool.query('select state, submit_attempts, operation_id, idempotency_key::text as key from vendor_deletion where id = any($1::bigint[]) order by id', [ids])).rows;
    const posts = () => sandbox.control.calls('http').filter((c) => c.method === 'POST').length;

    const first = await cycle.run({});
    assert.equal(first.submitted, 3);
    assert.equal(posts(), 3);
    const submittedRows = await rows();
    assert.ok(submittedRows.every((r) => r.submit_attempts === 1 && r.operation_id));

    clock.advance(11 * MINUTE);
    const failedOnce = await cycle.run({});
    assert.equal(failedOnce.resubmitted, 3);
    const requeued = await rows();
    assert.ok(requeued.every((r, i) => r.state === 'queued' && r.key !== submittedRows[i]!.key), 'back to queued with a fresh idempotency key');

    await cycle.run({});
    assert.equal(posts(), 6);
    assert.ok((await rows()).every((r) => r.submit_attempts === 2));

    clock.advance(11 * MINUTE);
    const exhausted = await cycle.run({});
    assert.equal(exhausted.resubmitted, 0);
    assert.ok((await rows()).every((r) => r.state === 'error'));
    const failedAlerts = (await publishedAlerts(publisher, db().pool)).filter((a) => a.kind === 'failed');
    assert.equal(failedAlerts.length, 1, 'one digest');
    assert.deepEqual(failedAlerts[0]!.items.map((i) => i.deletionId).sort(), [...ids].sort());
    const kinds = await db().pool.query(
      "select kind, count(*)::int as n from deletion_event where vendor_deletion_id = $1 and kind in ('submitted', 'failed', 'retried', 'error') group by kind order by kind",
      [ids[0]],
    );
    assert.deepEqual(kinds.rows, [
      { kind: 'error', n: 1 },
      { kind: 'failed', n: 2 },
      { kind: 'retried', n: 1 },
      { kind: 'submitted', n: 2 },
    ]);
  });
});
