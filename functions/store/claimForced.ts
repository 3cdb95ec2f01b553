import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { ClaimedDeletion } from '../domain/deletion.js';
import { LEASE_PICKED, toClaimed } from './toClaimed.js';

// A forced poll checks matching deletions now, due or not, but only those still being worked
// (next_check_at not null) and not leased by another poller. Filters given together narrow together.
const SQL = `
with picked as (
  select id
    from vendor_deletion
   where next_check_at is not null
     and (lease_expires_at is null or lease_expires_at <= $1::timestamptz)
     and vendor = any($4::text[])
     and ($6::text[] is null or customer_id = any($6::text[]))
     and ($7::text[] is null or operation_id = any($7::text[]))
   order by next_check_at
   limit $2::int
     for update skip locked
)
${LEASE_PICKED}`;

/** Claims up to `limit` deletions matching a forced poll, due or not. */
export async function claimForced(
  db: Queryable,
  args: {
    now: Date;
    limit: number;
    owner: string;
    vendors: string[];
    leaseMs: number;
    customerIds?: string[] | undefined;
    operationIds?: string[] | undefined;
  },
): Promise<ClaimedDeletion[]> {
  if (args.vendors.length === 0 || args.limit <= 0) return [];
  try {
    const result = await db.query(SQL, [
      args.now,
      args.limit,
      args.owner,
      args.vendors,
      args.leaseMs,
      args.customerIds ?? null,
      args.operationIds ?? null,
    ]);
    return toClaimed(result.rows);
  } catch (err) {
    throw mapDatabaseError(err, 'claiming deletions for a forced poll');
  }
}
