import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// One statement claims the run: the first poller to move due_at forward gets it, concurrent ones see no
// row. A stored time further ahead than one interval (a clock set back, a shorter interval configured)
// counts as due, so the scan can never be postponed indefinitely.
const SQL = `
insert into poller_schedule as s (name, due_at, updated_at)
values ('alert_scan', $1::timestamptz + $2::bigint * interval '1 millisecond', $1::timestamptz)
on conflict (name) do update
   set due_at = excluded.due_at, updated_at = excluded.updated_at
 where s.due_at <= $1::timestamptz or s.due_at > excluded.due_at
returning true as claimed`;

/** Claims the alert scan when it is due (then due again `intervalMs` after `now`); false when it is not due. */
export async function claimAlertScan(db: Queryable, args: { now: Date; intervalMs: number }): Promise<boolean> {
  try {
    const result = await db.query<{ claimed: boolean }>(SQL, [args.now, Math.max(0, Math.round(args.intervalMs))]);
    return result.rows[0]?.claimed === true;
  } catch (err) {
    throw mapDatabaseError(err, 'claiming the alert scan');
  }
}

// Claims the scan off schedule when a vendor's date changed after the last scan began (the partial index on
// expected_changed_at makes the test one index probe). Concurrent pollers: the first moves updated_at
// forward, the others then find no change after it.
const CHANGED_SQL = `
update poller_schedule s
   set due_at = $1::timestamptz + $2::bigint * interval '1 millisecond', updated_at = $1::timestamptz
 where s.name = 'alert_scan'
   and exists (select 1 from vendor_deletion d where d.expected_changed_at > s.updated_at)
returning true as claimed`;

/** Claims the alert scan now when a vendor's expected completion changed since the last scan; false otherwise. */
export async function claimAlertScanForVendorDates(db: Queryable, args: { now: Date; intervalMs: number }): Promise<boolean> {
  try {
    const result = await db.query<{ claimed: boolean }>(CHANGED_SQL, [args.now, Math.max(0, Math.round(args.intervalMs))]);
    return result.rows[0]?.claimed === true;
  } catch (err) {
    throw mapDatabaseError(err, 'claiming the alert scan for changed vendor dates');
  }
}
