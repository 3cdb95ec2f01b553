import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// The recorder leases one-per-call vendors' deletions to its caller until the lease runs out; reconcile does not
// submit them itself, so it hands them to the poller due now rather than after the lease.
const SQL = `
update vendor_deletion d
   set lease_owner = null,
       lease_expires_at = null,
       next_check_at = $1::timestamptz,
       updated_at = $1::timestamptz
  from unnest($3::bigint[]) as t(id)
 where d.id = t.id
   and d.lease_owner = $2::text
   and d.state = 'queued'`;

/** Releases deletions leased to `owner` and makes them due at `now`; returns how many it released. */
export async function releaseToPoller(db: Queryable, args: { now: Date; owner: string; deletionIds: string[] }): Promise<number> {
  if (args.deletionIds.length === 0) return 0;
  try {
    return (await db.query(SQL, [args.now, args.owner, args.deletionIds])).rowCount ?? 0;
  } catch (err) {
    throw mapDatabaseError(err, 'handing reconciled deletions to the poller');
  }
}
