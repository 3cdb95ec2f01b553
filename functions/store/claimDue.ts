import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { DELETION_STATES, type DeletionState } from '../domain/states.js';

/** One deletion claimed by a poller, with what the poller needs to work it. */
export interface ClaimedDeletion {
  deletionId: string;
  requestId: string;
  customerId: string;
  vendor: string;
  state: DeletionState;
  idempotencyKey: string;
  /** When the customer withdrew consent (the request's revoked_at); vendors that record it are told. */
  revokedAt: Date;
  operationRef: Record<string, unknown> | null;
  operationId: string | null;
  rawStatus: string | null;
  submitAttempts: number;
  checkCount: number;
  queuedAt: Date;
  submittedAt: Date | null;
  statusChangedAt: Date | null;
  expectedBy: Date | null;
}

const ClaimedRow = z.object({
  id: z.coerce.string(),
  request_id: z.coerce.string(),
  customer_id: z.string(),
  vendor: z.string(),
  state: z.enum(DELETION_STATES),
  idempotency_key: z.string(),
  revoked_at: z.date(),
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

// The due rows are found through the partial index vendor_deletion_due (next_check_at <= $1 implies
// not null), locked with skip locked so a concurrent poller takes other rows, and leased so the claim
// outlives this statement's transaction and expires if the poller dies.
const SQL = `
with due as (
  select id
    from vendor_deletion
   where next_check_at <= $1::timestamptz
     and (lease_expires_at is null or lease_expires_at <= $1::timestamptz)
     and vendor = any($4::text[])
   order by next_check_at
   limit $2::int
     for update skip locked
)
update vendor_deletion d
   set lease_owner = $3::text,
       lease_expires_at = $1::timestamptz + $5::bigint * interval '1 millisecond',
       updated_at = $1::timestamptz
  from due
 where d.id = due.id
returning ${CLAIM_RETURNING}`;

/** Claims up to `limit` due deletions of `vendors` for `owner` until now + leaseMs. */
export async function claimDue(
  db: Queryable,
  args: { now: Date; limit: number; owner: string; vendors: string[]; leaseMs: number },
): Promise<ClaimedDeletion[]> {
  if (args.vendors.length === 0 || args.limit <= 0) return [];
  try {
    const result = await db.query(SQL, [args.now, args.limit, args.owner, args.vendors, args.leaseMs]);
    return toClaimed(result.rows);
  } catch (err) {
    throw mapDatabaseError(err, 'claiming due deletions');
  }
}
