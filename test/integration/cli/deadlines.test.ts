import assert from 'node:assert/strict';
import { createFakeClock, DAY } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { HTTP_POLICY_DEFAULTS } from '../../../functions/vendors/http/httpVendor.js';
import { useTestDatabase } from '../../helpers/db.js';
import { cli } from './helpers.js';

describe('deadlines by regime and extensions as recorded acts (real PostgreSQL, CLI in-process)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('cli_deadlines');
  const env = () => ({ DATABASE_URL: db().url, VENDORS: 'http', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http' });

  async function revoke(customerId: string, revokedAt: string, regime: 'gdpr' | 'ccpa') {
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock: createFakeClock(revokedAt),
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [{ name: 'http', policy: HTTP_POLICY_DEFAULTS }],
    });
    const result = await recorder.recordRevocation({
      customerId,
      revokedAt,
      source: 'test',
      sourceEventId: `ev-${customerId}`,
      regime: { regime, source: 'document' },
    });
    return result.deadlineAt!;
  }

  it('stores the regime’s own deadline: one calendar month under GDPR (31 January → end of 2 March in Helsinki), 45 days counting receipt under the CCPA', async () => {
    // Received 31 January (Helsinki): one month is 28 February, a Saturday in 2026, so it rolls to Monday 2 March.
    const gdpr = await revoke('c-gdpr', '2026-01-31T10:00:00Z', 'gdpr');
    assert.equal(gdpr.toISOString(), '2026-03-02T22:00:00.000Z');
    // Received 1 March (Los Angeles): day 1 is 1 March, day 45 is 14 April; it ends at local midnight (PDT).
    const ccpa = await revoke('c-ccpa', '2026-03-01T20:00:00Z', 'ccpa');
    assert.equal(ccpa.toISOString(), '2026-04-15T07:00:00.000Z');
    const stored = await db().pool.query("select customer_id, deadline_at, initial_deadline_at from deletion_request where customer_id in ('c-gdpr', 'c-ccpa') order by customer_id");
    for (const r of stored.rows) assert.deepEqual(r.deadline_at, r.initial_deadline_at);
    const revoked = await db().pool.query("select detail from deletion_event where customer_id = 'c-gdpr' and kind = 'revoked'");
    assert.match(revoked.rows[0].detail.deadline.source, /GDPR Art\. 12\(3\)/);
    assert.equal(revoked.rows[0].detail.deadline.lastDay, '2026-03-02');
  });

  it('extend moves the deadline by the regime’s rule inside the notice window, records who, when and why, and refuses a second time', async () => {
    const initial = await revoke('c-ext', '2026-05-04T09:00:00Z', 'gdpr');
    const clock = createFakeClock('2026-05-20T12:00:00Z');
    const run = await cli(['extend', 'c-ext', '--reason', 'the vendor needs longer for a large account', '--by', 'dpo@example.com', '--json'], env(), '/', clock);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.outcome, 'extended');
    assert.equal(out.initialDeadlineAt, initial.toISOString());
    // Three months from receipt: 4 August, end of day in Helsinki (EEST).
    assert.equal(out.deadlineAt, '2026-08-04T21:00:00.000Z');
    assert.match(out.source, /GDPR Art\. 12\(3\)/);

    const event = await db().pool.query("select detail, occurred_at from deletion_event where customer_id = 'c-ext' and kind = 'deadline_extended'");
    assert.equal(event.rows.length, 1);
    assert.deepEqual(
      { by: event.rows[0].detail.by, reason: event.rows[0].detail.reason, previous: event.rows[0].detail.previousDeadlineAt, at: event.rows[0].occurred_at.toISOString() },
      { by: 'dpo@example.com', reason: 'the vendor needs longer for a large account', previous: initial.toISOString(), at: '2026-05-20T12:00:00.000Z' },
    );

    const again = await cli(['extend', 'c-ext', '--reason', 'more time', '--by', 'dpo@example.com'], env(), '/', clock);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /extension refused: .*already extended; it may be extended only once/);

    const report = await cli(['report', '--since', '2026-05-01', '--format', 'json'], env(), '/', clock);
    assert.equal(report.code, 0, report.stderr);
    const [entry] = JSON.parse(report.stdout);
    assert.equal(entry.initialDeadlineAt, initial.toISOString());
    assert.equal(entry.deadlineAt, '2026-08-04T21:00:00.000Z');
    assert.deepEqual(entry.extension, { at: '2026-05-20T12:00:00.000Z', by: 'dpo@example.com', reason: 'the vendor needs longer for a large account' });
  });

  it('refuses an extension after the notice window, saying until when notice had to be given, and changes nothing', async () => {
    const initial = await revoke('c-late', '2026-01-05T09:00:00Z', 'ccpa');
    const clock = createFakeClock(new Date(initial.getTime() + DAY));
    const run = await cli(['extend', 'c-late', '--reason', 'too late', '--by', 'ops'], env(), '/', clock);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /extension refused: notice of an extension had to be given by the end of 2026-02-18 \(America\/Los_Angeles\)/);
    assert.match(run.stderr, /1798\.130/);
    const stored = await db().pool.query("select deadline_at, extended_at from deletion_request where customer_id = 'c-late'");
    assert.deepEqual(stored.rows[0], { deadline_at: initial, extended_at: null });
    const events = await db().pool.query("select 1 from deletion_event where customer_id = 'c-late' and kind = 'deadline_extended'");
    assert.equal(events.rows.length, 0);
  });

  it('the warning alert follows the extended deadline: a warning open before the extension resolves after it', async () => {
    const initial = await revoke('c-warn', '2026-06-01T09:00:00Z', 'ccpa');
    const { createAlertRaiser } = await import('../../../functions/services/raiseAlerts.js');
    const { createMemoryPublisher } = await import('../../../functions/services/publisher.js');
    const { pollerConfig } = await import('../../helpers/pollCycle.js');
    const clock = createFakeClock(new Date(initial.getTime() - 2 * DAY));
    const raiser = createAlertRaiser({
      pool: db().pool,
      publisher: createMemoryPublisher(),
      log: silentLogger(),
      clock,
      config: pollerConfig(),
      policies: [{ vendor: 'http', expectedDurationMs: 100 * DAY, noProgressMs: 100 * DAY }],
    });
    await raiser.raise({ scanNow: true });
    const open = () => db().pool.query("select a.resolved_at from deletion_alert a join vendor_deletion d on d.id = a.vendor_deletion_id where d.customer_id = 'c-warn' and a.kind = 'deadline_warning'");
    assert.equal((await open()).rows[0].resolved_at, null, 'warned 2 days before the first deadline');
    const run = await cli(['extend', 'c-warn', '--reason', 'complex request', '--by', 'ops'], env(), '/', clock);
    assert.equal(run.code, 0, run.stderr);
    await raiser.raise({ scanNow: true });
    assert.ok((await open()).rows[0].resolved_at, 'resolved: the extended deadline is 45 days further');
  });
});
