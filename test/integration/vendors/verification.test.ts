import assert from 'node:assert/strict';
import { createFakeClock, DAY } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createAmplitudeVendor } from '../../../functions/vendors/amplitude/amplitudeVendor.js';
import { createMixpanelVendor } from '../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

describe('verification after completion: the Amplitude and Mixpanel sandboxes play the documented lookups (real PostgreSQL)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('verification');
  const clock = createFakeClock('2026-03-02T09:00:00Z');
  let sandbox: RunningSandbox;
  const lifecycle = { inProgressAfterMs: DAY, completeAfterMs: 2 * DAY };

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: {
        amplitude: { credential: 'ak:as', lifecycle, options: { retainedUserIds: ['amp-kept'] } },
        mixpanel: { credential: 'mp-oauth', lifecycle, options: { lookupCredential: 'sa:sa-secret', retainedDistinctIds: ['mp-kept'] } },
      },
    });
  });
  after(async () => {
    await sandbox.stop();
  });

  it('nothing found is verified; data found is verification_failed with the answer as evidence and an alert in the same cycle', async () => {
    const amplitude = createAmplitudeVendor(VENDOR_SETTINGS.amplitude.parse({ baseUrl: `${sandbox.url}/amplitude`, apiKey: 'ak', secretKey: 'as', verify: 'true' }), { timeoutMs: 2_000 }, clock);
    const mixpanel = createMixpanelVendor(
      VENDOR_SETTINGS.mixpanel.parse({ baseUrl: `${sandbox.url}/mixpanel`, token: 'mp-oauth', projectToken: 'pt', projectId: '12345', lookupServiceAccount: 'sa', lookupSecret: 'sa-secret' }),
      { timeoutMs: 2_000 },
    );
    const vendors = [amplitude, mixpanel];
    const log = silentLogger();
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors, publisher, clock, submit: true, sleep: async (ms) => clock.advance(ms) });
    const recorder = createRevocationRecorder({ pool: db().pool, log, clock, config: { consentField: 'analyticsConsent', customersCollection: 'customers' }, vendors });
    for (const id of ['amp-gone', 'amp-kept', 'mp-gone', 'mp-kept']) {
      await recorder.recordRevocation({ customerId: id, revokedAt: clock.now().toISOString(), source: 'test', sourceEventId: `ev-${id}` });
    }
    const submitted = await cycle.run({});
    assert.equal(submitted.submitted, 8);

    // Past Amplitude's job day + 5 days and Mixpanel's lifecycle: every deletion reports done at its next check.
    clock.advance(20 * DAY);
    await db().pool.query('update vendor_deletion set next_check_at = $1', [clock.now()]);
    const report = await cycle.run({});
    assert.equal(report.completed, 8);
    assert.equal(report.verified, 6);
    assert.equal(report.verificationFailed, 2);

    const rows = await db().pool.query(
      `select customer_id, vendor, state, verified_at is not null as verified, verification_failed_at is not null as failed, verification_evidence
         from vendor_deletion where (vendor = 'amplitude' and customer_id like 'amp-%') or (vendor = 'mixpanel' and customer_id like 'mp-%')
        order by customer_id`,
    );
    assert.deepEqual(
      rows.rows.map((r) => [r.customer_id, r.vendor, r.state, r.verified, r.failed]),
      [
        ['amp-gone', 'amplitude', 'completed', true, false],
        ['amp-kept', 'amplitude', 'completed', false, true],
        ['mp-gone', 'mixpanel', 'completed', true, false],
        ['mp-kept', 'mixpanel', 'completed', false, true],
      ],
    );
    const ampKept = rows.rows[1]!.verification_evidence;
    assert.match(ampKept.summary, /Amplitude user search still finds the customer/);
    assert.equal(ampKept.answer.type, 'match_user_or_device_id');
    assert.ok(rows.rows[3]!.verification_evidence.answer.profiles[0].properties.includes('$email'));
    assert.doesNotMatch(JSON.stringify(rows.rows.map((r) => r.verification_evidence)), /amp-kept|mp-kept/, 'the evidence never names the customer');

    const calls = (vendor: string, path: string) => sandbox.control.calls(vendor).filter((c) => c.path.startsWith(path)).length;
    assert.equal(calls('amplitude', '/api/2/usersearch'), 4, 'one user search per completed Amplitude deletion');
    assert.equal(calls('mixpanel', '/api/query/engage'), 4, 'one Engage query per completed Mixpanel deletion');

    const alerts = (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === 'verification_failed');
    assert.deepEqual(alerts.map((a) => [a.vendor, a.items.map((i) => i.customerId)]).sort(), [['amplitude', ['amp-kept']], ['mixpanel', ['mp-kept']]]);
    const events = await db().pool.query("select customer_id, vendor, detail from deletion_event where kind = 'verification_failed' order by customer_id");
    assert.deepEqual(events.rows.map((e) => [e.customer_id, e.vendor]), [['amp-kept', 'amplitude'], ['mp-kept', 'mixpanel']]);
  });
});
