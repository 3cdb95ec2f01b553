import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** The per-deletion alert kinds (deletion_alert.kind). */
export const DELETION_ALERT_KINDS = ['stale', 'no_progress', 'failed', 'deadline_warning', 'deadline_missed', 'deadline_at_risk', 'verification_failed'] as const;

const DueRow = z.object({
  deletion_id: z.string(),
  kind: z.enum(DELETION_ALERT_KINDS),
  since: z.date(),
  escalation: z.coerce.number().int(),
  customer_id: z.string(),
  vendor: z.string(),
  operation_id: z.string().nullable(),
  state: z.string(),
  deadline_at: z.date().nullable(),
  detail: z.string().nullable(),
});
/** One deletion an alert is due for (first raise or the next escalation). */
export interface DueDeletionAlert {
  deletionId: string;
  kind: z.infer<typeof DueRow>['kind'];
  since: Date;
  escalation: number;
  customerId: string;
  vendor: string;
  operationId: string | null;
  state: string;
  deadlineAt: Date | null;
  /** What the alert row says about it (the expected date and its source, the lookup's answer), else the last error. */
  detail: string | null;
}

const SQL = `
select a.vendor_deletion_id::text as deletion_id, a.kind, a.since, a.escalation,
       d.customer_id, d.vendor, d.operation_id, d.state, r.deadline_at, coalesce(a.detail, d.last_error) as detail
  from deletion_alert a
  join vendor_deletion d on d.id = a.vendor_deletion_id
  join deletion_request r on r.id = d.request_id
 where a.resolved_at is null
   and (a.raised_at is null or a.raised_at <= $1::timestamptz - $2::bigint * interval '1 millisecond')
 order by a.kind, d.vendor, a.vendor_deletion_id
 limit $3::int`;

/** Open alerts never raised, or raised at least `escalationMs` ago. */
export async function dueDeletionAlerts(
  db: Queryable,
  args: { now: Date; escalationMs: number; limit: number },
): Promise<DueDeletionAlert[]> {
  try {
    const result = await db.query(SQL, [args.now, Math.round(args.escalationMs), args.limit]);
    return result.rows.map((r) => {
      const row = DueRow.parse(r);
      return {
        deletionId: row.deletion_id,
        kind: row.kind,
        since: row.since,
        escalation: row.escalation,
        customerId: row.customer_id,
        vendor: row.vendor,
        operationId: row.operation_id,
        state: row.state,
        deadlineAt: row.deadline_at,
        detail: row.detail,
      };
    });
  } catch (err) {
    throw mapDatabaseError(err, 'reading due alerts');
  }
}
