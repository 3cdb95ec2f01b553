import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// One statement for the whole alert: one entry per deletion the stored alert lists (alert_item), never for
// deletions named anywhere else.
const SQL = `
insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
select d.request_id, d.id, d.customer_id, d.vendor, 'alert_sent',
       jsonb_build_object('alertId', $1::text, 'alertKind', a.kind, 'incidentKey', a.incident_key,
                          'escalation', a.escalation, 'providerMessageId', $2::text, 'recipients', $3::text[]),
       $4::timestamptz
  from alert a
  join alert_item i on i.alert_id = a.id
  join vendor_deletion d on d.id = i.vendor_deletion_id
 where a.id = $1::uuid
 order by d.id`;

/** Appends one `alert_sent` entry per deletion the stored alert lists to the event log. Returns how many were written. */
export async function recordAlertSentEvents(
  db: Queryable,
  args: { alertId: string; providerMessageId: string | undefined; recipients: string[]; now: Date },
): Promise<number> {
  try {
    const result = await db.query(SQL, [args.alertId, args.providerMessageId ?? null, args.recipients, args.now]);
    return result.rowCount ?? 0;
  } catch (err) {
    throw mapDatabaseError(err, 'recording alert_sent events');
  }
}
