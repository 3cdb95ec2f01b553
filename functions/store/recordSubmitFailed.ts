import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { toStored, type StoredSubmission } from './toStored.js';

/** One deletion whose submission failed, as it is stored. */
export interface FailedRow {
  deletionId: string;
  error: string;
  errorKind: string;
  /** The wait before the first retry; doubled per attempt already made, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

const FAILED_SQL = `
with input as (
  select * from unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[])
         as t(id, error, error_kind, base_delay_ms, max_delay_ms)
),
updated as (
  -- Exponential backoff on the attempts already made (capped so power() cannot overflow).
  update vendor_deletion d
     set last_error = i.error,
         last_error_kind = i.error_kind,
         submit_attempts = d.submit_attempts + 1,
         next_check_at = $6::timestamptz + make_interval(
           secs => least(i.base_delay_ms * power(2::float8, least(d.submit_attempts, 30)), i.max_delay_ms) / 1000.0),
         lease_owner = null,
         lease_expires_at = null,
         updated_at = $6::timestamptz
    from input i
   where d.id = i.id
     and d.state = 'queued'
  returning d.id, d.request_id, d.customer_id, d.vendor, d.submit_attempts, d.next_check_at, i.error, i.error_kind
),
logged as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select u.request_id, u.id, u.customer_id, u.vendor, 'submit_failed',
         jsonb_build_object('error', u.error, 'errorKind', u.error_kind, 'attempt', u.submit_attempts,
                            'retryAt', u.next_check_at),
         $6::timestamptz
    from updated u
)
select id, request_id, customer_id, submit_attempts, next_check_at from updated`;

/**
 * Records a failed submission for a batch of deletions: they stay queued with the error, the attempt
 * counted and the next try scheduled, with one `submit_failed` event each.
 */
export async function recordSubmitFailed(db: Queryable, rows: FailedRow[], now: Date): Promise<StoredSubmission[]> {
  if (rows.length === 0) return [];
  try {
    const result = await db.query(FAILED_SQL, [
      rows.map((r) => r.deletionId),
      rows.map((r) => r.error),
      rows.map((r) => r.errorKind),
      rows.map((r) => r.baseDelayMs),
      rows.map((r) => r.maxDelayMs),
      now,
    ]);
    return toStored(result.rows);
  } catch (err) {
    throw mapDatabaseError(err, 'recording failed vendor submissions');
  }
}
