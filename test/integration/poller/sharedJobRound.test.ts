import assert from 'node:assert/strict';
import { createFakeClock, HOUR, MINUTE } from '../../../functions/clock.js';
import { createSegmentVendor } from '../../../functions/vendors/segment/segmentVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle, pollerConfig } from '../../helpers/pollCycle.js';
import { seedDeletions } from './fixtures.js';

const TOKEN = 'sgp_sandbox_token_round';

/**
 * A batch vendor's job (a Segment regulation) whose deletions fall into several claims of one cycle is read
 * once in that cycle, not once per claim (real PostgreSQL, the Segment sandbox over HTTP).
 */
describe('poll cycle: a shared job split across claims is read once per cycle', function () {
  this.timeout(60_000);
  const db = useTestDatabase('poller_shared_round');
  const T0 = new Date('2026-03-02T00:00:00Z');
  const clock = createFakeClock(T0);
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { segment: { credential: TOKEN, lifecycle: { inProgressAfterMs: HOUR, completeAfterMs: 24 * HOUR } } } });
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('3 regulations of 10 customers, interleaved over 3 claims of 10: 3 status reads, not 9', async () => {
    const vendor = createSegmentVendor(
      VENDOR_SETTINGS.segment.parse({ baseUrl: `${sandbox.url}/segment`, token: TOKEN }),
      { maxBatchSize: 10, requestsPerSecond: 1000, timeoutMs: 2_000 },
      clock,
    );
    await seedDeletions(
      db().pool,
      Array.from({ length: 30 }, (_, i) => ({ customerId: `round-${i}`, vendor: 'segment', state: 'queued', revokedAt: T0, submittedAt: null, nextCheckAt: T0 })),
    );
    const cycle = () => buildPollCycle({ pool: db().pool, vendors: [vendor], clock, submit: true, config: pollerConfig({ batchSize: 10 }) });
    await cycle().run({});
    const jobs = await db().pool.query<{ op: string; n: number }>(
      "select operation_id as op, count(*)::int as n from vendor_deletion where state = 'submitted' group by 1 order by 1",
    );
    assert.deepEqual(jobs.rows.map((r) => r.n), [10, 10, 10], 'three regulations of ten');
    // Due again in an order that puts every regulation into every claim.
    await db().pool.query(
      `update vendor_deletion d set next_check_at = $1::timestamptz + (r.n % 10) * interval '1 second'
         from (select id, row_number() over (partition by operation_id order by id) as n from vendor_deletion) r
        where r.id = d.id`,
      [new Date(T0.getTime() + 2 * HOUR)],
    );
    clock.set(new Date(T0.getTime() + 2 * HOUR + MINUTE));
    const since = sandbox.control.calls('segment').at(-1)?.seq ?? 0;
    const report = await cycle().run({});
    assert.equal(report.checked, 30);
    const reads = sandbox.control.calls('segment', since).filter((c) => c.method === 'GET');
    assert.equal(reads.length, 3, `status reads: ${reads.map((c) => c.path).join(', ')}`);
    assert.equal(new Set(reads.map((c) => c.path)).size, 3);
    const states = await db().pool.query<{ state: string; n: number }>('select state, count(*)::int as n from vendor_deletion group by 1');
    assert.deepEqual(states.rows, [{ state: 'in_progress', n: 30 }]);
  });
});
