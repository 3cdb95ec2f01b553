import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** A deletion a status callback may speak of, as the callback function may read it. */
export const CallbackDeletionSchema = z.object({
  deletionId: z.string(),
  requestId: z.string(),
  customerId: z.string(),
  vendor: z.string(),
  state: z.string(),
  operationId: z.string().nullable(),
  /** The controller_id the processor gave (mParticle's create and status answers), when it gave one. */
  controllerId: z.string().nullable(),
});
export type CallbackDeletion = z.infer<typeof CallbackDeletionSchema>;

// A callback names a request by the subject_request_id we generated: the deletion's idempotency key, or the
// request its reference reads (a deletion linked to an open request of the same identities, or Mixpanel's task
// id). The callback's schema makes it a UUID v4; processors may echo it in either case.
const SQL = `
select id::text as "deletionId", request_id::text as "requestId", customer_id as "customerId", vendor, state,
       operation_id as "operationId", status_payload->>'controller_id' as "controllerId"
  from vendor_deletion
 where idempotency_key = $1::uuid
    or lower(operation_ref->>'subjectRequestId') = lower($1::text)
 order by id
 limit 10`;

/** The deletions whose vendor request is `subjectRequestId` (none when it is not ours). */
export async function findCallbackDeletions(db: Queryable, subjectRequestId: string): Promise<CallbackDeletion[]> {
  try {
    const result = await db.query(SQL, [subjectRequestId]);
    return z.array(CallbackDeletionSchema).parse(result.rows);
  } catch (err) {
    if (err instanceof z.ZodError) throw err;
    throw mapDatabaseError(err, 'finding the deletion a callback names');
  }
}
