import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Hands back claimed rows this cycle did not work (time budget, vendor paused), due again at
// next_check_at; the state and history are untouched.
const SQL = `
update vendor_deletion d
   set lease_owner = null,
       lease_expires_at = null,
       next_check_at = case when d.next_check_at is null then null else greatest(d.next_check_at, $3::timestamptz) end,
       updated_at = $1::timestamptz
  from unnest($4::bigint[]) as t(id)
 where d.id = t.id
   and d.lease_owner = $2::text`;

/** Releases claimed rows unworked, due again no earlier than `dueAt`. */
export async function releaseClaims(
  db: Queryable,
  args: { now: Date; owner: string; deletionIds: string[]; dueAt: Date },
): Promise<number> {
  if (args.deletionIds.length === 0) return 0;
  try {
    const result = await db.query(SQL, [args.now, args.owner, args.dueAt, args.deletionIds]);
    return result.rowCount ?? 0;
  } catch (err) {
    throw mapDatabaseError(err, 'releasing claimed deletions');
  }
}
