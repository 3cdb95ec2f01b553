import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** A stored callback not yet compared with a status check, with the deletions it named. */
export const UncomparedCallbackSchema = z.object({
  idempotencyKey: z.string(),
  vendor: z.string(),
  subjectRequestId: z.string(),
  claimedStatus: z.enum(['pending', 'in_progress', 'completed', 'cancelled']),
  receivedAt: z.date(),
  deletionIds: z.array(z.string()),
});
export type UncomparedCallback = z.infer<typeof UncomparedCallbackSchema>;

const READ_SQL = `
select idempotency_key as "idempotencyKey", vendor, subject_request_id as "subjectRequestId",
       claimed_status as "claimedStatus", received_at as "receivedAt", vendor_deletion_ids::text[] as "deletionIds"
  from deletion_callback
 where compared_at is null
   and vendor_deletion_ids && $1::bigint[]
   and received_at < $2::timestamptz
 order by received_at`;

/** Callbacks received before `before` about any of `deletionIds` that no check has been compared with yet. */
export async function readUncomparedCallbacks(db: Queryable, args: { deletionIds: string[]; before: Date }): Promise<UncomparedCallback[]> {
  if (args.deletionIds.length === 0) return [];
  try {
    const result = await db.query(READ_SQL, [args.deletionIds, args.before]);
    return z.array(UncomparedCallbackSchema).parse(result.rows);
  } catch (err) {
    if (err instanceof z.ZodError) throw err;
    throw mapDatabaseError(err, 'reading callbacks to compare');
  }
}

const MARK_SQL = `
update deletion_callback c
   set compared_at = $3::timestamptz, contradicted = t.contradicted
  from unnest($1::text[], $2::boolean[]) as t(key, contradicted)
 where c.idempotency_key = t.key and c.compared_at is null`;

/** Records that each callback was compared with a check, and whether the check contradicted it. */
export async function markCallbacksCompared(db: Queryable, args: { results: Array<{ idempotencyKey: string; contradicted: boolean }>; now: Date }): Promise<void> {
  if (args.results.length === 0) return;
  try {
    await db.query(MARK_SQL, [args.results.map((r) => r.idempotencyKey), args.results.map((r) => r.contradicted), args.now]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording callback comparisons');
  }
}
