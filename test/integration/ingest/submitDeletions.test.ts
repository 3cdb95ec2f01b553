import assert from 'node:assert/strict';
import { createFakeClock, MINUTE } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createSubmitter, type SubmitRow } from '../../../functions/services/submitDeletions.js';
import type { DeletionSubject, SubmittedOperation, VendorPolicy } from '../../../functions/vendors/DeletionVendor.js';
import { VendorRateLimitedError, VendorTransientError } from '../../../functions/vendors/errors.js';
import { useTestDatabase } from '../../helpers/db.js';
import { fakeVendor as theFakeVendor } from '../../helpers/fakeVendor.js';

const policy: VendorPolicy = {
  maxBatchSize: 3,
  requestsPerSecond: 10,
  concurrency: 1,
  expectedDurationMs: 2 * 86_400_000,
  noProgressMs: 86_400_000,
  minCheckIntervalMs: 5 * MINUTE,
  maxCheckIntervalMs: 60 * MINUTE,
  maxSubmitAttempts: 5,
  timeoutMs: 200,
};

/** A fake batch vendor whose answer each test scripts (test/helpers/fakeVendor.ts). */
function fakeVendor(answer: (subjects: DeletionSubject[]) => Promise<SubmittedOperation[]>) {
  return theFakeVendor('segment', { policy, submit: answer });
}

describe('createSubmitter (real PostgreSQL, fake vendors)', () => {
  const db = useTestDatabase('submitter');
  const clock = createFakeClock('2026-11-27T10:00:00Z');
  let n = 0;

  /** Records revocations for `count` customers with one batch vendor, as the ingest does, and returns their rows. */
  async function queued(count: number, vendorPolicy: VendorPolicy = policy): Promise<SubmitRow[]> {
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock,
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [{ name: 'segment', policy: vendorPolicy }],
    });
    const rows: SubmitRow[] = [];
    for (let i = 0; i < count; i++) {
      const customerId = `s-${++n}`;
      await recorder.recordRevocation({ customerId, revokedAt: '2026-11-27T09:00:00Z', source: 'test', sourceEventId: `e-${n}` });
      const r = await db().pool.query('select id::text, idempotency_key::text from vendor_deletion where customer_id = $1', [customerId]);
      rows.push({ deletionId: r.rows[0].id, customerId, idempotencyKey: r.rows[0].idempotency_key });
    }
    return rows;
  }
  const row = async (id: string) => (await db().pool.query('select * from vendor_deletion where id = $1', [id])).rows[0] as Record<string, unknown>;

  it('submits a batch in one call and stores every operation, its reported state and the expected completion', async () => {
    const rows = await queued(3);
    const vendor = fakeVendor(async (subjects) =>
      subjects.map((s, i) => ({
        deletionId: s.deletionId,
        ref: { regulationId: 'reg-1', index: i },
        operationId: 'reg-1',
        ...(i === 1
          ? { status: { state: 'in_progress' as const, rawStatus: 'RUNNING', payload: { s: 'RUNNING' }, expectedCompletionAt: new Date('2026-12-01T00:00:00Z') } }
          : {}),
      })),
    );
    const outcome = await createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(vendor, rows);
    assert.equal(vendor.calls.length, 1);
    assert.deepEqual(vendor.calls[0]!.map((s) => s.idempotencyKey), rows.map((r) => r.idempotencyKey));
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.submitted.map((s) => s.state), ['submitted', 'in_progress', 'submitted']);

    const first = await row(rows[0]!.deletionId);
    assert.equal(first['state'], 'submitted');
    assert.deepEqual(first['operation_ref'], { regulationId: 'reg-1', index: 0 });
    assert.equal((first['expected_by'] as Date).toISOString(), '2026-11-29T10:00:00.000Z', 'submitted_at + expectedDuration');
    assert.equal((first['next_check_at'] as Date).toISOString(), '2026-11-27T10:05:00.000Z', 'now + minCheckInterval');
    const second = await row(rows[1]!.deletionId);
    assert.equal(second['state'], 'in_progress');
    assert.equal(second['raw_status'], 'RUNNING');
    assert.deepEqual(second['status_payload'], { s: 'RUNNING' });
    assert.equal((second['expected_by'] as Date).toISOString(), '2026-12-01T00:00:00.000Z', 'the vendor’s own estimate');
  });

  it('records subjects the vendor answered no operation for as a contract violation, keeping them queued', async () => {
    const rows = await queued(2);
    const vendor = fakeVendor(async (subjects) => [{ deletionId: subjects[0]!.deletionId, ref: { id: 'op' }, operationId: 'op' }]);
    const outcome = await createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(vendor, rows);
    assert.equal(outcome.submitted.length, 1);
    assert.equal(outcome.failed.length, 1);
    assert.equal(outcome.error?.kind, 'contract');
    const missing = await row(rows[1]!.deletionId);
    assert.equal(missing['state'], 'queued');
    assert.equal(missing['last_error_kind'], 'contract');
  });

  it('returns a rate limit with its Retry-After and backs off exponentially on repeated transient faults', async () => {
    const [r] = await queued(1);
    const submitter = createSubmitter({ pool: db().pool, log: silentLogger(), clock });
    const limited = await submitter.submit(
      fakeVendor(async () => {
        throw new VendorRateLimitedError('segment', 90_000, { status: 429 });
      }),
      [r!],
    );
    assert.equal(limited.error?.kind, 'rate_limited');
    assert.equal(limited.error?.retryAfterMs, 90_000);
    assert.equal(limited.failed[0]!.retryAt?.toISOString(), '2026-11-27T10:01:30.000Z');

    const failing = fakeVendor(async () => {
      throw new VendorTransientError('segment', 'answered 503');
    });
    const second = await submitter.submit(failing, [r!]);
    // One attempt made before this one: 5 min × 2¹; then 5 min × 2².
    assert.equal(second.failed[0]!.retryAt?.toISOString(), '2026-11-27T10:10:00.000Z');
    const third = await submitter.submit(failing, [r!]);
    assert.equal(third.failed[0]!.retryAt?.toISOString(), '2026-11-27T10:20:00.000Z');
    assert.equal((await row(r!.deletionId))['submit_attempts'], 3);
  });

  it('classifies an unexpected adapter error as transient, and an adapter that never settles as a timeout', async () => {
    const [a, b] = await queued(2);
    const submitter = createSubmitter({ pool: db().pool, log: silentLogger(), clock });
    const broken = await submitter.submit(
      fakeVendor(async () => {
        throw new TypeError('cannot read properties of undefined');
      }),
      [a!],
    );
    assert.equal(broken.error?.kind, 'transient');
    assert.match(String((await row(a!.deletionId))['last_error']), /cannot read properties/);
    const hung = await submitter.submit(fakeVendor(() => new Promise<never>(() => {})), [b!]);
    assert.equal(hung.error?.kind, 'transient');
    assert.match(hung.failed[0]!.message, /did not settle/);
  });

  it('leaves a row alone that another process already moved on, and reports it skipped', async () => {
    const [r] = await queued(1);
    await db().pool.query("update vendor_deletion set state = 'cancelled' where id = $1", [r!.deletionId]);
    const outcome = await createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(
      fakeVendor(async (s) => [{ deletionId: s[0]!.deletionId, ref: { id: 'late' }, operationId: 'late' }]),
      [r!],
    );
    assert.deepEqual(outcome.skipped, [r!.deletionId]);
    assert.equal(outcome.submitted.length, 0);
    const stored = await row(r!.deletionId);
    assert.equal(stored['state'], 'cancelled');
    assert.equal(stored['operation_id'], null);
  });

  it('refuses a batch larger than the vendor takes', async () => {
    const rows = await queued(4);
    await assert.rejects(
      createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(fakeVendor(async () => []), rows),
      /at most 3 subjects/,
    );
  });

  it('leases a per-customer vendor\'s deletion to the ingest with the revocation time, which the vendor is given', async () => {
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock,
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [{ name: 'segment', policy: { ...policy, maxBatchSize: 1 } }],
    });
    const result = await recorder.recordRevocation({ customerId: 'lease-1', revokedAt: '2026-11-26T08:30:00Z', source: 'test', sourceEventId: 'e-lease-1' });
    assert.equal(result.toSubmit.length, 1);
    assert.equal(result.toSubmit[0]!.revokedAt.toISOString(), '2026-11-26T08:30:00.000Z');
    const vendor = fakeVendor(async (subjects) => subjects.map((s) => ({ deletionId: s.deletionId, ref: { regulateId: 'r' }, operationId: 'r' })));
    await createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(vendor, result.toSubmit);
    assert.equal(vendor.calls[0]![0]!.revokedAt?.toISOString(), '2026-11-26T08:30:00.000Z');
  });

  it('serves the reconcile command: source reconcile, no CloudEvent, idempotent', async () => {
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock,
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [{ name: 'segment', policy }],
    });
    const input = { customerId: 'r-1', revokedAt: '2026-11-20T00:00:00Z', source: 'reconcile', sourceEventId: 'reconcile' };
    const first = await recorder.recordRevocation(input);
    const again = await recorder.recordRevocation(input);
    assert.equal(first.created, true);
    assert.equal(first.queuedForPoller, 1);
    assert.equal(again.created, false);
    assert.equal(again.requestId, first.requestId);
    await assert.rejects(recorder.recordRevocation({ ...input, customerId: '' }), /customer id is empty/);
  });
});
