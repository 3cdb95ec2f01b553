import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// One statement for the whole digest. Ids that name no deletion (purged, or from another database) are
// skipped by the join rather than failing the delivery of an email already sent.
const SQL = `
insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
select d.request_id, d.id, d.customer_id, d.vendor, 'alert_sent',
       jsonb_build_object('alertId', $2::text, 'alertKind', $3::text, 'incidentKey', $4::text,
                          'escalation', $5::int, 'providerMessageId', $6::text, 'recipients', $7::text[]),
       $8::timestamptz
  from unnest($1::bigint[]) as i(id)
  join vendor_deletion d on d.id = i.id
 order by d.id`;

/** Appends one `alert_sent` entry per affected deletion to the event log. Returns how many were written. */
export async function recordAlertSentEvents(
  db: Queryable,
  args: {
    deletionIds: string[];
    alertId: string;
    kind: string;
    incidentKey: string;
    escalation: number;
    providerMessageId: string | undefined;
    recipients: string[];
    now: Date;
  },
): Promise<number> {
  const ids = [...new Set(args.deletionIds.filter((id) => /^[1-9][0-9]{0,17}$/.test(id)))];
  if (ids.length === 0) return 0;
  try {
    const result = await db.query(SQL, [
      ids,
      args.alertId,
      args.kind,
      args.incidentKey,
      args.escalation,
      args.providerMessageId ?? null,
      args.recipients,
      args.now,
    ]);
    return result.rowCount ?? 0;
  } catch (err) {
    throw mapDatabaseError(err, 'recording alert_sent events');
  }
}
