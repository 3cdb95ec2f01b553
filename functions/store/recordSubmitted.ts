import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { toStored, type StoredSubmission } from './toStored.js';

/** One deletion a vendor accepted, as it is stored. */
export interface SubmittedRow {
  deletionId: string;
  /** The state the create call reported ('submitted' when it reported none). */
  state: string;
  operationRef: Record<string, unknown>;
  operationId: string;
  rawStatus: string | null;
  statusPayload: unknown;
  expectedBy: Date;
  /** Which vendor field `expectedBy` comes from; null when it is our estimate from the vendor's policy. */
  expectedSource: string | null;
  /** Null once nothing more is due (a create call that already reported a terminal state). */
  nextCheckAt: Date | null;
  completedAt: Date | null;
}

// One statement: the update and the evidence rows commit together or not at all. Only rows still
// queued are touched, so a result arriving after another process has moved the row on changes nothing.
const SUBMITTED_SQL = `
with input as (
  select *
    from unnest($1::bigint[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::jsonb[],
                $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $11::text[])
         as t(id, state, operation_ref, operation_id, raw_status, status_payload, expected_by, next_check_at, completed_at,
              expected_source)
),
updated as (
  update vendor_deletion d
     set state = i.state,
         operation_ref = i.operation_ref,
         operation_id = i.operation_id,
         raw_status = i.raw_status,
         status_payload = i.status_payload,
         submitted_at = $10::timestamptz,
         expected_by = i.expected_by,
         expected_source = i.expected_source,
         expected_changed_at = case when i.expected_source is not null then $10::timestamptz else d.expected_changed_at end,
         next_check_at = i.next_check_at,
         completed_at = i.completed_at,
         status_changed_at = $10::timestamptz,
         submit_attempts = d.submit_attempts + 1,
         last_error = null,
         last_error_kind = null,
         lease_owner = null,
         lease_expires_at = null,
         updated_at = $10::timestamptz
    from input i
   where d.id = i.id
     and d.state = 'queued'
  returning d.id, d.request_id, d.customer_id, d.vendor, d.state, d.operation_id, d.raw_status, d.submit_attempts,
            d.next_check_at, d.operation_ref
),
logged as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select u.request_id, u.id, u.customer_id, u.vendor, 'submitted',
         jsonb_build_object('operationId', u.operation_id, 'state', u.state, 'rawStatus', u.raw_status,
                            'attempt', u.submit_attempts)
         -- A part of a split job names the failed jobs it came from (domain/taskSplit.ts).
         || case when u.operation_ref ? 'splitFrom' then jsonb_build_object('splitFrom', u.operation_ref -> 'splitFrom')
                 else '{}'::jsonb end,
         $10::timestamptz
    from updated u
)
select id, request_id, customer_id, submit_attempts, next_check_at from updated`;

/**
 * Stores what a vendor's create call returned, for a batch of deletions, with one `submitted` event each.
 * Returns the rows actually changed (rows no longer queued are left alone).
 */
export async function recordSubmitted(db: Queryable, rows: SubmittedRow[], now: Date): Promise<StoredSubmission[]> {
  if (rows.length === 0) return [];
  try {
    const result = await db.query(SUBMITTED_SQL, [
      rows.map((r) => r.deletionId),
      rows.map((r) => r.state),
      rows.map((r) => JSON.stringify(r.operationRef)),
      rows.map((r) => r.operationId),
      rows.map((r) => r.rawStatus),
      rows.map((r) => (r.statusPayload === undefined ? null : JSON.stringify(r.statusPayload))),
      rows.map((r) => r.expectedBy),
      rows.map((r) => r.nextCheckAt),
      rows.map((r) => r.completedAt),
      now,
      rows.map((r) => r.expectedSource),
    ]);
    return toStored(result.rows);
  } catch (err) {
    throw mapDatabaseError(err, 'recording vendor submissions');
  }
}

