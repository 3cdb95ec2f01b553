import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, MINUTE } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import type { OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError, VendorRejectedError } from '../../../functions/vendors/errors.js';
import { createMixpanelVendor } from '../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { adapterHarness } from '../../helpers/adapterHarness.js';

const OAUTH = 'mp_oauth_sandbox_7c1d';
const PROJECT_TOKEN = 'mp_project_token_88aa';

describe('mixpanel adapter against its sandbox', () => {
  const clock = createFakeClock('2026-03-01T00:00:00Z');
  let sandbox: RunningSandbox;

  const adapter = (settings: Record<string, string> = {}) =>
    createMixpanelVendor(
      VENDOR_SETTINGS.mixpanel.parse({ baseUrl: `${sandbox.url}/mixpanel`, token: OAUTH, projectToken: PROJECT_TOKEN, ...settings }),
      { timeoutMs: 2_000 },
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
      vendors: {
        mixpanel: {
          credential: OAUTH,
          options: { projectToken: PROJECT_TOKEN },
          lifecycle: { inProgressAfterMs: 10 * MINUTE, completeAfterMs: 60 * MINUTE },
        },
      },
    });
  });
  after(async () => {
    await sandbox.stop();
  });
  beforeEach(() => sandbox.control.reset('mixpanel'));

  it('submits a batch as one task (OpenAPI shape) with the compliance type, one operation per customer', async () => {
    const subjects = [subject(), subject()];
    const ops = await adapter({ complianceType: 'CCPA' }).submit(subjects);
    assert.equal(new Set(ops.map((o) => o.operationId)).size, 1);
    assert.deepEqual(ops[1]!.ref, { trackingId: ops[0]!.operationId, subjects: 2, index: 1 });
    assert.equal(ops[0]!.status, undefined);
    const [call] = sandbox.control.calls('mixpanel');
    assert.equal(call!.path, '/api/app/data-deletions/v3.0/');
    assert.deepEqual(call!.body, { distinct_ids: subjects.map((s) => s.customerId), compliance_type: 'CCPA' });
  });

  it('accepts the prose create shape (results[0].tracking_id) with its status', async () => {
    sandbox.control.configure('mixpanel', { options: { createShape: 'tracking_list' } });
    const { op } = await submitOne();
    assert.deepEqual([op.status?.state, op.status?.rawStatus], ['submitted', 'PENDING']);
    assert.match(op.operationId, /-mp$/);
  });

  it('follows PENDING → STAGING → STARTED → SUCCESS', async () => {
    const { check } = await submitOne();
    const seen: string[] = [];
    for (const step of [0, 6, 10, 60]) {
      clock.advance(step * MINUTE);
      const r = await statusOf(check);
      seen.push(`${r.rawStatus}:${r.state}`);
    }
    assert.deepEqual(seen, ['PENDING:submitted', 'STAGING:submitted', 'STARTED:in_progress', 'SUCCESS:completed']);
  });

  it('reports FAILURE as failed with the documented next step', async () => {
    sandbox.control.configure('mixpanel', { lifecycle: { failureShare: 1 } });
    const { check } = await submitOne();
    clock.advance(2 * 60 * MINUTE);
    const r = await statusOf(check);
    assert.equal(r.state, 'failed');
    assert.match(r.detail ?? '', /create a new task/);
  });

  it('reports NOT_FOUND as an error', async () => {
    const r = await statusOf({ deletionId: randomUUID(), customerId: 'c', ref: { trackingId: 'nope', subjects: 1 }, operationId: 'nope', submittedAt: clock.now() });
    assert.deepEqual([r.state, r.rawStatus], ['error', 'NOT_FOUND']);
  });

  it('refuses more than 1999 distinct_ids before calling; the sandbox rejects oversize batches', async () => {
    await assert.rejects(adapter().submit(Array.from({ length: 2000 }, subject)), RangeError);
    sandbox.control.configure('mixpanel', { options: { maxDistinctIds: 1 } });
    await assert.rejects(adapter().submit([subject(), subject()]), (err) => err instanceof VendorRejectedError && err.status === 400);
    assert.equal(sandbox.control.stats('mixpanel').moduleLimitsExceeded['batch_size'], 1);
  });

  it('maps 429 to a rate-limit error and counts the violation', async () => {
    sandbox.control.configure('mixpanel', { rateLimit: { requests: 1, perMs: 1_000 } });
    const { check } = await submitOne();
    await assert.rejects(statusOf(check), (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === 1_000);
    assert.equal(sandbox.control.stats('mixpanel').rateLimitExceeded, 1);
  });

  it('maps an expired OAuth token or a wrong project token to VendorAuthError, without leaking either', async () => {
    await assert.rejects(adapter({ token: 'expired' }).submit([subject()]), VendorAuthError);
    await assert.rejects(adapter({ projectToken: 'other' }).submit([subject()]), (err) => {
      assert.ok(err instanceof VendorAuthError);
      assert.ok(!err.message.includes('other') && !err.message.includes(OAUTH));
      return true;
    });
  });

  it('treats drift as a contract violation: unknown status, renamed fields, an HTML page', async () => {
    const { check } = await submitOne();
    sandbox.control.configure('mixpanel', { drift: 'unknown_status' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && err.sample.includes('QUEUED'));
    sandbox.control.configure('mixpanel', { drift: 'rename_field' });
    await assert.rejects(statusOf(check), VendorContractError);
    await assert.rejects(adapter().submit([subject()]), (err) => err instanceof VendorContractError && err.sample.includes('taskId'));
    sandbox.control.configure('mixpanel', { drift: 'rename_field', options: { createShape: 'tracking_list' } });
    await assert.rejects(adapter().submit([subject()]), (err) => err instanceof VendorContractError && err.sample.includes('trackingId'));
    sandbox.control.configure('mixpanel', { drift: 'html' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && /not JSON/.test(err.message));
  });

  it('cancels a one-customer task until STARTED (then REVOKED), answers false after (405), never cancels a shared task', async () => {
    const vendor = adapter();
    const { check: early } = await submitOne(vendor);
    clock.advance(6 * MINUTE);
    assert.equal(await vendor.cancel!(early), true);
    assert.deepEqual([(await statusOf(early)).state, (await statusOf(early)).rawStatus], ['cancelled', 'REVOKED']);
    const { check: late } = await submitOne(vendor);
    clock.advance(11 * MINUTE);
    assert.equal(await vendor.cancel!(late), false);
    const subjects = [subject(), subject()];
    const ops = await vendor.submit(subjects);
    assert.equal(await vendor.cancel!(toCheck(subjects[0]!, ops[0]!)), false);
    assert.equal(sandbox.control.calls('mixpanel').filter((c) => c.method === 'DELETE').length, 2);
  });
});
