import { z } from 'zod';
import { inTransaction, type Pool } from './pool.js';
import { mapDatabaseError } from './errors.js';

export interface PseudonymiseResult {
  requests: number;
  events: number;
}

// Candidates: finished requests still under the raw id. retention_pseudonymise checks every condition again
// (it is what the database trusts); this read only finds the ids and the customer ids to hash.
const DUE_SQL = `
select r.id::text, r.customer_id
  from deletion_request r
 where r.customer_id not like 'hmac-sha256:%'
   and r.customer_id not like 'purged:%'
   and not exists (select 1 from vendor_deletion d
                    where d.request_id = r.id and d.state not in ('completed', 'cancelled'))
   and coalesce((select max(coalesce(d.completed_at, d.updated_at)) from vendor_deletion d where d.request_id = r.id),
                r.created_at) < $1::timestamptz
 order by r.id
 limit $2::int`;

// Security definer, owned by the schema's owner; executable by consent_erasure_retention only (000015).
const REWRITE_SQL = 'select requests, events from retention_pseudonymise($1::bigint[], $2::text[], $3::timestamptz, $4::timestamptz)';
const PURGE_SQL = 'select requests, events from retention_purge($1::timestamptz, $2::int, $3::timestamptz)';

const CountsSchema = z.object({ requests: z.coerce.number(), events: z.coerce.number() });

/**
 * Replaces the raw customer id with `pseudonym(id)` in every record of up to `limit` requests that finished
 * (all their deletions completed or cancelled) before `cutoff`, in one transaction, through the database's
 * retention function. The event log's hash chain stays verifiable (it covers a salted subject hash, not the id).
 */
export async function pseudonymiseRequests(
  pool: Pool,
  args: { cutoff: Date; limit: number; now: Date; pseudonym: (customerId: string) => string },
): Promise<PseudonymiseResult> {
  try {
    return await inTransaction(pool, async (client) => {
      const due = await client.query<{ id: string; customer_id: string }>(DUE_SQL, [args.cutoff, args.limit]);
      if (due.rows.length === 0) return { requests: 0, events: 0 };
      const result = await client.query(REWRITE_SQL, [
        due.rows.map((r) => r.id),
        due.rows.map((r) => args.pseudonym(r.customer_id)),
        args.cutoff,
        args.now,
      ]);
      return CountsSchema.parse(result.rows[0]);
    });
  } catch (err) {
    throw mapDatabaseError(err, 'pseudonymising finished requests');
  }
}

/**
 * The final stage: pseudonymised requests that finished before `cutoff` lose the pseudonym as well (up to
 * `limit` of them); what stays names nobody.
 */
export async function purgeRequests(pool: Pool, args: { cutoff: Date; limit: number; now: Date }): Promise<PseudonymiseResult> {
  try {
    const result = await pool.query(PURGE_SQL, [args.cutoff, args.limit, args.now]);
    return CountsSchema.parse(result.rows[0]);
  } catch (err) {
    throw mapDatabaseError(err, 'purging pseudonyms of finished requests');
  }
}
