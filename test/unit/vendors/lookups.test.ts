import assert from 'node:assert/strict';
import { createFakeClock } from '../../../functions/clock.js';
import { createAmplitudeVendor } from '../../../functions/vendors/amplitude/amplitudeVendor.js';
import type { OperationToCheck } from '../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError } from '../../../functions/vendors/errors.js';
import { createMixpanelVendor } from '../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { bodyOf, fixture, type Fixture } from '../../fixtures/vendors/contract.js';
import { withAnswers } from './fixtureFetch.js';

const clock = createFakeClock('2026-03-01T00:00:00Z');
const op = (customerId: string, ref: Record<string, unknown> = {}): OperationToCheck => ({ deletionId: 'd1', customerId, ref, operationId: 'op', submittedAt: clock.now() });

const amplitude = (settings: Record<string, string> = {}) =>
  createAmplitudeVendor(VENDOR_SETTINGS.amplitude.parse({ baseUrl: 'https://amplitude.example', apiKey: '1234567800', secretKey: '123456700', verify: 'true', ...settings }), { timeoutMs: 1_000 }, clock);
const mixpanel = (settings: Record<string, string> = {}) =>
  createMixpanelVendor(
    VENDOR_SETTINGS.mixpanel.parse({ baseUrl: 'https://mixpanel.example', token: 't', projectToken: 'p', projectId: '12345', lookupServiceAccount: 'sa', lookupSecret: 'secret', ...settings }),
    { timeoutMs: 1_000 },
  );

/** The request an adapter made matches the documented one: method, path and query. */
function assertDocumentedRequest(seen: { method: string; url: URL }, f: Fixture): void {
  assert.equal(seen.method, f.request.method);
  assert.equal(seen.url.pathname, f.request.path);
  assert.deepEqual(Object.fromEntries(seen.url.searchParams), f.request.query);
}

describe('verification lookups over the documented examples (fixtures, no sandbox)', () => {
  describe('Amplitude user search', () => {
    it('lookup-user-search-found.json: the documented match of the customer is a failed verification naming its amplitude_id', async () => {
      const f = fixture('amplitude', 'lookup-user-search-found.json');
      const user = f.request.query!['user']!;
      const { result, seen } = await withAnswers([f.response], () => amplitude().verify!(op(user)));
      assertDocumentedRequest(seen[0]!, f);
      assert.equal(seen[0]!.headers['authorization'], f.request.headers!['Authorization'], 'Basic api_key:secret_key as documented');
      assert.equal(result.found, true);
      assert.match(result.found ? result.summary : '', /amplitude_id 12345/);
    });

    it('lookup-user-search-not-found.json: the documented no-match (200, type nomatch) is verified', async () => {
      const f = fixture('amplitude', 'lookup-user-search-not-found.json');
      const { result, seen } = await withAnswers([f.response], () => amplitude().verify!(op(f.request.query!['user']!)));
      assertDocumentedRequest(seen[0]!, f);
      assert.deepEqual(result, { found: false, evidence: { lookup: 'usersearch', type: 'nomatch', matches: 0 } });
    });

    it('a match on another user (user search also matches id prefixes and device ids) is not this customer\'s data', async () => {
      const f = fixture('amplitude', 'lookup-user-search-found.json');
      const { result } = await withAnswers([f.response], () => amplitude().verify!(op('myuser')));
      assert.equal(result.found, false);
    });

    it("a match on one of the amplitude_ids the deletion named is the customer's data, even under another user id", async () => {
      const f = fixture('amplitude', 'lookup-user-search-found.json');
      const ref = { project: 'default', day: '2026-03-12', id: 'renamed', idType: 'user_id', amplitudeIds: [12345] };
      const { result } = await withAnswers([f.response], () => amplitude().verify!(op('renamed', ref)));
      assert.equal(result.found, true);
    });

    it('lookup-profile-invalid-key.json (401) is a rejected credential, not "verified"', async () => {
      const f = fixture('amplitude', 'lookup-profile-invalid-key.json');
      await withAnswers([f.response], () => assert.rejects(amplitude().verify!(op('u')), VendorAuthError));
    });

    it('an answer without `matches` is a contract violation, never "nothing found"', async () => {
      await withAnswers([{ status: 200, headers: {}, body: { type: 'nomatch' } }], () => assert.rejects(amplitude().verify!(op('u')), VendorContractError));
    });

    it('is off unless VENDOR_AMPLITUDE_VERIFY is true', () => {
      assert.equal(amplitude({ verify: 'false' }).verify, undefined);
      assert.equal(createAmplitudeVendor(VENDOR_SETTINGS.amplitude.parse({ apiKey: 'k', secretKey: 's' }), {}, clock).verify, undefined);
    });
  });

  describe('Mixpanel Engage query', () => {
    it('lookup-engage-found.json: the documented profile of the customer is a failed verification; the evidence names its properties, not their values', async () => {
      const f = fixture('mixpanel', 'lookup-engage-found.json');
      const id = new URLSearchParams(f.request.body as string).get('distinct_id')!;
      const { result, seen } = await withAnswers([f.response], () => mixpanel().verify!(op(id)));
      assertDocumentedRequest(seen[0]!, f);
      assert.equal(seen[0]!.text, f.request.body, 'form-encoded distinct_id as documented');
      assert.equal(seen[0]!.headers['content-type'], f.request.headers!['Content-Type']);
      assert.equal(seen[0]!.headers['authorization'], `Basic ${Buffer.from('sa:secret').toString('base64')}`);
      assert.equal(result.found, true);
      const evidence = JSON.stringify(result.evidence);
      assert.match(evidence, /\$email/);
      assert.doesNotMatch(evidence, /example@mixpanel\.com/);
    });

    it('no profile (the documented answer emptied: results [], total 0; Mixpanel documents no "not found") is verified', async () => {
      const f = fixture('mixpanel', 'lookup-engage-found.json');
      const empty = { ...bodyOf<Record<string, unknown>>(f), results: [], total: 0 };
      const { result } = await withAnswers([{ ...f.response, body: empty }], () => mixpanel().verify!(op('4')));
      assert.deepEqual(result, { found: false, evidence: { lookup: 'engage', status: 'ok', total: 0 } });
    });

    it('is off unless the project id and the service account are all configured', () => {
      const withoutSecret = VENDOR_SETTINGS.mixpanel.parse({ token: 't', projectToken: 'p', projectId: '12345', lookupServiceAccount: 'sa' });
      assert.equal(createMixpanelVendor(withoutSecret, {}).verify, undefined);
      assert.equal(createMixpanelVendor(VENDOR_SETTINGS.mixpanel.parse({ token: 't', projectToken: 'p' }), {}).verify, undefined);
    });
  });
});
