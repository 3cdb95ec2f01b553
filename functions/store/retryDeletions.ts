import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/**
 * Which deletions to put back: one deletion by id, every retryable deletion of one customer, or of one vendor
 * (after the cause of a refusal there is fixed).
 */
export type RetryTarget = { deletionId: string } | { customerId: string } | { vendor: string };

/** The states an operator may put back to queued: a vendor failure, or an error that needed a person. */
export const RETRYABLE_STATES = ['failed', 'error'] as const;

const RetriedSchema = z.object({
  deletion_id: z.coerce.string(),
  customer_id: z.string(),
  vendor: z.string(),
  previous_state: z.string(),
  previous_operation_id: z.string().nullable(),
});
export type RetriedDeletion = z.infer<typeof RetriedSchema>;

// One statement: lock the targets, put them back to queued (due now, fresh submit attempts, no lease, the old
// operation cleared since a queued deletion has none yet, the refusals counted afresh, and a new idempotency key, as the poller's own
// resubmission takes: with the old one an OpenDSR vendor answers "already exists" and the old request is read
// again instead of a new one being made) and append a `retried` event each, keeping what was
// cleared in the event so the evidence still shows the failed operation.
const SQL = `
with target as (
  select d.id, d.request_id, d.customer_id, d.vendor, d.state, d.operation_id, d.operation_ref, d.raw_status,
         d.last_error, d.last_error_kind, d.submit_attempts, d.refusals, d.idempotency_key
    from vendor_deletion d
   where d.state = any($3::text[])
     and (d.id = $1::bigint or d.customer_id = $2::text or d.vendor = $6::text)
   for update
), updated as (
  update vendor_deletion d
     set state = 'queued',
         next_check_at = $4::timestamptz,
         submit_attempts = 0,
         refusals = 0,
         idempotency_key = gen_random_uuid(),
         operation_ref = null,
         operation_id = null,
         raw_status = null,
         status_payload = null,
         expected_by = null,
         expected_source = null,
         lease_owner = null,
         lease_expires_at = null,
         status_changed_at = $4::timestamptz,
         updated_at = $4::timestamptz
    from target t
   where d.id = t.id
  returning d.id
), logged as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select t.request_id, t.id, t.customer_id, t.vendor, 'retried',
         jsonb_build_object('previousState', t.state, 'previousOperationId', t.operation_id,
                            'previousOperationRef', t.operation_ref, 'previousRawStatus', t.raw_status,
                            'lastError', t.last_error, 'lastErrorKind', t.last_error_kind,
                            'submitAttempts', t.submit_attempts, 'refusals', t.refusals,
                            'previousIdempotencyKey', t.idempotency_key,
                            'by', $5::text),
         $4::timestamptz
    from target t
    join updated u on u.id = t.id
)
select t.id as deletion_id, t.customer_id, t.vendor, t.state as previous_state, t.operation_id as previous_operation_id
  from target t
 order by t.id`;

/**
 * Puts failed/error deletions back to queued, due now, with a `retried` event each. Returns what it changed
 * (nothing when no deletion in a retryable state matches).
 */
export async function retryDeletions(
  db: Queryable,
  target: RetryTarget,
  now: Date,
  by = 'consent-erasure retry',
): Promise<RetriedDeletion[]> {
  const deletionId = 'deletionId' in target ? target.deletionId : null;
  const customerId = 'customerId' in target ? target.customerId : null;
  const vendor = 'vendor' in target ? target.vendor : null;
  try {
    const res = await db.query(SQL, [deletionId, customerId, RETRYABLE_STATES, now, by, vendor]);
    return res.rows.map((r) => RetriedSchema.parse(r));
  } catch (err) {
    throw mapDatabaseError(err, 'retrying deletions');
  }
}
