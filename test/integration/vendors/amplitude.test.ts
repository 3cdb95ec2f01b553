import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, DAY, HOUR } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { createAmplitudeVendor } from '../../../functions/vendors/amplitude/amplitudeVendor.js';
import type { OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError, VendorRejectedError } from '../../../functions/vendors/errors.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { adapterHarness } from '../../helpers/adapterHarness.js';

const API_KEY = 'amp_key_3b9e';
const SECRET = 'amp_secret_sandbox_0d4f';

describe('amplitude adapter against its sandbox', () => {
  const clock = createFakeClock('2026-03-01T08:00:00Z');
  let sandbox: RunningSandbox;

  const adapter = (settings: Record<string, string> = {}) =>
    createAmplitudeVendor(
      VENDOR_SETTINGS.amplitude.parse({ baseUrl: `${sandbox.url}/amplitude`, apiKey: API_KEY, secretKey: SECRET, project: 'web', ...settings }),
      { timeoutMs: 2_000 },
      clock,
    );
  const h = adapterHarness(clock);
  const { subject, toCheck } = h;
  const statusOf = (check: OperationToCheck, vendor = adapter()) => h.statusOf(vendor, check);
  const submitOne = async (vendor = adapter()) => {
    const { op, check } = await h.submitOne(vendor);
    return { op, check };
  };

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: { amplitude: { credential: `${API_KEY}:${SECRET}`, lifecycle: { inProgressAfterMs: 1 * DAY, completeAfterMs: 2 * DAY } } },
    });
  });
  after(async () => {
    await sandbox.stop();
  });
  beforeEach(() => {
    clock.set('2026-03-01T08:00:00Z');
    sandbox.control.reset('amplitude');
  });

  it('submits up to 100 user ids with ignore_invalid_ids; the reference is project, day and customer', async () => {
    const subjects = [subject('u-1'), subject('u-2')];
    const ops = await adapter().submit(subjects);
    assert.equal(ops[0]!.operationId, 'web/2026-03-11/u-1');
    assert.deepEqual(ops[1]!.ref, { project: 'web', day: '2026-03-11', id: 'u-2', idType: 'user_id', amplitudeIds: ops[1]!.ref['amplitudeIds'] });
    assert.equal((ops[1]!.ref['amplitudeIds'] as number[]).length, 1);
    assert.notDeepEqual(ops[0]!.ref['amplitudeIds'], ops[1]!.ref['amplitudeIds'], 'each customer keeps its own ids (entries name their user_id)');
    assert.deepEqual([ops[0]!.status?.state, ops[0]!.status?.rawStatus], ['submitted', 'staging']);
    assert.equal(ops[0]!.status?.expectedCompletionAt?.toISOString(), '2026-03-16T00:00:00.000Z');
    const [call] = sandbox.control.calls('amplitude');
    assert.deepEqual(call!.body, {
      requester: 'consent-erasure',
      include_mapped_user_ids: true,
      user_ids: ['u-1', 'u-2'],
      ignore_invalid_id: true,
      ignore_invalid_ids: true,
    });
  });

  it('keeps every amplitude_id a user_id maps to, finds them all in the job list, and cancels each', async () => {
    sandbox.control.configure('amplitude', { options: { amplitudeIdsPerUser: 2 } });
    const vendor = adapter();
    const [a, b] = await vendor.submit([subject('multi-1'), subject('multi-2')]);
    assert.equal((a!.ref['amplitudeIds'] as number[]).length, 2);
    assert.equal((b!.ref['amplitudeIds'] as number[]).length, 2);
    const check = { deletionId: a!.deletionId, customerId: 'multi-1', ref: a!.ref, operationId: a!.operationId, submittedAt: clock.now() };
    assert.equal((await statusOf(check, vendor)).state, 'submitted');
    assert.equal(await vendor.cancel!(check), true);
    const deletes = sandbox.control.calls('amplitude').filter((c) => c.method === 'DELETE').map((c) => c.path);
    assert.deepEqual(deletes, (a!.ref['amplitudeIds'] as number[]).map((id) => `/api/2/deletions/users/${id}/2026-03-11`));
    assert.equal((await statusOf(check, vendor)).state, 'error', 'the customer left the job');
  });

  it('reads the older single-object create answer (no user_id): one customer owns its ids, a batch shares them', async () => {
    sandbox.control.configure('amplitude', { options: { createShape: 'object', amplitudeIdsPerUser: 2 } });
    const [alone] = await adapter().submit([subject('solo')]);
    assert.deepEqual([(alone!.ref['amplitudeIds'] as number[]).length, alone!.ref['shared']], [2, undefined]);
    const batch = await adapter().submit([subject('p'), subject('q')]);
    assert.deepEqual(batch.map((o) => [(o.ref['amplitudeIds'] as number[]).length, o.ref['shared']]), [[4, true], [4, true]]);
    const check = { deletionId: 'd', customerId: 'p', ref: batch[0]!.ref, operationId: batch[0]!.operationId, submittedAt: clock.now() };
    assert.equal((await statusOf(check)).state, 'submitted');
    assert.equal(await adapter().cancel!(check), false, 'shared ids are never cancelled');
  });

  it('records an unknown user as nothing to delete, and without ignore_invalid_ids the batch is refused', async () => {
    sandbox.control.configure('amplitude', { options: { unknownUserIds: ['ghost'] } });
    const [ghost, real] = await adapter().submit([subject('ghost'), subject('real')]);
    assert.deepEqual([ghost!.status?.state, ghost!.status?.rawStatus], ['completed', 'invalid_id']);
    assert.equal(real!.status?.rawStatus, 'staging');
    const again = await statusOf({ deletionId: 'd', customerId: 'ghost', ref: ghost!.ref, operationId: ghost!.operationId, submittedAt: clock.now() });
    assert.equal(again.rawStatus, 'invalid_id');
    await assert.rejects(adapter({ ignoreInvalidIds: 'false' }).submit([subject('ghost'), subject('other')]), (err) => err instanceof VendorRejectedError && err.status === 400);
  });

  it('reads status by listing the day and finding the customer: staging → submitted → done', async () => {
    const { check } = await submitOne();
    const seen: string[] = [];
    for (const step of [0, 1, 1]) {
      clock.advance(step * DAY + HOUR);
      const r = await statusOf(check);
      seen.push(`${r.rawStatus}:${r.state}`);
    }
    assert.deepEqual(seen, ['staging:submitted', 'submitted:in_progress', 'done:completed']);
    const get = sandbox.control.calls('amplitude').find((c) => c.method === 'GET');
    assert.equal(get!.path, '/api/2/deletions/users');
  });

  it('reports a customer missing from the job of its day as an error', async () => {
    const { check } = await submitOne();
    const report = await statusOf({ ...check, ref: { ...check.ref, amplitudeIds: [1], id: 'someone-else' } });
    assert.deepEqual([report.state, report.rawStatus], ['error', 'missing_from_job']);
    const noJob = await statusOf({ ...check, ref: { ...check.ref, day: '2026-02-01' } });
    assert.equal(noJob.state, 'error');
    assert.match(noJob.detail ?? '', /no deletion job for 2026-02-01/);
  });

  it('lists far-apart days in windows of at most 180 days', async () => {
    const { check } = await submitOne();
    const old = { ...check, deletionId: randomUUID(), ref: { ...check.ref, day: '2025-06-01' } };
    const reports = await adapter().checkStatus([check, old]);
    assert.equal(reports.get(check.deletionId)?.state, 'submitted');
    assert.equal(reports.get(old.deletionId)?.state, 'error');
    const gets = sandbox.control.calls('amplitude').filter((c) => c.method === 'GET');
    assert.equal(gets.length, 2);
  });

  it('refuses more than 100 ids before calling; the sandbox rejects oversize batches', async () => {
    await assert.rejects(adapter().submit(Array.from({ length: 101 }, () => subject())), RangeError);
    sandbox.control.configure('amplitude', { options: { maxIds: 1 } });
    await assert.rejects(adapter().submit([subject(), subject()]), (err) => err instanceof VendorRejectedError && err.status === 400);
    assert.equal(sandbox.control.stats('amplitude').moduleLimitsExceeded['batch_size'], 1);
  });

  it('maps 429 to a rate-limit error and counts the violation', async () => {
    sandbox.control.configure('amplitude', { rateLimit: { requests: 1, perMs: 1_000 } });
    const { check } = await submitOne();
    await assert.rejects(statusOf(check), VendorRateLimitedError);
    assert.equal(sandbox.control.stats('amplitude').rateLimitExceeded, 1);
  });

  it('maps a wrong secret key to VendorAuthError without leaking it', async () => {
    await assert.rejects(adapter({ secretKey: 'not-the-secret' }).submit([subject()]), (err) => err instanceof VendorAuthError && !err.message.includes('not-the-secret'));
  });

  it('treats drift as a contract violation: unknown status, renamed field, an HTML page', async () => {
    const { check } = await submitOne();
    sandbox.control.configure('amplitude', { drift: 'unknown_status' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && err.sample.includes('queued'));
    sandbox.control.configure('amplitude', { drift: 'rename_field' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && /amplitude_ids/.test(err.message));
    await assert.rejects(adapter().submit([subject()]), VendorContractError);
    sandbox.control.configure('amplitude', { drift: 'html' });
    await assert.rejects(adapter().submit([subject()]), (err) => err instanceof VendorContractError && /not JSON/.test(err.message));
  });

  it('cancels while staging, until 3 days before the job day', async () => {
    const vendor = adapter();
    const { check } = await submitOne(vendor);
    assert.equal(await vendor.cancel!(check), true);
    assert.equal((await statusOf(check)).state, 'error', 'the customer left the job');
    const { check: late } = await submitOne(vendor);
    clock.set('2026-03-08T12:00:00Z');
    const before = sandbox.control.stats('amplitude').requests;
    assert.equal(await vendor.cancel!(late), false);
    assert.equal(sandbox.control.stats('amplitude').requests, before, 'too late is known without asking');
  });
});
