import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const AlertRow = z.object({
  id: z.uuid(),
  kind: z.string(),
  vendor: z.string().nullable(),
  incident_key: z.string(),
  escalation: z.coerce.number().int(),
  since: z.date(),
  raised_at: z.date(),
  summary: z.string(),
  total_items: z.coerce.number().int(),
  detail: z.string().nullable(),
});
const ItemRow = z.object({
  deletion_id: z.string(),
  customer_id: z.string(),
  vendor: z.string(),
  operation_id: z.string().nullable(),
  state: z.string(),
  since: z.date(),
  deadline_at: z.date().nullable(),
  last_error: z.string().nullable(),
  call: z.enum(['check', 'submit']).nullable(),
});

/** An alert as stored, with the incident's last detail where it is about one. */
export interface StoredAlert {
  id: string;
  kind: string;
  vendor: string | null;
  incidentKey: string;
  escalation: number;
  since: Date;
  raisedAt: Date;
  summary: string;
  totalItems: number;
  /** For a vendor incident: what was wrong when the alert was raised. */
  detail: string | null;
  items: StoredAlertItem[];
}

/** A deletion an alert lists, as it stands now. */
export interface StoredAlertItem {
  deletionId: string;
  customerId: string;
  vendor: string;
  operationId: string | null;
  state: string;
  since: Date;
  deadlineAt: Date | null;
  lastError: string | null;
  call: 'check' | 'submit' | null;
}

const ALERT_SQL = `
select a.id::text as id, a.kind, a.vendor, a.incident_key, a.escalation, a.since, a.raised_at, a.summary, a.total_items, a.detail
  from alert a
 where a.id = $1::uuid`;

const ITEMS_SQL = `
select d.id::text as deletion_id, d.customer_id, d.vendor, d.operation_id, d.state, ai.since, r.deadline_at,
       -- What the deletion's alert row says (deadline_at_risk: the expected date and its source; verification_failed:
       -- the lookup's summary), else its last error.
       coalesce((select da.detail from deletion_alert da join alert al on al.id = ai.alert_id
                  where da.vendor_deletion_id = d.id and da.kind = al.kind), d.last_error) as last_error,
       ai.call
  from alert_item ai
  join vendor_deletion d on d.id = ai.vendor_deletion_id
  join deletion_request r on r.id = d.request_id
 where ai.alert_id = $1::uuid
 order by ai.position`;

/** The alert with this id and the deletions it lists, or undefined when no alert has it. */
export async function readAlert(db: Queryable, id: string): Promise<StoredAlert | undefined> {
  try {
    const found = await db.query(ALERT_SQL, [id]);
    if (found.rows.length === 0) return undefined;
    const a = AlertRow.parse(found.rows[0]);
    const items = (await db.query(ITEMS_SQL, [id])).rows.map((r) => ItemRow.parse(r));
    return {
      id: a.id,
      kind: a.kind,
      vendor: a.vendor,
      incidentKey: a.incident_key,
      escalation: a.escalation,
      since: a.since,
      raisedAt: a.raised_at,
      summary: a.summary,
      totalItems: a.total_items,
      detail: a.detail,
      items: items.map((r) => ({
        deletionId: r.deletion_id,
        customerId: r.customer_id,
        vendor: r.vendor,
        operationId: r.operation_id,
        state: r.state,
        since: r.since,
        deadlineAt: r.deadline_at,
        lastError: r.last_error,
        call: r.call,
      })),
    };
  } catch (err) {
    throw mapDatabaseError(err, 'reading an alert');
  }
}
