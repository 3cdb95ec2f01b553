import assert from 'node:assert/strict';
import { createFakeClock, DAY, MINUTE } from '../../../functions/clock.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';
import { pollerConfig, scriptedVendor, seedDeletions } from './fixtures.js';

describe('deadline at risk: the expected completion against the deadline (real PostgreSQL, injected clock)', () => {
  const db = useTestDatabase('deadline_risk');
  const T0 = new Date('2026-03-02T00:00:00Z');

  beforeEach(async () => {
    await db().pool.query('truncate deletion_alert, vendor_incident, vendor_pause, poller_schedule');
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null");
  });

  function setup(expected: () => Date | undefined) {
    const clock = createFakeClock(T0);
    const publisher = createMemoryPublisher();
    const vendor = scriptedVendor('http', () => {
      const at = expected();
      return { state: 'in_progress', rawStatus: 'in_progress', payload: {}, ...(at ? { expectedCompletionAt: at, expectedCompletionSource: 'expected_completion_time' } : {}) };
    });
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, clock, config: pollerConfig() });
    const alerts = async (kind: string) => (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === kind);
    return { clock, cycle, alerts };
  }

  it("raises deadline_at_risk in the cycle that first sees a vendor date past the deadline, naming the date and its source, off the scan's schedule", async () => {
    let vendorDate: Date | undefined;
    const t = setup(() => vendorDate);
    const deadline = new Date(T0.getTime() + 30 * DAY);
    const [id] = await seedDeletions(db().pool, [
      { customerId: 'cust-risk', vendor: 'http', operationId: 'op-risk', revokedAt: T0, nextCheckAt: T0, deadlineAt: deadline, rawStatus: 'pending' },
    ]);
    // The first cycle runs the scheduled scan (nothing at risk: http is expected in 3 days) and sets its next run 15 minutes on.
    await t.cycle.run({});
    assert.equal((await t.alerts('deadline_at_risk')).length, 0);

    // One minute later the vendor says it expects to finish two days after the deadline.
    vendorDate = new Date(deadline.getTime() + 2 * DAY);
    await db().pool.query('update vendor_deletion set next_check_at = $1 where id = $2', [T0, id]);
    t.clock.set(new Date(T0.getTime() + MINUTE));
    const report = await t.cycle.run({});
    assert.equal(report.alerts?.scanned, true, 'scanned at once, though the scheduled scan was not due');
    const [alert] = (await t.alerts('deadline_at_risk'));
    assert.ok(alert, 'deadline_at_risk raised');
    assert.deepEqual(alert.items.map((i) => i.deletionId), [id]);
    const detail = alert.items[0]!.detail ?? '';
    assert.match(detail, /expected 2026-04-03T00:00Z from http's own date \(expected_completion_time\)/);
    assert.match(detail, /deadline 2026-04-01T00:00Z; slack -2\.0 days/);
    const stored = await db().pool.query('select expected_by, expected_source from vendor_deletion where id = $1', [id]);
    assert.deepEqual(stored.rows[0], { expected_by: vendorDate, expected_source: 'expected_completion_time' });
  });

  it('is not raised while the vendor date leaves more than the margin, and resolves when the vendor brings its date forward', async () => {
    const deadline = new Date(T0.getTime() + 30 * DAY);
    let vendorDate = new Date(deadline.getTime() - 4 * DAY);
    const t = setup(() => vendorDate);
    const [id] = await seedDeletions(db().pool, [
      { customerId: 'cust-slack', vendor: 'http', operationId: 'op-slack', revokedAt: T0, nextCheckAt: T0, deadlineAt: deadline, rawStatus: 'pending' },
    ]);
    await t.cycle.run({});
    assert.equal((await t.alerts('deadline_at_risk')).length, 0, '4 days of slack is outside the 3-day margin');

    vendorDate = new Date(deadline.getTime() - 2 * DAY);
    await db().pool.query('update vendor_deletion set next_check_at = $1 where id = $2', [T0, id]);
    t.clock.set(new Date(T0.getTime() + MINUTE));
    await t.cycle.run({});
    assert.equal((await t.alerts('deadline_at_risk')).length, 1, '2 days of slack is inside the margin');

    vendorDate = new Date(deadline.getTime() - 10 * DAY);
    await db().pool.query('update vendor_deletion set next_check_at = $1 where id = $2', [t.clock.now(), id]);
    t.clock.set(new Date(T0.getTime() + 2 * MINUTE));
    await t.cycle.run({});
    const open = await db().pool.query("select resolved_at from deletion_alert where vendor_deletion_id = $1 and kind = 'deadline_at_risk'", [id]);
    assert.ok(open.rows[0].resolved_at, 'resolved once the vendor date leaves enough slack');
  });

  it("without a vendor date, forecasts from the vendor's documented figure (Segment: 30 days) and says so", async () => {
    const clock = createFakeClock(T0);
    const publisher = createMemoryPublisher();
    const vendor = scriptedVendor('segment', () => ({ state: 'in_progress', rawStatus: 'RUNNING', payload: {} }));
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, clock, config: pollerConfig() });
    await seedDeletions(db().pool, [
      // 20 days of deadline left: 30 days from submission is 10 days late.
      { customerId: 'cust-doc', vendor: 'segment', operationId: 'reg-1', revokedAt: T0, nextCheckAt: T0, deadlineAt: new Date(T0.getTime() + 20 * DAY), rawStatus: 'RUNNING' },
    ]);
    await cycle.run({});
    const risk = (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === 'deadline_at_risk');
    assert.equal(risk.length, 1);
    assert.match(risk[0]!.items[0]!.detail ?? '', /from segment's documented 30-day SLA/);
    assert.match(risk[0]!.items[0]!.detail ?? '', /slack -10\.0 days/);
  });
});
