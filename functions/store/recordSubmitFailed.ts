import { z } from 'zod';
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
  /**
   * A refusal (domain/failureClasses.ts, `bounded`): counted in `refusals`, and at `maxRefusals` the deletion
   * goes to `error`. `signature` is the refusal's words as compared across deletions (a mass refusal).
   */
  refusal?: { maxRefusals: number; signature: string };
}

const FAILED_SQL = `
with input as (
  select * from unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[], $7::int[], $8::text[])
         as t(id, error, error_kind, base_delay_ms, max_delay_ms, max_refusals, refusal)
),
updated as (
  -- A refusal at its limit ends in 'error' (a person: afterSubmitFailure in domain/failureClasses.ts states the
  -- rule for one row); anything else stays queued with exponential backoff on
  -- the attempts already made (capped so power() cannot overflow). SET reads the row as it was.
  update vendor_deletion d
     set last_error = i.error,
         last_error_kind = i.error_kind,
         submit_attempts = d.submit_attempts + 1,
         refusals = d.refusals + case when i.refusal is null then 0 else 1 end,
         state = case when i.refusal is not null and d.refusals + 1 >= i.max_refusals then 'error' else d.state end,
         status_changed_at = case when i.refusal is not null and d.refusals + 1 >= i.max_refusals then $6::timestamptz
                                  else d.status_changed_at end,
         next_check_at = case when i.refusal is not null and d.refusals + 1 >= i.max_refusals then null
                              else $6::timestamptz + make_interval(
           secs => least(i.base_delay_ms * power(2::float8, least(d.submit_attempts, 30)), i.max_delay_ms) / 1000.0) end,
         lease_owner = null,
         lease_expires_at = null,
         updated_at = $6::timestamptz
    from input i
   where d.id = i.id
     and d.state = 'queued'
  returning d.id, d.request_id, d.customer_id, d.vendor, d.submit_attempts, d.next_check_at, d.state, d.refusals,
            i.error, i.error_kind, i.refusal, i.max_refusals
),
logged as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select u.request_id, u.id, u.customer_id, u.vendor, e.kind, e.detail, $6::timestamptz
    from updated u
   cross join lateral (
     select 'submit_failed'::text as kind, 1 as ord,
            jsonb_build_object('error', u.error, 'errorKind', u.error_kind, 'attempt', u.submit_attempts,
                               'retryAt', u.next_check_at)
            || case when u.refusal is null then '{}'::jsonb
                    else jsonb_build_object('refusal', u.refusal, 'refusals', u.refusals, 'maxRefusals', u.max_refusals) end
            as detail
     union all
     select 'error', 2,
            jsonb_build_object('reason', 'refused by the vendor ' || u.refusals || ' times', 'message', u.error,
                               'errorKind', u.error_kind)
      where u.state = 'error'
   ) e
   order by u.id, e.ord
)
select id, request_id, customer_id, submit_attempts, next_check_at, state, refusals from updated`;

const Extra = z.object({ id: z.coerce.string(), state: z.string(), refusals: z.coerce.number().int() });

/** A stored failure: the row as it now is, and whether it went to `error`. */
export interface StoredFailure extends StoredSubmission {
  state: string;
  refusals: number;
}

/**
 * Records a failed submission for a batch of deletions, with one `submit_failed` event each: they stay queued
 * with the error, the attempt counted and the next try scheduled, or, refused for the last time, go to `error`
 * (with an `error` event).
 */
export async function recordSubmitFailed(db: Queryable, rows: FailedRow[], now: Date): Promise<StoredFailure[]> {
  if (rows.length === 0) return [];
  try {
    const result = await db.query(FAILED_SQL, [
      rows.map((r) => r.deletionId),
      rows.map((r) => r.error),
      rows.map((r) => r.errorKind),
      rows.map((r) => r.baseDelayMs),
      rows.map((r) => r.maxDelayMs),
      now,
      rows.map((r) => r.refusal?.maxRefusals ?? null),
      rows.map((r) => r.refusal?.signature ?? null),
    ]);
    const extra = new Map(result.rows.map((r) => Extra.parse(r)).map((e) => [e.id, e]));
    return toStored(result.rows).map((s) => ({ ...s, state: extra.get(s.deletionId)!.state, refusals: extra.get(s.deletionId)!.refusals }));
  } catch (err) {
    throw mapDatabaseError(err, 'recording failed vendor submissions');
  }
}
