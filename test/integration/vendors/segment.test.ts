import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, MINUTE } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import type { OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import {
  VendorAuthError,
  VendorContractError,
  VendorRateLimitedError,
  VendorRejectedError,
} from '../../../functions/vendors/errors.js';
import { createSegmentVendor } from '../../../functions/vendors/segment/segmentVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { adapterHarness } from '../../helpers/adapterHarness.js';

const TOKEN = 'sgp_sandbox_token_51f0c2';

describe('segment adapter against its sandbox', () => {
  const clock = createFakeClock('2026-03-01T00:00:00Z');
  let sandbox: RunningSandbox;

  const adapter = (settings: Record<string, string> = {}) =>
    createSegmentVendor(VENDOR_SETTINGS.segment.parse({ baseUrl: `${sandbox.url}/segment`, token: TOKEN, ...settings }), { timeoutMs: 2_000 }, clock);
  const h = adapterHarness(clock);
  const { subject, toCheck } = h;
  const statusOf = (check: OperationToCheck, vendor = adapter()) => h.statusOf(vendor, check);
  const submitOne = async (vendor = adapter()) => (await h.submitOne(vendor)).check;

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: { segment: { credential: TOKEN, lifecycle: { inProgressAfterMs: 10 * MINUTE, completeAfterMs: 60 * MINUTE } } },
    });
  });
  after(async () => {
    await sandbox.stop();
  });
  beforeEach(() => sandbox.control.reset('segment'));

  it('submits a batch as one regulation of the configured type, one operation per customer', async () => {
    const subjects = [subject(), subject(), subject()];
    const ops = await adapter({ regulationType: 'DELETE_ONLY' }).submit(subjects);
    assert.equal(ops.length, 3);
    assert.deepEqual(ops.map((o) => o.deletionId), subjects.map((s) => s.deletionId));
    assert.equal(new Set(ops.map((o) => o.operationId)).size, 1);
    assert.deepEqual(ops[0]!.ref, { regulateId: ops[0]!.operationId, subjects: 3 });
    const [call] = sandbox.control.calls('segment');
    assert.deepEqual(call!.body, { regulationType: 'DELETE_ONLY', subjectType: 'USER_ID', subjectIds: subjects.map((s) => s.customerId) });
  });

  it('defaults to SUPPRESS_WITH_DELETE and reads each shared regulation once', async () => {
    const subjects = [subject(), subject()];
    const vendor = adapter();
    const ops = await vendor.submit(subjects);
    const reports = await vendor.checkStatus(subjects.map((s, i) => toCheck(s, ops[i]!)));
    assert.deepEqual([...reports.values()].map((r) => r.rawStatus), ['INITIALIZED', 'INITIALIZED']);
    const calls = sandbox.control.calls('segment');
    assert.equal((calls[0]!.body as { regulationType: string }).regulationType, 'SUPPRESS_WITH_DELETE');
    assert.equal(calls.filter((c) => c.method === 'GET').length, 1);
  });

  it('follows INITIALIZED → RUNNING → completed, naming destinations that could not delete', async () => {
    const check = await submitOne();
    assert.equal((await statusOf(check)).state, 'submitted');
    clock.advance(20 * MINUTE);
    const running = await statusOf(check);
    assert.deepEqual([running.state, running.rawStatus], ['in_progress', 'RUNNING']);
    clock.advance(60 * MINUTE);
    const done = await statusOf(check);
    // The sandbox's default destinations include one without deletion support: Segment says FAILED overall.
    assert.deepEqual([done.state, done.rawStatus], ['completed', 'FAILED']);
    assert.match(done.detail ?? '', /Webhooks/);
  });

  it('reports a destination that failed as an error for a person, naming it, and never resubmits the batch', async () => {
    sandbox.control.configure('segment', { lifecycle: { failureShare: 1 } });
    const check = await submitOne();
    clock.advance(2 * 60 * MINUTE);
    const report = await statusOf(check);
    assert.equal(report.state, 'error');
    assert.match(report.detail ?? '', /Amplitude FAILED \(the destination rejected the deletion\)/);
  });

  it('reads an unsupported destination reporting FAILED instead of NOT_SUPPORTED (undocumented which) the same way', async () => {
    sandbox.control.configure('segment', { options: { unsupportedReports: 'FAILED' } });
    const check = await submitOne();
    clock.advance(2 * 60 * MINUTE);
    const report = await statusOf(check);
    assert.deepEqual([report.state, report.rawStatus], ['error', 'FAILED']);
    assert.match(report.detail ?? '', /Webhooks FAILED \(destination does not support deletion\)/);
  });

  it('reports FINISHED as completed when every destination supports deletion', async () => {
    sandbox.control.configure('segment', { options: { destinations: [{ id: 'd1', name: 'Mixpanel', supported: true }] } });
    const check = await submitOne();
    clock.advance(2 * 60 * MINUTE);
    const report = await statusOf(check);
    assert.deepEqual([report.state, report.rawStatus, report.detail], ['completed', 'FINISHED', undefined]);
  });

  it('refuses more than 5000 subjects before calling, and a sandbox with a lower limit rejects the batch', async () => {
    await assert.rejects(adapter().submit(Array.from({ length: 5001 }, subject)), RangeError);
    assert.equal(sandbox.control.stats('segment').requests, 0);
    sandbox.control.configure('segment', { options: { maxSubjects: 2 } });
    await assert.rejects(adapter().submit([subject(), subject(), subject()]), (err) => err instanceof VendorRejectedError && err.status === 422);
    assert.equal(sandbox.control.stats('segment').moduleLimitsExceeded['batch_size'], 1);
  });

  it('maps 429 on create (X-RateLimit-Reset and msBeforeNext, no Retry-After) to a pause, without limiting status reads', async () => {
    sandbox.control.configure('segment', { rateLimit: { requests: 1, perMs: MINUTE } });
    const check = await submitOne();
    await assert.rejects(adapter().submit([subject()]), (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === 60_000);
    const answer = await fetch(`${sandbox.url}/segment/regulations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ regulationType: 'DELETE_ONLY', subjectType: 'USER_ID', subjectIds: ['x'] }),
    });
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get('retry-after'), null);
    assert.equal(Date.parse(answer.headers.get('x-ratelimit-reset')!), clock.now().getTime() + 60_000);
    assert.equal((await statusOf(check)).state, 'submitted');
    assert.equal(sandbox.control.stats('segment').rateLimitExceeded, 2, 'the adapter\'s create and the direct one');
  });

  it('maps a wrong or expired token to VendorAuthError', async () => {
    await assert.rejects(createSegmentVendor(VENDOR_SETTINGS.segment.parse({ baseUrl: `${sandbox.url}/segment`, token: 'wrong' })).submit([subject()]), VendorAuthError);
    const check = await submitOne();
    sandbox.control.configure('segment', { rejectCredentials: true });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorAuthError && !err.message.includes(TOKEN));
  });

  it('treats drift as a contract violation: unknown status, renamed fields, an HTML page', async () => {
    const check = await submitOne();
    sandbox.control.configure('segment', { drift: 'unknown_status' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && err.sample.includes('QUEUED'));
    sandbox.control.configure('segment', { drift: 'rename_field' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && /overallStatus/.test(err.message));
    await assert.rejects(adapter().submit([subject()]), (err) => err instanceof VendorContractError && /regulateId/.test(err.message));
    sandbox.control.configure('segment', { drift: 'html' });
    await assert.rejects(statusOf(check), (err) => err instanceof VendorContractError && /not JSON/.test(err.message));
  });

  it('reports a regulation Segment no longer knows as an error', async () => {
    const report = await statusOf({ deletionId: randomUUID(), customerId: 'c', ref: { regulateId: 'reg_gone', subjects: 1 }, operationId: 'reg_gone', submittedAt: clock.now() });
    assert.deepEqual([report.state, report.rawStatus], ['error', 'http_404']);
  });

  it('cancels a one-customer regulation while INITIALIZED, not later, and never a shared one', async () => {
    const vendor = adapter();
    const early = await submitOne(vendor);
    assert.equal(await vendor.cancel!(early), true);
    assert.equal((await statusOf(early)).state, 'error');
    const late = await submitOne(vendor);
    clock.advance(20 * MINUTE);
    assert.equal(await vendor.cancel!(late), false);
    assert.equal((await statusOf(late)).rawStatus, 'RUNNING');
    const shared = [subject(), subject()];
    const ops = await vendor.submit(shared);
    const before = sandbox.control.stats('segment').requests;
    assert.equal(await vendor.cancel!(toCheck(shared[0]!, ops[0]!)), false);
    assert.equal(sandbox.control.stats('segment').requests, before);
  });
});
