import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, DAY, HOUR } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import type { DeletionVendor, OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError } from '../../../functions/vendors/errors.js';
import { createAppsFlyerVendor } from '../../../functions/vendors/opendsr/appsflyerVendor.js';
import { createMParticleVendor } from '../../../functions/vendors/opendsr/mparticleVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { adapterHarness } from '../../helpers/adapterHarness.js';

const MP_KEY = 'mp-key-sandbox';
const MP_SECRET = 'mp-secret-sandbox-1e2f';
const AF_TOKEN = 'af-token-sandbox-9d8c';

describe('OpenDSR adapters (mParticle, AppsFlyer) against their sandboxes', () => {
  const clock = createFakeClock('2026-03-01T00:00:00Z');
  let sandbox: RunningSandbox;
  const lifecycle = { inProgressAfterMs: 7 * DAY, completeAfterMs: 14 * DAY };

  const mparticle = (settings: Record<string, string> = {}) =>
    createMParticleVendor(
      VENDOR_SETTINGS.mparticle.parse({ baseUrl: `${sandbox.url}/mparticle`, apiKey: MP_KEY, apiSecret: MP_SECRET, ...settings }),
      { timeoutMs: 2_000 },
      clock,
    );
  const appsflyer = (settings: Record<string, string> = {}) =>
    createAppsFlyerVendor(
      VENDOR_SETTINGS.appsflyer.parse({ baseUrl: `${sandbox.url}/appsflyer`, token: AF_TOKEN, propertyId: 'com.example.app', platform: 'android', ...settings }),
      { timeoutMs: 2_000 },
      clock,
    );
  const h = adapterHarness(clock);
  const { subject, toCheck } = h;
  const statusOf = (vendor: DeletionVendor, check: OperationToCheck) => h.statusOf(vendor, check);

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: {
        mparticle: { credential: `${MP_KEY}:${MP_SECRET}`, lifecycle },
        appsflyer: { credential: AF_TOKEN, lifecycle },
      },
    });
  });
  after(async () => {
    await sandbox.stop();
  });
  beforeEach(() => {
    sandbox.control.reset('mparticle');
    sandbox.control.reset('appsflyer');
  });

  for (const [name, make] of [
    ['mparticle', () => mparticle()],
    ['appsflyer', () => appsflyer()],
  ] as const) {
    describe(name, () => {
      it('creates with our idempotency key as subject_request_id; expected_completion_time drives expectations', async () => {
        const s = subject();
        const [op] = await make().submit([s]);
        assert.equal(op!.operationId, s.idempotencyKey);
        assert.deepEqual(op!.ref, { subjectRequestId: s.idempotencyKey });
        assert.deepEqual([op!.status?.state, op!.status?.rawStatus], ['submitted', 'pending']);
        assert.equal(op!.status?.expectedCompletionAt?.getTime(), clock.now().getTime() + 14 * DAY);
        const body = sandbox.control.calls(name)[0]!.body as Record<string, unknown>;
        assert.equal(body['subject_request_id'], s.idempotencyKey);
        assert.equal(body['subject_request_type'], 'erasure');
        assert.ok(JSON.stringify(body['subject_identities']).includes(s.customerId));
      });

      it('recovers a repeated create ("already exists") by reading the request it made before', async () => {
        const vendor = make();
        const s = subject();
        await vendor.submit([s]);
        clock.advance(8 * DAY);
        const [again] = await vendor.submit([s]);
        assert.deepEqual([again!.operationId, again!.status?.state], [s.idempotencyKey, 'in_progress']);
        assert.deepEqual(sandbox.control.calls(name).map((c) => `${c.method}:${c.status}`), ['POST:201', 'POST:400', 'GET:200']);
        clock.advance(-8 * DAY);
      });

      it('follows pending → in_progress → completed', async () => {
        const vendor = make();
        const s = subject();
        const [op] = await vendor.submit([s]);
        const check = toCheck(s, op!);
        const seen: string[] = [];
        for (const step of [0, 7, 7]) {
          clock.advance(step * DAY);
          seen.push((await statusOf(vendor, check)).rawStatus);
        }
        clock.advance(-14 * DAY);
        assert.deepEqual(seen, ['pending', name === 'appsflyer' ? 'in-progress' : 'in_progress', 'completed']);
      });

      it('reports an unknown request (404) as an error', async () => {
        const id = randomUUID();
        const r = await statusOf(make(), { deletionId: 'd', customerId: 'c', ref: { subjectRequestId: id }, operationId: id, submittedAt: clock.now() });
        // mParticle answers 404; AppsFlyer 400 e214.
        assert.deepEqual([r.state, r.rawStatus], ['error', name === 'appsflyer' ? 'http_400' : 'http_404']);
      });

      it('cancels while pending and not after', async () => {
        const vendor = make();
        const a = subject();
        const [opA] = await vendor.submit([a]);
        assert.equal(await vendor.cancel!(toCheck(a, opA!)), true);
        assert.equal((await statusOf(vendor, toCheck(a, opA!))).state, 'cancelled');
        const b = subject();
        const [opB] = await vendor.submit([b]);
        clock.advance(8 * DAY);
        assert.equal(await vendor.cancel!(toCheck(b, opB!)), false);
        clock.advance(-8 * DAY);
      });

      it('treats drift as a contract violation: unknown status, renamed fields, an HTML page', async () => {
        const vendor = make();
        const s = subject();
        const [op] = await vendor.submit([s]);
        const check = toCheck(s, op!);
        sandbox.control.configure(name, { drift: 'unknown_status' });
        await assert.rejects(statusOf(vendor, check), (err) => err instanceof VendorContractError && err.sample.includes('on_hold'));
        sandbox.control.configure(name, { drift: 'rename_field' });
        await assert.rejects(statusOf(vendor, check), (err) => err instanceof VendorContractError && /request_status/.test(err.message));
        await assert.rejects(vendor.submit([subject()]), (err) => err instanceof VendorContractError && /subject_request_id/.test(err.message));
        sandbox.control.configure(name, { drift: 'html' });
        await assert.rejects(statusOf(vendor, check), (err) => err instanceof VendorContractError && /not JSON/.test(err.message));
      });

      it('maps a rejected credential to VendorAuthError', async () => {
        sandbox.control.configure(name, { rejectCredentials: true });
        await assert.rejects(make().submit([subject()]), VendorAuthError);
      });
    });
  }

  it('mParticle: wrong secret is an auth error; the daily quota answers 429 and is counted; 429 carries Retry-After', async () => {
    await assert.rejects(mparticle({ apiSecret: 'wrong-secret' }).submit([subject()]), (err) => err instanceof VendorAuthError && !err.message.includes('wrong-secret'));
    sandbox.control.configure('mparticle', { options: { dailyQuota: 2 } });
    const vendor = mparticle();
    await vendor.submit([subject(), subject()]);
    await assert.rejects(vendor.submit([subject()]), (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === DAY);
    assert.equal(sandbox.control.stats('mparticle').moduleLimitsExceeded['daily_quota'], 1);
    clock.advance(DAY + HOUR);
    assert.equal((await vendor.submit([subject()])).length, 1);
    clock.advance(-(DAY + HOUR));
  });

  it('mParticle: a second request for the same identities (409) is linked to the open one, found through the group', async () => {
    const vendor = mparticle();
    const customer = { deletionId: randomUUID(), customerId: 'same-customer', idempotencyKey: randomUUID() };
    const [first] = await vendor.submit([customer]);
    const [second] = await vendor.submit([{ ...customer, deletionId: randomUUID(), idempotencyKey: randomUUID() }]);
    assert.deepEqual(second!.ref, { subjectRequestId: first!.operationId, linkedFrom: second!.ref['linkedFrom'] });
    assert.deepEqual(sandbox.control.calls('mparticle').map((c) => `${c.method}:${c.status}`), ['POST:201', 'POST:409', 'GET:200']);
    assert.equal(await vendor.cancel!(toCheck(customer, second!)), false, 'the linked request is another deletion\'s');
  });

  it('mParticle: a completed request whose forwarding failed or was skipped is an error naming the partners', async () => {
    sandbox.control.configure('mparticle', {
      options: {
        forwarding: [
          { domain: 'braze.example', name: 'Braze', status: 'sent' },
          { domain: 'amplitude.example', name: 'Amplitude', status: 'failed', status_message: 'invalid credentials' },
        ],
      },
    });
    const vendor = mparticle();
    const s = subject();
    const [op] = await vendor.submit([s]);
    clock.advance(15 * DAY);
    const report = await statusOf(vendor, toCheck(s, op!));
    clock.advance(-15 * DAY);
    assert.deepEqual([report.state, report.rawStatus], ['error', 'completed']);
    assert.match(report.detail ?? '', /Amplitude failed \(invalid credentials\)/);
  });

  it('mParticle: times without an offset are read as UTC; a cancelled request has no expected completion', async () => {
    sandbox.control.configure('mparticle', { options: { timestamps: 'no-offset' } });
    const vendor = mparticle();
    const s = subject();
    const [op] = await vendor.submit([s]);
    assert.equal(op!.status?.expectedCompletionAt?.getTime(), clock.now().getTime() + 14 * DAY);
    assert.equal(await vendor.cancel!(toCheck(s, op!)), true);
    const report = await statusOf(vendor, toCheck(s, op!));
    assert.deepEqual([report.state, report.expectedCompletionAt], ['cancelled', undefined]);
  });

  it('mParticle: submitted_time is the revocation time, the law the subject\'s, the identity controller_customer_id', async () => {
    const revokedAt = new Date('2026-02-27T10:11:12.000Z');
    await mparticle().submit([{ ...subject(), revokedAt, regulation: 'ccpa' }]);
    const body = sandbox.control.calls('mparticle')[0]!.body as Record<string, unknown>;
    assert.equal(body['submitted_time'], revokedAt.toISOString());
    assert.equal(body['regulation'], 'ccpa');
    assert.deepEqual(Object.keys(body['subject_identities'] as object), ['controller_customer_id']);
  });

  it('AppsFlyer: the OpenDSR spellings are read too; an identity type it does not document is refused (e318)', async () => {
    sandbox.control.configure('appsflyer', { options: { spelling: 'opendsr' } });
    const vendor = appsflyer();
    const s = subject();
    const [op] = await vendor.submit([s]);
    clock.advance(8 * DAY);
    const report = await statusOf(vendor, toCheck(s, op!));
    clock.advance(-8 * DAY);
    assert.deepEqual([report.state, report.rawStatus], ['in_progress', 'in_progress']);
    const body = sandbox.control.calls('appsflyer')[0]!.body as Record<string, unknown>;
    assert.equal(body['api_version'], '0.1');
  });

  it('mParticle: sends skip_waiting_period when configured, and its policy has the documented quota', async () => {
    const vendor = mparticle({ skipWaitingPeriod: 'true' });
    await vendor.submit([subject()]);
    const body = sandbox.control.calls('mparticle')[0]!.body as Record<string, unknown>;
    assert.deepEqual(body['extensions'], { 'opendsr.mparticle.com': { skip_waiting_period: true } });
    assert.equal(vendor.policy.dailySubmitQuota, 80_000);
  });
});
