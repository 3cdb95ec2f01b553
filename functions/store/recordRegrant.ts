import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// The request a regrant belongs to is the customer's latest one revoked before it: a regrant that arrives
// late (events are unordered) must not close a newer revocation. Only the first delivery records it.
const SQL = `
with target as (
  select id
    from deletion_request
   where customer_id = $1::text
     and revoked_at <= $2::timestamptz
   order by revoked_at desc
   limit 1
   for update
),
updated as (
  update deletion_request r
     set regranted_at = $2::timestamptz
    from target t
   where r.id = t.id
     and r.regranted_at is null
  returning r.id, r.customer_id
),
logged as (
  insert into deletion_event (request_id, customer_id, kind, detail, occurred_at)
  select id, customer_id, 'regranted', $3::jsonb, $4::timestamptz from updated
)
select id from updated`;

/**
 * Marks the customer's latest request (revoked at or before `regrantedAt`) as regranted, with a `regranted`
 * event. Returns its id, or null when there is no such request or it was already marked.
 */
export async function recordRegrant(
  db: Queryable,
  input: { customerId: string; regrantedAt: string; detail: Record<string, unknown>; now: Date },
): Promise<string | null> {
  try {
    const result = await db.query(SQL, [input.customerId, input.regrantedAt, JSON.stringify(input.detail), input.now]);
    const row = result.rows[0] as { id?: unknown } | undefined;
    return row?.id === undefined ? null : String(row.id);
  } catch (err) {
    throw mapDatabaseError(err, 'recording the regrant');
  }
}
