import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** One page of the evidence report: requests revoked in [since, until), after `afterDeletionId`. */
export interface ReportPageQuery {
  since: Date;
  until: Date;
  /** Keyset cursor: the last deletion id of the previous page ('0' for the first). */
  afterDeletionId: string;
  limit: number;
}

const ReportRowSchema = z.object({
  deletion_id: z.coerce.string(),
  request_id: z.coerce.string(),
  customer_id: z.string(),
  vendor: z.string(),
  state: z.string(),
  source: z.string(),
  revoked_at: z.date(),
  first_submit_at: z.date().nullable(),
  submitted_at: z.date().nullable(),
  operation_id: z.string().nullable(),
  operation_ref: z.unknown().nullable(),
  raw_status: z.string().nullable(),
  status_payload: z.unknown().nullable(),
  completed_at: z.date().nullable(),
  verified_at: z.date().nullable(),
  check_count: z.number().int(),
  alerts_raised: z.number().int(),
  alerts_sent: z.number().int(),
  deadline_at: z.date(),
  regranted_at: z.date().nullable(),
  regime: z.string(),
  initial_deadline_at: z.date(),
  extended_at: z.date().nullable(),
  extended_by: z.string().nullable(),
  extension_reason: z.string().nullable(),
  queued_at: z.date(),
  expected_by: z.date().nullable(),
  expected_source: z.string().nullable(),
  verification_failed_at: z.date().nullable(),
  verification_evidence: z.unknown().nullable(),
  /** The signed status callbacks received for the deletion (callback_received event details), oldest first. */
  callbacks: z.array(z.unknown()),
});
export type ReportRow = z.infer<typeof ReportRowSchema>;

// Keyset pagination on the deletion id keeps memory flat for any size of report; the event aggregates use
// the (request_id, id) index of the log.
const SQL = `
select d.id as deletion_id, r.id as request_id, d.customer_id, d.vendor, d.state, r.source, r.revoked_at,
       ev.first_submit_at, d.submitted_at, d.operation_id, d.operation_ref, d.raw_status,
       case when d.state = 'completed' then d.status_payload end as status_payload,
       d.completed_at, d.verified_at, d.check_count,
       coalesce(ev.alerts_raised, 0)::int as alerts_raised, coalesce(ev.alerts_sent, 0)::int as alerts_sent,
       r.deadline_at, r.regranted_at, r.regime, coalesce(ev.callbacks, '[]'::jsonb) as callbacks,
       r.initial_deadline_at, r.extended_at, r.extended_by, r.extension_reason,
       d.queued_at, d.expected_by, d.expected_source, d.verification_failed_at, d.verification_evidence
  from vendor_deletion d
  join deletion_request r on r.id = d.request_id
  left join lateral (
    select min(e.occurred_at) filter (where e.kind in ('submit_attempted', 'submitted')) as first_submit_at,
           count(*) filter (where e.kind = 'alert_raised') as alerts_raised,
           count(*) filter (where e.kind = 'alert_sent') as alerts_sent,
           jsonb_agg(e.detail - 'body' - 'certificatePem' - 'signature' order by e.id) filter (where e.kind = 'callback_received') as callbacks
      from deletion_event e
     where e.request_id = r.id
       and e.vendor_deletion_id = d.id
  ) ev on true
 where r.revoked_at >= $1::timestamptz
   and r.revoked_at < $2::timestamptz
   and d.id > $3::bigint
 order by d.id
 limit $4::int`;

/** Reads one page of per-customer, per-vendor evidence rows, ordered by deletion id. */
export async function reportPage(db: Queryable, q: ReportPageQuery): Promise<ReportRow[]> {
  try {
    const res = await db.query(SQL, [q.since, q.until, q.afterDeletionId, q.limit]);
    return res.rows.map((row) => ReportRowSchema.parse(row));
  } catch (err) {
    if (err instanceof z.ZodError) throw err;
    throw mapDatabaseError(err, 'reading the report');
  }
}
