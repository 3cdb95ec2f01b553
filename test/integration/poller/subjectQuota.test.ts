import assert from 'node:assert/strict';
import { createFakeClock, HOUR } from '../../../functions/clock.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { silentLogger } from '../../../functions/log.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createSegmentVendor, SEGMENT_POLICY_DEFAULTS } from '../../../functions/vendors/segment/segmentVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

/**
 * Segment's monthly regulation quota (110,000 users per calendar month; configurable) as a budget counted from
 * our own record of submissions: an alert when the alert share is reached, the rest of the batch waiting (not
 * failing) until the month turns, and the alerts saying when it resets. Real PostgreSQL, the Segment sandbox.
 */
describe('a vendor\'s monthly subject quota (Segment; real PostgreSQL, sandbox)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('subject_quota');
  const clock = createFakeClock('2026-03-30T20:00:00Z');
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { segment: { credential: 'seg-token', lifecycle: { inProgressAfterMs: HOUR, completeAfterMs: 2 * HOUR } } } });
  });
  after(async () => {
    await sandbox?.stop();
  });

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];

  it('is 110,000 subjects a month for Segment, alerting at 80 %', () => {
    assert.equal(SEGMENT_POLICY_DEFAULTS.monthlySubjectQuota, 110_000);
    assert.equal(SEGMENT_POLICY_DEFAULTS.quotaAlertShare, 0.8);
  });

  it('sends what the month allows, alerts before and when it is spent, holds the rest until the next month, then sends it', async () => {
    // A quota of 10, batches of 4, as an operator sets VENDOR_SEGMENT_MONTHLY_SUBJECT_QUOTA / _MAX_BATCH_SIZE.
    const vendor = createSegmentVendor(VENDOR_SETTINGS.segment.parse({ baseUrl: `${sandbox.url}/segment`, token: 'seg-token' }), {
      maxBatchSize: 4,
      monthlySubjectQuota: 10,
      quotaAlertShare: 0.8,
      timeoutMs: 5_000,
    }, clock);
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock,
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [vendor],
    });
    // Submissions of another vendor and of last month do not count against this month's quota.
    await q(`insert into deletion_event (vendor, kind, detail, occurred_at) values ('mixpanel', 'submitted', '{}', $1), ('segment', 'submitted', '{}', '2026-02-27T00:00:00Z')`, [clock.now()]);
    for (let i = 0; i < 13; i++) {
      await recorder.recordRevocation({ customerId: `quota-${i}`, revokedAt: new Date(clock.now().getTime() - i).toISOString(), source: 'test', sourceEventId: `ev-${i}` });
    }
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], clock, publisher, submit: true, sleep: async (ms) => clock.advance(ms) });
    const alerts = () => publishedAlerts(publisher, db().pool);

    await cycle.run({});
    const sent = sandbox.control.calls('segment').filter((c) => c.method === 'POST').map((c) => (c.body as { subjectIds: string[] }).subjectIds.length);
    assert.equal(sent.reduce((a, b) => a + b, 0), 10, 'ten subjects sent: the month\'s quota');
    assert.deepEqual(sent.sort(), [2, 4, 4], 'the third batch cut to what was left');
    const byState = await q<{ state: string; n: number }>('select state, count(*)::int as n from vendor_deletion group by state order by state');
    assert.deepEqual(byState, [{ state: 'queued', n: 3 }, { state: 'submitted', n: 10 }]);
    const waiting = await q<{ next_check_at: Date; last_error: string; last_error_kind: string; submit_attempts: number }>(
      "select next_check_at, last_error, last_error_kind, submit_attempts from vendor_deletion where state = 'queued'",
    );
    for (const w of waiting) {
      assert.equal(w.next_check_at.toISOString(), '2026-04-01T00:00:00.000Z', 'due when the quota resets');
      assert.equal(w.last_error_kind, 'quota_exhausted');
      assert.equal(w.submit_attempts, 0, 'waiting is not a failed attempt');
      assert.equal(w.last_error, 'segment: 10 of 10 subjects sent in 2026-03 (calendar month, UTC); none left: deletions wait, none fails; the quota resets at 2026-04-01T00:00:00.000Z');
    }
    // Segment's documented 30-day SLA puts a GDPR month at risk by itself (deadlineRisk.test.ts): not this test's subject.
    const raised = (await alerts()).filter((a) => a.kind !== 'deadline_at_risk');
    assert.deepEqual(raised.map((a) => [a.kind, a.vendor]).sort(), [['quota_exhausted', 'segment'], ['quota_low', 'segment']]);
    for (const a of raised) assert.match(a.detail ?? '', /the quota resets at 2026-04-01T00:00:00\.000Z/);

    // Later that day: the submitted deletions are checked (a good answer does not end the quota incidents), the
    // waiting ones stay, and the alerts are not raised again.
    clock.advance(HOUR);
    await cycle.run({});
    assert.equal((await alerts()).filter((a) => a.kind !== 'deadline_at_risk').length, 2, 'raised once per incident');
    assert.deepEqual(
      (await q<{ kind: string }>('select kind from vendor_incident where closed_at is null order by kind')).map((r) => r.kind),
      ['quota_exhausted', 'quota_low'],
    );
    assert.equal((await q<{ n: number }>("select count(*)::int as n from vendor_deletion where state = 'queued'"))[0]!.n, 3);

    // The month turns: the waiting deletions go, and the incidents end.
    clock.set('2026-04-01T00:10:00Z');
    await cycle.run({});
    assert.equal((await q<{ n: number }>("select count(*)::int as n from vendor_deletion where state = 'queued'"))[0]!.n, 0);
    assert.equal(sandbox.control.calls('segment').filter((c) => c.method === 'POST').length, 4);
    assert.deepEqual(await q('select kind from vendor_incident where closed_at is null'), []);
    const april = await q<{ last_error: string | null }>("select last_error from vendor_deletion where customer_id in (select customer_id from vendor_deletion where submitted_at >= '2026-04-01')");
    assert.ok(april.length === 3 && april.every((r) => r.last_error === null), 'the waiting reason is cleared once sent');
  });
});
