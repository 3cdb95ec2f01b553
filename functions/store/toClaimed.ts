import { z } from 'zod';
import type { ClaimedDeletion } from '../domain/deletion.js';
import { RegimeIdSchema } from '../domain/regimes.js';
import { DELETION_STATES } from '../domain/states.js';

const ClaimedRow = z.object({
  id: z.coerce.string(),
  request_id: z.coerce.string(),
  customer_id: z.string(),
  vendor: z.string(),
  state: z.enum(DELETION_STATES),
  idempotency_key: z.string(),
  revoked_at: z.date(),
  regime: RegimeIdSchema,
  operation_ref: z.record(z.string(), z.unknown()).nullable(),
  operation_id: z.string().nullable(),
  raw_status: z.string().nullable(),
  submit_attempts: z.coerce.number().int(),
  check_count: z.coerce.number().int(),
  queued_at: z.date(),
  submitted_at: z.date().nullable(),
  status_changed_at: z.date().nullable(),
  expected_by: z.date().nullable(),
});

/** The columns a claim returns, shared by the due and the forced claim. */
export const CLAIM_RETURNING = `d.id, d.request_id, d.customer_id, d.vendor, d.state, d.idempotency_key::text as idempotency_key,
       (select r.revoked_at from deletion_request r where r.id = d.request_id) as revoked_at,
       (select r.regime from deletion_request r where r.id = d.request_id) as regime,
       d.operation_ref, d.operation_id, d.raw_status, d.submit_attempts, d.check_count, d.queued_at,
       d.submitted_at, d.status_changed_at, d.expected_by`;

/** Validates claimed rows so no unchecked row reaches the cycle. */
export function toClaimed(rows: unknown[]): ClaimedDeletion[] {
  return rows.map((r) => {
    const row = ClaimedRow.parse(r);
    return {
      deletionId: row.id,
      requestId: row.request_id,
      customerId: row.customer_id,
      vendor: row.vendor,
      state: row.state,
      idempotencyKey: row.idempotency_key,
      revokedAt: row.revoked_at,
      regime: row.regime,
      operationRef: row.operation_ref,
      operationId: row.operation_id,
      rawStatus: row.raw_status,
      submitAttempts: row.submit_attempts,
      checkCount: row.check_count,
      queuedAt: row.queued_at,
      submittedAt: row.submitted_at,
      statusChangedAt: row.status_changed_at,
      expectedBy: row.expected_by,
    };
  });
}


/**
 * Leases the rows of the CTE `picked` (ids selected `for update skip locked`) to $3 until $1 + $5 ms and
 * returns them as claimed: the tail of the due and the forced claim ($1 now, $3 owner, $5 lease).
 */
export const LEASE_PICKED = `
update vendor_deletion d
   set lease_owner = $3::text,
       lease_expires_at = $1::timestamptz + $5::bigint * interval '1 millisecond',
       updated_at = $1::timestamptz
  from picked
 where d.id = picked.id
returning ${CLAIM_RETURNING}`;
