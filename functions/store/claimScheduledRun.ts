import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// As claimAlertScan: the first poller to move due_at forward gets the run; a stored time further ahead than one
// interval (a clock set back, a shorter interval configured) counts as due.
const SQL = `
insert into poller_schedule as s (name, due_at, updated_at)
values ($3::text, $1::timestamptz + $2::bigint * interval '1 millisecond', $1::timestamptz)
on conflict (name) do update
   set due_at = excluded.due_at, updated_at = excluded.updated_at
 where s.due_at <= $1::timestamptz or s.due_at > excluded.due_at
returning true as claimed`;

/** Claims the named scheduled job when it is due (then due again `intervalMs` after `now`); false when it is not due. */
export async function claimScheduledRun(db: Queryable, args: { name: string; now: Date; intervalMs: number }): Promise<boolean> {
  try {
    const result = await db.query<{ claimed: boolean }>(SQL, [args.now, Math.max(0, Math.round(args.intervalMs)), args.name]);
    return result.rows[0]?.claimed === true;
  } catch (err) {
    throw mapDatabaseError(err, `claiming the scheduled run ${args.name}`);
  }
}
