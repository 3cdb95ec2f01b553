import assert from 'node:assert/strict';
import { createFakeClock, DAY, HOUR, MINUTE } from '../../../functions/clock.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { AlertMessageSchema } from '../../../functions/alerts/AlertMessage.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { useTestDatabase } from '../../helpers/db.js';
import { pollerConfig, scriptedVendor, seedDeletions } from './fixtures.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

describe('poller alerts (real PostgreSQL, injected clock)', () => {
  const db = useTestDatabase('poller_alerts');
  const T0 = new Date('2026-03-02T00:00:00Z');

  function setup(status: () => 'in_progress' | 'completed', policy = {}) {
    const clock = createFakeClock(T0);
    const publisher = createMemoryPublisher();
    const vendor = scriptedVendor('http', () => ({ state: status(), rawStatus: status(), payload: {} }), policy);
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, clock, config: pollerConfig() });
    const alerts = () => publishedAlerts(publisher, db().pool);
    return { clock, publisher, cycle, alerts, vendor };
  }

  beforeEach(async () => {
    await db().pool.query('truncate deletion_alert, vendor_incident, vendor_pause');
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null");
  });

  it('an operation pending 72 h alerts exactly once, again after the escalation interval, and not after it completes', async () => {
    let status: 'in_progress' | 'completed' = 'in_progress';
    const t = setup(() => status);
    const [id] = await seedDeletions(db().pool, [
      { customerId: 'cust-stale', vendor: 'http', operationId: 'op-stale', revokedAt: T0, nextCheckAt: T0, rawStatus: 'in_progress' },
    ]);

    for (const hours of [1, 24, 71]) {
      t.clock.set(new Date(T0.getTime() + hours * HOUR));
      await t.cycle.run({});
    }
    assert.equal((await t.alerts()).length, 0, 'nothing before 72 h');

    t.clock.set(new Date(T0.getTime() + 72 * HOUR));
    await t.cycle.run({});
    assert.equal((await t.alerts()).length, 1);
    const first = (await t.alerts())[0]!;
    assert.equal(first.kind, 'stale');
    assert.equal(first.vendor, 'http');
    assert.equal(first.escalation, 0);
    assert.deepEqual(
      first.items.map((i) => [i.deletionId, i.customerId, i.operationId]),
      [[id, 'cust-stale', 'op-stale']],
    );

    for (const hours of [73, 80, 95]) {
      t.clock.set(new Date(T0.getTime() + hours * HOUR));
      await t.cycle.run({});
    }
    assert.equal((await t.alerts()).length, 1, 'not repeated on every poll');

    t.clock.set(new Date(T0.getTime() + 96 * HOUR));
    await t.cycle.run({});
    assert.equal((await t.alerts()).length, 2, 'repeated after the escalation interval');
    assert.equal((await t.alerts())[1]!.escalation, 1);
    assert.notEqual((await t.alerts())[1]!.alertId, first.alertId);

    status = 'completed';
    await db().pool.query('update vendor_deletion set next_check_at = $1 where id = $2', [t.clock.now(), id]);
    t.clock.set(new Date(T0.getTime() + 97 * HOUR));
    await t.cycle.run({});
    for (const days of [5, 6, 8]) {
      t.clock.set(new Date(T0.getTime() + days * DAY));
      await t.cycle.run({});
    }
    assert.equal((await t.alerts()).length, 2, 'nothing after completion');
    const row = await db().pool.query('select state, completed_at from vendor_deletion where id = $1', [id]);
    assert.equal(row.rows[0].state, 'completed');
    const raised = await db().pool.query(
      "select detail from deletion_event where vendor_deletion_id = $1 and kind = 'alert_raised' order by id",
      [id],
    );
    assert.deepEqual(raised.rows.map((r) => r.detail.escalation), [0, 1]);
  });

  it('a deadline warning fires once, and one digest lists every affected operation', async () => {
    const t = setup(() => 'in_progress', { expectedDurationMs: 60 * DAY, noProgressMs: 60 * DAY });
    // Not due for a check: alerts come from the record, not from polling.
    const far = new Date(T0.getTime() + 90 * DAY);
    const ids = await seedDeletions(
      db().pool,
      ['d1', 'd2', 'd3'].map((c) => ({ customerId: c, vendor: 'http', operationId: `op-${c}`, revokedAt: T0, nextCheckAt: far })),
    );
    t.clock.set(new Date(T0.getTime() + 22 * DAY));
    await t.cycle.run({});
    // A 60-day expected duration against a 30-day deadline is at risk from the first scan (deadlineRisk.test.ts);
    // the warning itself waits for its window.
    assert.deepEqual((await t.alerts()).map((a) => a.kind), ['deadline_at_risk']);
    const others = async () => (await t.alerts()).filter((a) => a.kind !== 'deadline_at_risk');

    t.clock.set(new Date(T0.getTime() + 23 * DAY + HOUR));
    await t.cycle.run({});
    t.clock.advance(HOUR);
    await t.cycle.run({});
    const warnings = (await t.alerts()).filter((a) => a.kind === 'deadline_warning');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.totalItems, 3);
    assert.deepEqual(warnings[0]!.items.map((i) => i.deletionId).sort(), [...ids].sort());
    assert.equal((await others()).length, 1, 'no other alert kind');
    assert.equal(t.vendor.checked.length, 0, 'nothing was polled');

    t.clock.set(new Date(T0.getTime() + 30 * DAY));
    await t.cycle.run({});
    const missed = (await t.alerts()).filter((a) => a.kind === 'deadline_missed');
    assert.equal(missed.length, 1, 'a missed deadline is its own alert');
  });

  it('scans for alert conditions once per scan interval, not on every tick, and catches up at the next scan', async () => {
    const t = setup(() => 'in_progress');
    // Not due for a check: only the scan can see it go stale (at T0 + 72 h).
    await seedDeletions(db().pool, [
      { customerId: 'cust-sched', vendor: 'http', operationId: 'op-sched', revokedAt: T0, nextCheckAt: new Date(T0.getTime() + 90 * DAY) },
    ]);
    t.clock.set(new Date(T0.getTime() + 72 * HOUR - 5 * MINUTE));
    const first = await t.cycle.run({});
    assert.equal(first.alerts?.scanned, true);
    assert.equal((await t.alerts()).length, 0, 'not stale yet');

    t.clock.advance(6 * MINUTE);
    const between = await t.cycle.run({});
    assert.equal(between.alerts?.scanned, false, 'the scan is not due again within its interval');
    assert.equal(between.alerts?.ran, false);
    assert.equal((await t.alerts()).length, 0, 'stale since a minute, seen at the next scan');

    t.clock.advance(9 * MINUTE);
    const next = await t.cycle.run({});
    assert.equal(next.alerts?.scanned, true);
    assert.deepEqual((await t.alerts()).map((a) => a.kind), ['stale']);

    // A clock set back before the stored schedule does not postpone the scan.
    t.clock.set(new Date(T0.getTime() + 80 * HOUR));
    await t.cycle.run({});
    t.clock.set(new Date(T0.getTime() + 79 * HOUR));
    assert.equal((await t.cycle.run({})).alerts?.scanned, true);
  });

  it('an alert whose publish failed is published again, under the same alertId, by the next alert run', async () => {
    const failing = createMemoryPublisher();
    const clock = createFakeClock(new Date(T0.getTime() + 4 * DAY));
    let fail = true;
    const publisher = {
      ...failing,
      async publish(topic: string, message: unknown, attributes?: Record<string, string>) {
        if (fail) {
          await failing.publish(topic, message, attributes);
          throw new Error('pubsub unavailable');
        }
        return failing.publish(topic, message, attributes);
      },
    };
    const vendor = scriptedVendor('http', () => undefined);
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, clock, config: pollerConfig() });
    await seedDeletions(db().pool, [{ customerId: 'r1', vendor: 'http', operationId: 'op-r1', revokedAt: T0, nextCheckAt: null }]);
    await cycle.run({});
    fail = false;
    clock.advance(HOUR);
    await cycle.run({});
    const sent = failing.messages.filter((m) => m.topic === 'deletion-alerts').map((m) => AlertMessageSchema.parse(m.message));
    assert.equal(sent.length, 2, 'the failed publish stayed pending and was published again');
    assert.equal(sent[0]!.alertId, sent[1]!.alertId);
    const stored = await db().pool.query('select count(*)::int as n, count(published_at)::int as published from alert where id = $1', [sent[0]!.alertId]);
    assert.deepEqual(stored.rows[0], { n: 1, published: 1 }, 'one alert, marked published once its publish succeeded');
    clock.advance(HOUR);
    await cycle.run({});
    assert.equal(failing.messages.filter((m) => m.topic === 'deletion-alerts').length, 2);
  });
});
