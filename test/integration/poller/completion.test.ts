import assert from 'node:assert/strict';
import { createFakeClock } from '../../../functions/clock.js';
import { useTestDatabase } from '../../helpers/db.js';
import { capturingLogger, pollerConfig, seedDeletions } from './fixtures.js';
import { fakeVendor } from '../../helpers/fakeVendor.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

describe('completion and verification (real PostgreSQL)', () => {
  const db = useTestDatabase('poller_completion');
  const T0 = new Date('2026-03-02T00:00:00Z');

  it('records completion, then verification where the adapter offers it: nothing found is verified, data found is verification_failed with the answer as evidence; a broken lookup leaves completion standing', async () => {
    const clock = createFakeClock(T0);
    const { log, lines } = capturingLogger();
    const vendor = fakeVendor('http', {
      check: () => ({ state: 'completed', rawStatus: 'done', payload: { evidence: 'vendor receipt' } }),
      async verify(op) {
        if (op.customerId === 'v-broken') throw new Error('verification endpoint down');
        return op.customerId === 'v-ok' ? { found: false, evidence: { matches: [] } } : { found: true, evidence: { matches: [{ amplitude_id: 7 }] }, summary: 'the profile still exists' };
      },
    });
    const [ok, no, broken] = await seedDeletions(
      db().pool,
      ['v-ok', 'v-no', 'v-broken'].map((c) => ({ customerId: c, vendor: 'http', operationId: `op-${c}`, revokedAt: T0, nextCheckAt: T0 })),
    );
    const report = await buildPollCycle({ pool: db().pool, vendors: [vendor], log, clock, config: pollerConfig() }).run({});
    assert.equal(report.completed, 3);
    assert.equal(report.verified, 1);
    const rows = await db().pool.query(
      'select deletion_id::text as id, completed_at, verified_at from completed_deletion where deletion_id = any($1::bigint[]) order by deletion_id',
      [[ok, no, broken]],
    );
    assert.deepEqual(
      rows.rows.map((r) => [r.id, r.completed_at?.getTime(), r.verified_at?.getTime() ?? null]),
      [
        [ok, T0.getTime(), T0.getTime()],
        [no, T0.getTime(), null],
        [broken, T0.getTime(), null],
      ],
    );
    const payload = await db().pool.query('select status_payload from vendor_deletion where id = $1', [ok]);
    assert.deepEqual(payload.rows[0].status_payload, { evidence: 'vendor receipt' });
    const events = await db().pool.query("select kind, detail from deletion_event where vendor_deletion_id = $1 order by id", [ok]);
    assert.deepEqual(events.rows.map((e) => e.kind), ['status_seen', 'completed', 'verified']);
    assert.deepEqual(events.rows[2].detail.evidence, { matches: [] });
    const failed = await db().pool.query("select kind, detail from deletion_event where vendor_deletion_id = $1 and kind <> 'alert_raised' order by id", [no]);
    assert.deepEqual(failed.rows.map((e) => e.kind), ['status_seen', 'completed', 'verification_failed']);
    assert.deepEqual(failed.rows[2].detail.evidence, { matches: [{ amplitude_id: 7 }] });
    const stored = await db().pool.query('select verification_failed_at, verification_evidence from vendor_deletion where id = $1', [no]);
    assert.deepEqual(stored.rows[0], { verification_failed_at: T0, verification_evidence: { summary: 'the profile still exists', answer: { matches: [{ amplitude_id: 7 }] } } });
    assert.equal(report.verificationFailed, 1);
    const alerts = await db().pool.query("select kind, detail from deletion_alert where vendor_deletion_id = $1", [no]);
    assert.deepEqual(alerts.rows, [{ kind: 'verification_failed', detail: 'the profile still exists' }], 'raised in the same cycle');
    assert.ok(lines.some((l) => l['event'] === 'verify_failed' && l['severity'] === 'WARNING'));
  });
});
