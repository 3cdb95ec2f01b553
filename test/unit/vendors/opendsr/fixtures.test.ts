import assert from 'node:assert/strict';
import { createFakeClock } from '../../../../functions/clock.js';
import type { DeletionSubject, DeletionVendor, OperationToCheck } from '../../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError, VendorRejectedError } from '../../../../functions/vendors/errors.js';
import { createAppsFlyerVendor } from '../../../../functions/vendors/opendsr/appsflyerVendor.js';
import { createMParticleVendor, mparticleGroupId } from '../../../../functions/vendors/opendsr/mparticleVendor.js';
import { openDsrTime, OpenDsrRefusedError } from '../../../../functions/vendors/opendsr/openDsrVendor.js';
import { APPSFLYER_STATUS_MAP, OPENDSR_STATUS_MAP } from '../../../../functions/vendors/opendsr/status.js';
import { VENDOR_SETTINGS } from '../../../../functions/vendors/settings.js';
import { bodyOf, fixture, loadFixtures, type Fixture, type FixtureVendor } from '../../../fixtures/vendors/contract.js';
import { keysOf, withAnswers } from '../fixtureFetch.js';

const clock = createFakeClock('2021-11-29T18:16:24Z');
const REVOKED_AT = new Date('2021-11-01T15:00:00Z');

const mparticle = (settings: Record<string, string> = {}) =>
  createMParticleVendor(VENDOR_SETTINGS.mparticle.parse({ baseUrl: 'https://opendsr.example', apiKey: 'k', apiSecret: 's', ...settings }), { timeoutMs: 1_000 }, clock);
const appsflyer = (settings: Record<string, string> = {}) =>
  createAppsFlyerVendor(
    VENDOR_SETTINGS.appsflyer.parse({ baseUrl: 'https://hq1.example', token: 't', propertyId: 'com.example.app', platform: 'android', ...settings }),
    { timeoutMs: 1_000 },
    clock,
  );
const ADAPTERS: Record<'mparticle' | 'appsflyer', () => DeletionVendor> = { mparticle: () => mparticle(), appsflyer: () => appsflyer() };
const STATUS_MAPS = { mparticle: OPENDSR_STATUS_MAP, appsflyer: APPSFLYER_STATUS_MAP } as const;

const subject = (id: string, customerId = 'customer-1'): DeletionSubject => ({ deletionId: 'd0', customerId, idempotencyKey: id, revokedAt: REVOKED_AT });
const operation = (id: string, ref: Record<string, unknown> = { subjectRequestId: id }): OperationToCheck => ({
  deletionId: 'd0',
  customerId: 'customer-1',
  ref,
  operationId: id,
  submittedAt: clock.now(),
});
const idOf = (f: Fixture) => {
  const fromBody = (f.request.body as { subject_request_id?: string } | undefined)?.subject_request_id;
  return fromBody ?? decodeURIComponent(f.request.path.split('/').at(-1)!);
};

/** The documented create and status examples of a processor, to pair with its error examples. */
const STATUS_OK = { mparticle: 'status-v3-pending.json', appsflyer: 'status-openapi-pending.json' } as const;

for (const vendor of ['mparticle', 'appsflyer'] as const satisfies readonly FixtureVendor[]) {
  describe(`${vendor} adapter over every documented example (fixtures, no sandbox)`, () => {
    for (const f of loadFixtures(vendor)) {
      it(`${f.file}: ${f.request.method} ${f.request.path} → ${f.response.status}`, async () => {
        const make = ADAPTERS[vendor];
        switch (f.operation) {
          case 'create': {
            const { result: ops, seen } = await withAnswers([f.response], () => make().submit([subject(idOf(f))]));
            const body = bodyOf<{ expected_completion_time?: string; encoded_request?: string }>(f);
            assert.deepEqual([ops[0]!.operationId, ops[0]!.status?.state, ops[0]!.status?.rawStatus], [idOf(f), 'submitted', 'pending']);
            if (body.expected_completion_time) assert.equal(ops[0]!.status?.expectedCompletionAt?.getTime(), openDsrTime(body.expected_completion_time).getTime());
            assert.ok(!JSON.stringify(ops[0]!.status?.payload).includes('encoded_request'), 'encoded_request is never kept');
            const sent = seen[0]!.json as Record<string, unknown>;
            // The adapter sends documented fields only (AppsFlyer: plus OpenDSR's REQUIRED regulation).
            const documented = [...keysOf(f.request.body), ...(vendor === 'appsflyer' ? ['regulation'] : [])];
            for (const key of keysOf(sent)) assert.ok(documented.includes(key), `${key} is a documented request field`);
            assert.equal(sent['submitted_time'], REVOKED_AT.toISOString(), 'submitted_time is when the customer withdrew consent');
            break;
          }
          case 'status': {
            const body = bodyOf<{ request_status: string; expected_completion_time: string | null; extensions?: { status: string }[] | null }>(f);
            const { result } = await withAnswers([f.response], () => make().checkStatus([operation(idOf(f))]));
            const report = result.get('d0')!;
            assert.equal(report.rawStatus, body.request_status);
            const mapped = (STATUS_MAPS[vendor] as Record<string, string>)[body.request_status];
            const forwarding = (body.extensions ?? []).map((e) => e.status);
            if (forwarding.includes('failed') || forwarding.includes('skipped')) {
              assert.equal(report.state, 'error', 'a partner kept its copy: not done');
              assert.match(report.detail ?? '', /failed/);
              assert.match(report.detail ?? '', /skipped/);
            } else {
              assert.equal(report.state, mapped);
            }
            if (body.expected_completion_time === null) assert.equal(report.expectedCompletionAt, undefined);
            else assert.equal(report.expectedCompletionAt?.getTime(), openDsrTime(body.expected_completion_time).getTime());
            break;
          }
          case 'list': {
            // The group listing answers a 409: the new deletion is linked to the group's open request.
            const open = bodyOf<{ subject_request_id: string; request_status: string }[]>(f).find((r) => r.request_status === 'pending')!;
            const conflict = fixture('mparticle', 'error-409-in-progress.json').response;
            const { result: ops, seen } = await withAnswers([conflict, f.response], () => make().submit([subject('b2c8b7a4-1111-4111-8111-111111111111')]));
            assert.deepEqual(ops[0]!.ref, { subjectRequestId: open.subject_request_id, linkedFrom: 'b2c8b7a4-1111-4111-8111-111111111111' });
            assert.equal(ops[0]!.operationId, open.subject_request_id);
            assert.equal(seen[1]!.url.searchParams.get('group_id'), mparticleGroupId('customer-1'));
            assert.equal((seen[0]!.json as { group_id: string }).group_id, mparticleGroupId('customer-1'));
            break;
          }
          case 'cancel': {
            const { result } = await withAnswers([f.response], () => make().cancel!(operation(idOf(f))));
            assert.equal(result, true);
            break;
          }
          case 'error': {
            const status = f.response.status;
            const body = f.response.body as { error?: { af_gdpr_code?: string }; af_gdpr_code?: string } | undefined;
            const code = body?.error?.af_gdpr_code ?? body?.af_gdpr_code;
            const created = () => make().submit([subject(idOf(f))]);
            if (status === 401 || status === 403) {
              await assert.rejects(withAnswers([f.response], created), VendorAuthError);
            } else if (status === 429) {
              const seconds = Number(f.response.headers?.['Retry-After']);
              await assert.rejects(withAnswers([f.response], created), (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === seconds * 1000);
            } else if (f.request.method === 'GET' || code === 'e214') {
              // Unknown request: an error state, not a fault.
              const { result } = await withAnswers([f.response], () => make().checkStatus([operation(idOf(f))]));
              assert.deepEqual([result.get('d0')!.state, result.get('d0')!.rawStatus], ['error', `http_${status}`]);
            } else if (f.request.method === 'DELETE') {
              const { result } = await withAnswers([f.response], () => make().cancel!(operation(idOf(f))));
              assert.equal(result, false, 'cannot cancel: too late');
            } else if ((body && /already exists/i.test(JSON.stringify(body))) || code === 'e213') {
              // A repeated create: the request made before is read instead.
              const existing = fixture(vendor, STATUS_OK[vendor]);
              const { result: ops } = await withAnswers([f.response, existing.response], created);
              assert.deepEqual([ops[0]!.operationId, ops[0]!.status?.rawStatus], [idOf(f), 'pending']);
            } else if (status === 409 && vendor === 'mparticle') {
              // No open request in the customer's group: still a rejection, tried again later.
              await assert.rejects(withAnswers([f.response, { status: 200, body: [] }], created), (err) => err instanceof OpenDsrRefusedError && err.refusal === 'in_progress_elsewhere');
            } else {
              await assert.rejects(withAnswers([f.response], created), (err) => err instanceof VendorRejectedError && err.status === status);
            }
            break;
          }
        }
      });
    }

    it('turns an undocumented status word or a missing id into a contract violation', async () => {
      for (const f of loadFixtures(vendor).filter((x) => x.operation === 'status')) {
        const word = bodyOf<Record<string, unknown>>(f);
        word['request_status'] = 'on_hold';
        const missing = bodyOf<Record<string, unknown>>(f);
        delete missing['subject_request_id'];
        const other = bodyOf<Record<string, unknown>>(f);
        other['subject_request_id'] = 'someone-else';
        for (const body of [word, missing, other]) {
          await assert.rejects(withAnswers([{ ...f.response, body }], () => ADAPTERS[vendor]().checkStatus([operation(idOf(f))])), VendorContractError, f.file);
        }
      }
    });
  });
}

describe('OpenDSR adapters: what differs per processor', () => {
  it('mParticle sends controller_customer_id by default, the law per request, and extension identities in its extension', async () => {
    const created = fixture('mparticle', 'create-v3.json');
    const id = idOf(created);
    const { seen } = await withAnswers([created.response], () => mparticle().submit([{ ...subject(id), regulation: 'ccpa' }]));
    const sent = seen[0]!.json as Record<string, unknown>;
    assert.deepEqual(sent['subject_identities'], { controller_customer_id: { value: 'customer-1', encoding: 'raw' } });
    assert.equal(sent['regulation'], 'ccpa');
    assert.equal(sent['api_version'], '3.0');
    const other = await withAnswers([created.response], () => mparticle({ identityType: 'other2', skipWaitingPeriod: 'true' }).submit([subject(id)]));
    const extended = other.seen[0]!.json as Record<string, unknown>;
    assert.equal(extended['subject_identities'], undefined);
    assert.deepEqual(extended['extensions'], { 'opendsr.mparticle.com': { skip_waiting_period: true, subject_identities: { other2: { value: 'customer-1', encoding: 'raw' } } } });
  });

  it('mParticle: a status without offset is UTC; null expected_completion_time only when cancelled', async () => {
    const f = fixture('mparticle', 'status-v2-no-offset.json');
    const { result } = await withAnswers([f.response], () => mparticle().checkStatus([operation(idOf(f))]));
    assert.equal(result.get('d0')!.expectedCompletionAt?.toISOString(), '2018-05-07T20:53:48.322Z');
    const body = bodyOf<Record<string, unknown>>(f);
    body['expected_completion_time'] = null;
    await assert.rejects(withAnswers([{ ...f.response, body }], () => mparticle().checkStatus([operation(idOf(f))])), VendorContractError);
  });

  it('mParticle: a completed request still forwarding is in progress; a linked request is never cancelled', async () => {
    const f = fixture('mparticle', 'status-field-table-extensions.json');
    const body = bodyOf<{ extensions: { status: string }[] }>(f);
    body.extensions = body.extensions.map((e) => ({ ...e, status: e.status === 'sent' ? 'sent' : 'pending' }));
    const { result } = await withAnswers([{ ...f.response, body }], () => mparticle().checkStatus([operation(idOf(f))]));
    assert.equal(result.get('d0')!.state, 'in_progress');
    const { result: cancelled, seen } = await withAnswers([], () => mparticle().cancel!(operation('x', { subjectRequestId: 'x', linkedFrom: 'y' })));
    assert.deepEqual([cancelled, seen.length], [false, 0]);
  });

  it('AppsFlyer sends the configured identity type and api_version; e215 (identities in an open request) stays a rejection', async () => {
    const created = fixture('appsflyer', 'create-openapi.json');
    const { seen } = await withAnswers([created.response], () => appsflyer({ identityType: 'appsflyer_id', apiVersion: '2.0' }).submit([subject(idOf(created))]));
    const sent = seen[0]!.json as { subject_identities: unknown; api_version: string; property_id: string; platform: string };
    assert.deepEqual(sent.subject_identities, [{ identity_type: 'appsflyer_id', identity_value: 'customer-1', identity_format: 'raw' }]);
    assert.deepEqual([sent.api_version, sent.property_id, sent.platform], ['2.0', 'com.example.app', 'android']);
    const e215 = fixture('appsflyer', 'error-400-e215-identities-in-open-request.json');
    await assert.rejects(withAnswers([e215.response], () => appsflyer().submit([subject(idOf(created))])), (err) => err instanceof OpenDsrRefusedError && err.refusal === 'in_progress_elsewhere');
  });

  it('reads an undocumented 400 body as a plain rejection, never as a duplicate', async () => {
    for (const [make, body] of [
      [() => mparticle(), { code: 400, message: 'Invalid data was detected' }],
      [() => appsflyer(), { error: { code: 400, message: 'x', af_gdpr_code: 'e999' } }],
      [() => appsflyer(), 'not json'],
    ] as const) {
      await assert.rejects(withAnswers([{ status: 400, body }], () => make().submit([subject('a7551968-d5d6-44b2-9831-815ac9017798')])), (err) => err instanceof VendorRejectedError && !(err instanceof OpenDsrRefusedError));
    }
  });
});
