import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { capText } from '../text.js';

// The alert and the deletions it lists, in one statement. The alert's id is made by the caller (a random UUID).
const SQL = `
with a as (
  insert into alert (id, kind, vendor, incident_key, escalation, since, raised_at, summary, total_items, incident_opened_at, detail)
  values ($1::uuid, $2::text, $3::text, $4::text, $5::int, $6::timestamptz, $7::timestamptz, $8::text, $9::int, $10::timestamptz, $14::text)
  returning id
)
insert into alert_item (alert_id, vendor_deletion_id, position, since, call)
select a.id, i.id, i.position, i.since, i.call
  from a, unnest($11::bigint[], $12::timestamptz[], $13::text[]) with ordinality as i(id, since, call, position)`;

/** An alert as the poller raises it: what it is about and which deletions it lists. */
export interface NewAlert {
  id: string;
  kind: string;
  vendor: string | null;
  incidentKey: string;
  escalation: number;
  since: Date;
  raisedAt: Date;
  summary: string;
  totalItems: number;
  /** For a vendor incident: when it opened. */
  incidentOpenedAt: Date | null;
  /** For a vendor incident: what was wrong (a sample, the quota figures), capped. */
  detail?: string;
  /** In the order the email lists them. */
  items: Array<{ deletionId: string; since: Date; call?: 'check' | 'submit' }>;
}

/** Writes an alert, not yet published, with the deletions it lists. */
export async function recordAlert(db: Queryable, alert: NewAlert): Promise<void> {
  try {
    await db.query(SQL, [
      alert.id,
      alert.kind,
      alert.vendor,
      alert.incidentKey,
      alert.escalation,
      alert.since,
      alert.raisedAt,
      alert.summary,
      alert.totalItems,
      alert.incidentOpenedAt,
      alert.items.map((i) => i.deletionId),
      alert.items.map((i) => i.since),
      alert.items.map((i) => i.call ?? null),
      alert.detail === undefined ? null : capText(alert.detail, 4000),
    ]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording an alert');
  }
}
