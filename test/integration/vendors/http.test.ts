import assert from 'node:assert/strict';
import { createFakeClock, SECOND } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxConfigInput } from '../../../local/sandbox/types.js';
import type { DeletionVendor, OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import {
  VendorAuthError,
  VendorContractError,
  VendorRateLimitedError,
  VendorTransientError,
} from '../../../functions/vendors/errors.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { adapterHarness } from '../../helpers/adapterHarness.js';

const API_KEY = 'sk_live_sandbox_9f8e7d6c5b4a';

/** The adapter against the real sandbox over HTTP, with the sandbox on a clock the test moves. */
describe('http vendor adapter against the sandbox', () => {
  const clock = createFakeClock('2026-03-01T00:00:00Z');
  const start: SandboxConfigInput = {
    credential: API_KEY,
    lifecycle: { inProgressAfterMs: 60 * SECOND, completeAfterMs: 600 * SECOND },
  };
  let sandbox: RunningSandbox;
  let vendor: DeletionVendor;

  const adapter = (overrides: { apiKey?: string | null; timeoutMs?: number; createPath?: string; statusPath?: string } = {}) =>
    createHttpVendor(
      VENDOR_SETTINGS.http.parse({
        baseUrl: `${sandbox.url}/http`,
        apiKey: overrides.apiKey === null ? undefined : (overrides.apiKey ?? API_KEY),
        createPath: overrides.createPath,
        statusPath: overrides.statusPath,
      }),
      { timeoutMs: overrides.timeoutMs ?? 2_000 },
    );

  const h = adapterHarness(clock);
  const { subject, toCheck } = h;
  const submitOne = (v = vendor) => h.submitOne(v);
  const statusOf = (check: OperationToCheck, v = vendor) => h.statusOf(v, check);

  /** Asserts the promise rejects with a VendorContractError whose sample is present and free of the key. */
  const assertContract = async (work: Promise<unknown>, sampleIncludes: string) => {
    await assert.rejects(work, (err: unknown) => {
      assert.ok(err instanceof VendorContractError, `expected VendorContractError, got ${String(err)}`);
      assert.ok(err.sample.length > 0 && err.sample.length <= 301, 'a short sample');
      assert.ok(err.sample.includes(sampleIncludes), `sample ${err.sample} shows ${sampleIncludes}`);
      assert.ok(!err.sample.includes(API_KEY) && !err.message.includes(API_KEY), 'no secret in the error');
      return true;
    });
  };

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { http: start } });
  });
  after(async () => {
    await sandbox.stop();
  });
  beforeEach(() => {
    sandbox.control.reset('http');
    clock.set('2026-03-01T00:00:00Z');
    vendor = adapter();
  });

  it('creates an operation for one customer, sending the key as Idempotency-Key and requestId', async () => {
    const s = subject('cust-42');
    const [op] = await vendor.submit([s]);
    assert.ok(op);
    assert.equal(op.deletionId, s.deletionId);
    assert.match(op.operationId, /^op_/);
    assert.deepEqual(op.ref, { operationId: op.operationId });
    assert.equal(op.status?.state, 'submitted');
    assert.equal(op.status?.rawStatus, 'pending');
    const calls = sandbox.control.calls('http');
    assert.equal(calls.length, 1);
    assert.deepEqual(
      { method: calls[0]!.method, path: calls[0]!.path, body: calls[0]!.body, status: calls[0]!.status },
      { method: 'POST', path: '/deletions', body: { customerId: 'cust-42', requestId: s.idempotencyKey }, status: 201 },
    );
  });

  it('returns the same operation when the same idempotency key is sent again', async () => {
    const s = subject();
    const [first] = await vendor.submit([s]);
    const [again] = await vendor.submit([s]);
    assert.equal(again!.operationId, first!.operationId);
    assert.deepEqual(
      sandbox.control.calls('http').map((c) => c.status),
      [201, 200],
    );
    assert.deepEqual(sandbox.control.state('http'), {
      operations: 1,
      byStatus: { pending: 1, in_progress: 0, complete: 0, failed: 0 },
    });
  });

  it('submits several subjects, one call each', async () => {
    const subjects = [subject(), subject(), subject()];
    const ops = await vendor.submit(subjects);
    assert.deepEqual(
      ops.map((o) => o.deletionId),
      subjects.map((s) => s.deletionId),
    );
    assert.equal(new Set(ops.map((o) => o.operationId)).size, 3);
    assert.equal(sandbox.control.stats('http').requests, 3);
  });

  it('follows an operation from pending through in_progress to completed', async () => {
    const { check } = await submitOne();
    const seen = [];
    for (const step of [0, 60, 540]) {
      clock.advance(step * SECOND);
      const r = await statusOf(check);
      seen.push([r.state, r.rawStatus]);
    }
    assert.deepEqual(seen, [
      ['submitted', 'pending'],
      ['in_progress', 'in_progress'],
      ['completed', 'complete'],
    ]);
    const done = await statusOf(check);
    assert.equal((done.payload as { completedAt: string }).completedAt, '2026-03-01T00:10:00.000Z');
  });

  it('reports a failed deletion with the vendor reason', async () => {
    sandbox.control.configure('http', { lifecycle: { failureShare: 1 } });
    const { check } = await submitOne();
    clock.advance(600 * SECOND);
    const r = await statusOf(check);
    assert.equal(r.state, 'failed');
    assert.equal(r.rawStatus, 'failed');
    assert.match(r.detail ?? '', /could not delete/);
  });

  it('reads several operations, one GET each', async () => {
    const a = await submitOne();
    const b = await submitOne();
    clock.advance(90 * SECOND);
    const reports = await vendor.checkStatus([a.check, b.check]);
    assert.equal(reports.size, 2);
    assert.equal(reports.get(a.s.deletionId)?.state, 'in_progress');
    assert.equal(reports.get(b.s.deletionId)?.state, 'in_progress');
    assert.deepEqual(
      sandbox.control.calls('http').filter((c) => c.method === 'GET').map((c) => c.path),
      [`/deletions/${a.op.operationId}`, `/deletions/${b.op.operationId}`],
    );
  });

  it('reports an operation the vendor does not know as state error', async () => {
    const s = subject();
    const r = await statusOf({ deletionId: s.deletionId, customerId: s.customerId, ref: { operationId: 'op_nope' }, operationId: 'op_nope', submittedAt: clock.now() });
    assert.equal(r.state, 'error');
    assert.match(r.detail ?? '', /does not know operation op_nope/);
  });

  it('cancels a pending operation, and says too late once it has started', async () => {
    const pending = await submitOne();
    assert.equal(await vendor.cancel!(pending.check), true);
    assert.equal((await statusOf(pending.check)).state, 'error', 'a cancelled operation is gone at the vendor');

    const started = await submitOne();
    clock.advance(61 * SECOND);
    assert.equal(await vendor.cancel!(started.check), false);
    assert.equal((await statusOf(started.check)).state, 'in_progress');
    assert.deepEqual(
      sandbox.control.calls('http').filter((c) => c.method === 'DELETE').map((c) => c.status),
      [204, 409],
    );
  });

  it('uses the configured create and status paths', async () => {
    sandbox.control.configure('http', { options: { createPath: '/v2/erase', statusPath: '/v2/erase/{operationId}/status' } });
    const v = adapter({ createPath: '/v2/erase', statusPath: '/v2/erase/{operationId}/status' });
    const { op, check } = await submitOne(v);
    assert.equal((await statusOf(check, v)).state, 'submitted');
    assert.deepEqual(
      sandbox.control.calls('http').map((c) => `${c.method} ${c.path} ${c.status}`),
      ['POST /v2/erase 201', `GET /v2/erase/${op.operationId}/status 200`],
    );
  });

  it('turns 429 into VendorRateLimitedError with the Retry-After delay', async () => {
    sandbox.control.configure('http', { rateLimit: { requests: 1, perMs: 60_000 } });
    await submitOne();
    clock.advance(15 * SECOND);
    await assert.rejects(vendor.submit([subject()]), (err: unknown) => {
      assert.ok(err instanceof VendorRateLimitedError);
      assert.equal(err.retryAfterMs, 45_000);
      assert.equal(err.status, 429);
      return true;
    });
    assert.equal(sandbox.control.stats('http').rateLimitExceeded, 1);
  });

  it('turns a 5xx into VendorTransientError', async () => {
    sandbox.control.configure('http', { failureShare: 1, failureStatus: 502 });
    await assert.rejects(vendor.submit([subject()]), (err: unknown) => err instanceof VendorTransientError && err.status === 502);
  });

  it('turns a request that hangs past the timeout into VendorTransientError', async () => {
    sandbox.control.configure('http', { timeoutShare: 1, hangMs: 10_000 });
    await assert.rejects(adapter({ timeoutMs: 200 }).submit([subject()]), (err: unknown) => {
      assert.ok(err instanceof VendorTransientError);
      assert.match(err.message, /timed out after 200 ms/);
      return true;
    });
    assert.equal(sandbox.control.stats('http').byOutcome.timeout, 1);
  });

  it('turns a connection reset into VendorTransientError', async () => {
    const { check } = await submitOne();
    sandbox.control.configure('http', { resetShare: 1 });
    await assert.rejects(vendor.checkStatus([check]), (err: unknown) => err instanceof VendorTransientError);
  });

  it('turns a wrong, missing or rejected credential into VendorAuthError without showing it', async () => {
    await assert.rejects(adapter({ apiKey: 'sk_wrong' }).submit([subject()]), (err: unknown) => err instanceof VendorAuthError && err.status === 401 && !err.message.includes('sk_wrong'));
    await assert.rejects(adapter({ apiKey: null }).submit([subject()]), (err: unknown) => err instanceof VendorAuthError);
    const { check } = await submitOne();
    sandbox.control.configure('http', { rejectCredentials: true });
    await assert.rejects(vendor.checkStatus([check]), (err: unknown) => err instanceof VendorAuthError && !err.message.includes(API_KEY));
  });

  describe('contract drift is a VendorContractError, never "still pending"', () => {
    it('rename_field on create (operationId → operation_id)', async () => {
      sandbox.control.configure('http', { drift: 'rename_field' });
      await assertContract(vendor.submit([subject()]), 'operation_id');
    });

    it('rename_field on status (status → state)', async () => {
      const { check } = await submitOne();
      sandbox.control.configure('http', { drift: 'rename_field' });
      await assertContract(vendor.checkStatus([check]), '"state":"pending"');
    });

    it('unknown_status on status and on create', async () => {
      const { check } = await submitOne();
      sandbox.control.configure('http', { drift: 'unknown_status' });
      await assertContract(vendor.checkStatus([check]), 'queued_for_review');
      await assertContract(vendor.submit([subject()]), 'queued_for_review');
    });

    it('an HTML error page', async () => {
      const { check } = await submitOne();
      sandbox.control.configure('http', { drift: 'html' });
      await assertContract(vendor.checkStatus([check]), '<!DOCTYPE html>');
      await assertContract(vendor.submit([subject()]), 'Service Temporarily Unavailable');
    });

    it('a truncated body', async () => {
      const { check } = await submitOne();
      sandbox.control.configure('http', { drift: 'truncated' });
      await assertContract(vendor.checkStatus([check]), '{"operationId":"op_');
    });

    it('a status answer that names another operation', async () => {
      // A vendor mixing up answers: a stand-in module that always answers for op_other.
      const liar = await startSandbox({
        clock,
        vendors: {
          http: {
            module: {
              name: 'http',
              handle: () => ({ status: 200, body: { operationId: 'op_other', status: 'complete' } }),
              drift: (_mode, reply) => reply,
              reset: () => undefined,
            },
          },
        },
      });
      try {
        const v = createHttpVendor(VENDOR_SETTINGS.http.parse({ baseUrl: `${liar.url}/http` }), { timeoutMs: 2_000 });
        const s = subject();
        const check: OperationToCheck = { deletionId: s.deletionId, customerId: s.customerId, ref: { operationId: 'op_mine' }, operationId: 'op_mine', submittedAt: clock.now() };
        await assertContract(v.checkStatus([check]), 'op_other');
      } finally {
        await liar.stop();
      }
    });

    it('the operation keeps being readable once the drift ends', async () => {
      const { check } = await submitOne();
      sandbox.control.configure('http', { drift: 'unknown_status' });
      await assert.rejects(vendor.checkStatus([check]), VendorContractError);
      sandbox.control.configure('http', { drift: null });
      assert.equal((await statusOf(check)).state, 'submitted');
    });
  });
});
