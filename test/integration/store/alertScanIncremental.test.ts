import assert from 'node:assert/strict';
import { DAY, HOUR } from '../../../functions/clock.js';
import { evaluateDeletionAlerts } from '../../../functions/store/evaluateDeletionAlerts.js';
import { useTestDatabase } from '../../helpers/db.js';
import { seedDeletions } from '../poller/fixtures.js';

/**
 * The alert scan reads only what changed (sql/000021_alert_scan_incremental.sql), on real PostgreSQL: rows whose
 * next threshold has passed or that a write asked to be looked at, and those with an open alert; and it opens
 * and resolves exactly what a scan of every row would.
 */
describe('alert scan: only the deletions whose time has come', function () {
  this.timeout(60_000);
  const db = useTestDatabase('alert_scan_incremental');
  const T0 = new Date('2026-03-02T00:00:00Z');
  const policies = [{ vendor: 'http', expectedDurationMs: 3 * DAY, noProgressMs: 3 * DAY }];
  const scan = (now: Date, p = policies) => evaluateDeletionAlerts(db().pool, { now, policies: p, deadlineWarningMs: 7 * DAY });
  const at = (ms: number) => new Date(T0.getTime() + ms);
  const openAlerts = async () =>
    (await db().pool.query<{ kind: string; n: number }>("select kind, count(*)::int as n from deletion_alert where resolved_at is null group by 1 order by 1")).rows;

  let ids: string[] = [];
  beforeEach(async () => {
    await db().pool.query('truncate deletion_alert, alert_scan_policy');
    await db().pool.query("update vendor_deletion set state = 'cancelled'");
    ids = await seedDeletions(
      db().pool,
      Array.from({ length: 200 }, (_, i) => ({ customerId: `scan-${i}-${Math.random()}`, vendor: 'http', revokedAt: T0, nextCheckAt: at(HOUR) })),
    );
  });

  it('after one scan, a scan with nothing changed and no threshold reached reads nothing', async () => {
    const first = await scan(at(HOUR));
    assert.ok(first.candidates >= 200);
    const again = await scan(at(2 * HOUR));
    assert.equal(again.candidates, 0);
    assert.deepEqual(await openAlerts(), []);
  });

  it('a status change makes that one deletion a candidate; a failure opens its alert at the next scan', async () => {
    await scan(at(HOUR));
    await db().pool.query("update vendor_deletion set state = 'failed', status_changed_at = $2 where id = $1::bigint", [ids[7], at(2 * HOUR)]);
    const r = await scan(at(2 * HOUR));
    assert.equal(r.candidates, 1);
    assert.equal(r.opened, 1);
    assert.deepEqual(await openAlerts(), [{ kind: 'failed', n: 1 }]);
    // The open alert keeps it a candidate until its condition ends: completion resolves it.
    await db().pool.query("update vendor_deletion set state = 'completed' where id = $1::bigint", [ids[7]]);
    const done = await scan(at(3 * HOUR));
    assert.equal(done.resolved, 1);
    assert.deepEqual(await openAlerts(), []);
    assert.equal((await scan(at(4 * HOUR))).candidates, 0);
  });

  it('a threshold reached with no write (stale after 3 days, the deadline warning) is found by its stored time', async () => {
    await scan(at(HOUR));
    const stale = await scan(at(3 * DAY + HOUR));
    assert.equal(stale.candidates, 200);
    assert.deepEqual(await openAlerts(), [{ kind: 'stale', n: 200 }]);
    assert.equal((await scan(at(3 * DAY + 2 * HOUR))).opened, 0);
    // The deadline warning begins 7 days before the 30-day deadline.
    await scan(at(23 * DAY + HOUR));
    assert.deepEqual(await openAlerts(), [{ kind: 'deadline_warning', n: 200 }, { kind: 'stale', n: 200 }]);
  });

  it("moving a request's deadline (an extension) makes its deletions candidates again", async () => {
    await scan(at(HOUR));
    await scan(at(23 * DAY + HOUR));
    assert.equal((await openAlerts()).find((a) => a.kind === 'deadline_warning')?.n, 200);
    await db().pool.query(
      'update deletion_request r set deadline_at = deadline_at + interval \'60 days\' from vendor_deletion d where d.request_id = r.id and d.id = $1::bigint',
      [ids[0]],
    );
    const r = await scan(at(23 * DAY + 2 * HOUR));
    assert.equal(r.resolved, 1);
    assert.equal((await openAlerts()).find((a) => a.kind === 'deadline_warning')?.n, 199);
  });

  it('a changed policy has every unfinished deletion looked at again once', async () => {
    await scan(at(HOUR));
    assert.equal((await scan(at(2 * HOUR))).candidates, 0);
    const shorter = [{ vendor: 'http', expectedDurationMs: HOUR, noProgressMs: HOUR }];
    const r = await scan(at(2 * HOUR), shorter);
    assert.equal(r.candidates, 200);
    assert.deepEqual(await openAlerts(), [{ kind: 'stale', n: 200 }]);
  });

  it('a deletion locked by a writer is skipped, not waited for, and looked at by the next scan', async () => {
    await scan(at(HOUR));
    await db().pool.query("update vendor_deletion set status_changed_at = $2 where id = $1::bigint", [ids[3], at(HOUR)]);
    const writer = await db().pool.connect();
    try {
      await writer.query('begin');
      await writer.query('select 1 from vendor_deletion where id = $1::bigint for update', [ids[3]]);
      const r = await scan(at(2 * HOUR));
      assert.equal(r.candidates, 1);
      const row = await db().pool.query<{ due: boolean }>("select alert_check_at = '-infinity' as due from vendor_deletion where id = $1::bigint", [ids[3]]);
      assert.equal(row.rows[0]!.due, true, 'still due for the next scan');
      await writer.query('commit');
    } finally {
      writer.release();
    }
    assert.equal((await scan(at(3 * HOUR))).candidates, 1);
    assert.equal((await scan(at(4 * HOUR))).candidates, 0);
  });

  it('many due rows at once (after the migration or a policy change) go in passes of bounded size, each committed', async () => {
    const r = await evaluateDeletionAlerts(db().pool, { now: at(HOUR), policies, deadlineWarningMs: 7 * DAY, passRows: 64 });
    assert.ok(r.passes >= Math.ceil(200 / 64), `${r.passes} passes`);
    const left = await db().pool.query<{ n: number }>("select count(*)::int as n from vendor_deletion where alert_check_at <= $1", [at(HOUR)]);
    assert.equal(left.rows[0]!.n, 0);
    assert.equal((await scan(at(2 * HOUR))).candidates, 0);
  });
});
