import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** Which deletions `status` lists; every filter is optional. */
export interface StatusFilter {
  /** The customer, and any other ids they are recorded under (their pseudonym after retention). */
  customerIds?: string[];
  state?: string;
  vendor?: string;
  /** At most this many rows (newest requests first). */
  limit: number;
}

const StatusRowSchema = z.object({
  deletion_id: z.coerce.string(),
  customer_id: z.string(),
  vendor: z.string(),
  state: z.string(),
  operation_id: z.string().nullable(),
  requested_at: z.date(),
  submitted_at: z.date().nullable(),
  completed_at: z.date().nullable(),
  verified_at: z.date().nullable(),
  check_count: z.number().int(),
  deadline_at: z.date(),
  regime: z.string(),
  last_error: z.string().nullable(),
  initial_deadline_at: z.date(),
  extended_at: z.date().nullable(),
  queued_at: z.date(),
  expected_by: z.date().nullable(),
  expected_source: z.string().nullable(),
  verification_failed_at: z.date().nullable(),
});

/** One vendor deletion as operators see it. */
export interface StatusRow {
  deletionId: string;
  customerId: string;
  vendor: string;
  state: string;
  operationId: string | null;
  requestedAt: Date;
  submittedAt: Date | null;
  completedAt: Date | null;
  verifiedAt: Date | null;
  checkCount: number;
  deadlineAt: Date;
  /** The request's legal regime (domain/regimes.ts). */
  regime: string;
  /** What went wrong last (a vendor's refusal in its own words, a fault), while the deletion is not completed. */
  lastError: string | null;
  /** The regime's first deadline; `deadlineAt` is the one in force (later once extended). */
  initialDeadlineAt: Date;
  extendedAt: Date | null;
  queuedAt: Date;
  /** The vendor's own expected completion when `expectedSource` names its field, else our estimate. */
  expectedBy: Date | null;
  expectedSource: string | null;
  /** A verification after completion found data at the vendor. */
  verificationFailedAt: Date | null;
}

// From the operators' two views; cancelled deletions are in neither, so they come from the table itself.
const SQL = `
with rows as (
  select p.deletion_id, p.request_id, p.customer_id, p.vendor, p.state, p.operation_id, p.requested_at, p.submitted_at,
         null::timestamptz as completed_at, null::timestamptz as verified_at, p.check_count, p.deadline_at,
         p.last_error
    from pending_deletion p
  union all
  select c.deletion_id, c.request_id, c.customer_id, c.vendor, 'completed', c.operation_id, c.requested_at, c.submitted_at,
         c.completed_at, c.verified_at, c.check_count, c.deadline_at, null::text
    from completed_deletion c
  union all
  select d.id, d.request_id, d.customer_id, d.vendor, d.state, d.operation_id, r.created_at, d.submitted_at,
         null::timestamptz, null::timestamptz, d.check_count, r.deadline_at, d.last_error
    from vendor_deletion d
    join deletion_request r on r.id = d.request_id
   where d.state = 'cancelled'
)
select rows.*, r.regime, r.initial_deadline_at, r.extended_at,
       v.queued_at, v.expected_by, v.expected_source, v.verification_failed_at
  from rows
  join deletion_request r on r.id = rows.request_id
  join vendor_deletion v on v.id = rows.deletion_id
 where ($1::text[] is null or rows.customer_id = any($1::text[]))
   and ($2::text is null or rows.state = $2::text)
   and ($3::text is null or rows.vendor = $3::text)
 order by rows.requested_at desc, rows.deletion_id desc
 limit $4::int`;

/** Lists vendor deletions, newest request first, from the pending and completed views. */
export async function queryStatus(db: Queryable, filter: StatusFilter): Promise<StatusRow[]> {
  let rows: unknown[];
  try {
    const res = await db.query(SQL, [filter.customerIds ?? null, filter.state ?? null, filter.vendor ?? null, filter.limit]);
    rows = res.rows;
  } catch (err) {
    throw mapDatabaseError(err, 'reading deletion status');
  }
  return rows.map((raw) => {
    const r = StatusRowSchema.parse(raw);
    return {
      deletionId: r.deletion_id,
      customerId: r.customer_id,
      vendor: r.vendor,
      state: r.state,
      operationId: r.operation_id,
      requestedAt: r.requested_at,
      submittedAt: r.submitted_at,
      completedAt: r.completed_at,
      verifiedAt: r.verified_at,
      checkCount: r.check_count,
      deadlineAt: r.deadline_at,
      regime: r.regime,
      lastError: r.last_error,
      initialDeadlineAt: r.initial_deadline_at,
      extendedAt: r.extended_at,
      queuedAt: r.queued_at,
      expectedBy: r.expected_by,
      expectedSource: r.expected_source,
      verificationFailedAt: r.verification_failed_at,
    };
  });
}
