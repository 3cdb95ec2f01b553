import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// The partial index deletion_event_submitted (vendor, occurred_at) where kind = 'submitted' answers this alone.
const SQL = `
select count(*)::bigint as n
  from deletion_event
 where kind = 'submitted'
   and vendor = $1::text
   and occurred_at >= $2::timestamptz`;

/**
 * How many subjects were submitted to `vendor` since `since`: one `submitted` event is written per customer
 * each time a create call accepts it, so a resubmission counts again, as it does at the vendor.
 */
export async function countSubmittedSubjects(db: Queryable, args: { vendor: string; since: Date }): Promise<number> {
  try {
    const result = await db.query<{ n: string }>(SQL, [args.vendor, args.since]);
    return Number(result.rows[0]?.n ?? 0);
  } catch (err) {
    throw mapDatabaseError(err, 'counting submitted subjects');
  }
}
