import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// The log's refused submissions of one vendor since `since` with the same words (the refusal's signature,
// domain/failureClasses.ts), counted by deletion; the partial index deletion_event_submit_failed keeps it to the window.
const SQL = `
select count(distinct vendor_deletion_id)::int as deletions
  from deletion_event
 where kind = 'submit_failed'
   and vendor = $1::text
   and occurred_at >= $2::timestamptz
   and detail ->> 'refusal' = $3::text`;

const Row = z.object({ deletions: z.coerce.number().int() });

/** How many deletions of `vendor` were refused with these words since `since` (a mass refusal, when many). */
export async function countRecentRefusals(db: Queryable, args: { vendor: string; signature: string; since: Date }): Promise<number> {
  try {
    const result = await db.query(SQL, [args.vendor, args.since, args.signature]);
    return Row.parse(result.rows[0]).deletions;
  } catch (err) {
    throw mapDatabaseError(err, 'counting recent refusals');
  }
}
