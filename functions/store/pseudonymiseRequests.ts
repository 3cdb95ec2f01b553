import { inTransaction, type Pool } from './pool.js';
import { mapDatabaseError } from './errors.js';

export interface PseudonymiseResult {
  requests: number;
  events: number;
}

const DUE_SQL = `
select r.id::text, r.customer_id
  from deletion_request r
 where r.customer_id not like 'hmac-sha256:%'
   and not exists (select 1 from vendor_deletion d
                    where d.request_id = r.id and d.state not in ('completed', 'cancelled'))
   and coalesce((select max(coalesce(d.completed_at, d.updated_at)) from vendor_deletion d where d.request_id = r.id),
                r.created_at) < $1::timestamptz
 order by r.id
 limit $2::int
   for update of r skip locked`;

const REQUESTS_SQL = `
update deletion_request r set customer_id = u.name
  from unnest($1::bigint[], $2::text[]) as u(id, name) where r.id = u.id`;

// Vendor payloads may echo the id (e.g. a list of distinct ids); replace it there too.
const DELETIONS_SQL = `
update vendor_deletion d
   set customer_id = u.name,
       status_payload = case when d.status_payload is null then null
                             else replace(d.status_payload::text, to_json(d.customer_id)::text, to_json(u.name)::text)::jsonb end,
       operation_ref = case when d.operation_ref is null then null
                            else replace(d.operation_ref::text, to_json(d.customer_id)::text, to_json(u.name)::text)::jsonb end,
       updated_at = $3::timestamptz
  from unnest($1::bigint[], $2::text[]) as u(id, name)
 where d.request_id = u.id`;

const EVENTS_SQL = `
update deletion_event e
   set customer_id = u.name, subject_salt = null, redacted_at = $3::timestamptz
  from unnest($1::bigint[], $2::text[]) as u(id, name)
 where e.request_id = u.id and e.subject_salt is not null`;

/**
 * Replaces the raw customer id with `pseudonym(id)` in every record of up to `limit` requests that finished
 * (all their deletions completed or cancelled) before `cutoff`, in one transaction. The event log's hash
 * chain stays verifiable (it covers a salted subject hash, not the raw id; the salt is dropped here).
 */
export async function pseudonymiseRequests(
  pool: Pool,
  args: { cutoff: Date; limit: number; now: Date; pseudonym: (customerId: string) => string },
): Promise<PseudonymiseResult> {
  try {
    return await inTransaction(pool, async (client) => {
      const due = await client.query<{ id: string; customer_id: string }>(DUE_SQL, [args.cutoff, args.limit]);
      if (due.rows.length === 0) return { requests: 0, events: 0 };
      const ids = due.rows.map((r) => r.id);
      const names = due.rows.map((r) => args.pseudonym(r.customer_id));
      await client.query("set local consent_erasure.retention = 'on'");
      await client.query(REQUESTS_SQL, [ids, names]);
      await client.query(DELETIONS_SQL, [ids, names, args.now]);
      const events = await client.query(EVENTS_SQL, [ids, names, args.now]);
      return { requests: ids.length, events: events.rowCount ?? 0 };
    });
  } catch (err) {
    throw mapDatabaseError(err, 'pseudonymising finished requests');
  }
}
