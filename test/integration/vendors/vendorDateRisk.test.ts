import assert from 'node:assert/strict';
import { createFakeClock, DAY, MINUTE } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createSubmitter } from '../../../functions/services/submitDeletions.js';
import { createMParticleVendor } from '../../../functions/vendors/opendsr/mparticleVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

describe("a vendor's own completion date past the deadline (sandbox mParticle, real PostgreSQL)", () => {
  const db = useTestDatabase('vendor_date_risk');
  const clock = createFakeClock('2026-03-02T09:00:00Z');
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: {
        // The processor announces completion 45 days after receipt: past GDPR's one calendar month.
        mparticle: { credential: 'mpk:mps', lifecycle: { inProgressAfterMs: DAY, completeAfterMs: 40 * DAY }, options: { expectedCompletionAfterDays: 45 } },
      },
    });
  });
  after(async () => {
    await sandbox.stop();
  });

  it('raises deadline_at_risk at the next poll tick after the ingest stored the date, naming the date and its field', async () => {
    const vendor = createMParticleVendor(VENDOR_SETTINGS.mparticle.parse({ baseUrl: `${sandbox.url}/mparticle`, apiKey: 'mpk', apiSecret: 'mps' }), { timeoutMs: 2_000 }, clock);
    const log = silentLogger();
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, clock });
    // A scheduled tick before the withdrawal: the scan has run, the next is 15 minutes away.
    await cycle.run({});

    clock.advance(MINUTE);
    const recorder = createRevocationRecorder({ pool: db().pool, log, clock, config: { consentField: 'analyticsConsent', customersCollection: 'customers' }, vendors: [vendor] });
    const recorded = await recorder.recordRevocation({ customerId: 'c-late-vendor', revokedAt: clock.now().toISOString(), source: 'test', sourceEventId: 'ev-1' });
    // As the ingest does for a vendor taking one subject per call: submitted at once.
    const [leased] = recorded.toSubmit;
    await createSubmitter({ pool: db().pool, log, clock }).submit(vendor, [leased!]);
    const stored = await db().pool.query("select expected_by, expected_source from vendor_deletion where customer_id = 'c-late-vendor'");
    assert.equal(stored.rows[0].expected_by.getTime(), clock.now().getTime() + 45 * DAY);
    assert.match(stored.rows[0].expected_source, /^expected_completion_time /);

    clock.advance(MINUTE);
    const report = await cycle.run({});
    assert.equal(report.alerts?.scanned, true, 'scanned at this tick, 13 minutes before the scheduled scan');
    const risk = (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === 'deadline_at_risk');
    assert.equal(risk.length, 1);
    const item = risk[0]!.items[0]!;
    assert.equal(item.customerId, 'c-late-vendor');
    assert.equal(item.deadlineAt, recorded.deadlineAt!.toISOString());
    assert.match(item.detail ?? '', /^expected 2026-04-16T09:01Z from mparticle's own date \(expected_completion_time 2026-04-16T09:01:00\.000Z\)/);

    // The next tick finds no new date: no scan off schedule, no second alert.
    clock.advance(MINUTE);
    const quiet = await cycle.run({});
    assert.equal(quiet.alerts?.scanned ?? false, false);
  });
});
