import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { ClaimedDeletion } from '../domain/deletion.js';
import { LEASE_PICKED, toClaimed } from './toClaimed.js';

// The due rows are found through the partial index vendor_deletion_due (next_check_at <= $1 implies
// not null), locked with skip locked so a concurrent poller takes other rows, and leased so the claim
// outlives this statement's transaction and expires if the poller dies.
const SQL = `
with picked as (
  select id
    from vendor_deletion
   where next_check_at <= $1::timestamptz
     and (lease_expires_at is null or lease_expires_at <= $1::timestamptz)
     and vendor = any($4::text[])
   order by next_check_at
   limit $2::int
     for update skip locked
)
${LEASE_PICKED}`;

/** Claims up to `limit` due deletions of `vendors` for `owner` until now + leaseMs. */
export async function claimDue(
  db: Queryable,
  args: { now: Date; limit: number; owner: string; vendors: string[]; leaseMs: number },
): Promise<ClaimedDeletion[]> {
  if (args.vendors.length === 0 || args.limit <= 0) return [];
  try {
    const result = await db.query(SQL, [args.now, args.limit, args.owner, args.vendors, args.leaseMs]);
    return toClaimed(result.rows);
  } catch (err) {
    throw mapDatabaseError(err, 'claiming due deletions');
  }
}
