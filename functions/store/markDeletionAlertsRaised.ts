import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Moves each alert to its next escalation step and appends an alert_raised entry, in one statement.
// The escalation guard makes a repeated mark (a retried cycle) change nothing.
const SQL = `
with input as (
  select * from unnest($2::bigint[], $3::text[], $4::int[], $5::text[]) as t(id, kind, escalation, alert_id)
),
marked as (
  update deletion_alert a
     set raised_at = $1::timestamptz, escalation = a.escalation + 1
    from input i
   where a.vendor_deletion_id = i.id and a.kind = i.kind and a.escalation = i.escalation and a.resolved_at is null
  returning a.vendor_deletion_id as id, i.kind, i.escalation, i.alert_id
),
events as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select d.request_id, d.id, d.customer_id, d.vendor, 'alert_raised',
         jsonb_build_object('alertId', m.alert_id, 'alertKind', m.kind, 'escalation', m.escalation), $1::timestamptz
    from marked m
    join vendor_deletion d on d.id = m.id
   order by m.id
  returning 1
)
select (select count(*) from marked)::int as marked`;

/** Records that these alerts were published (one statement, with their alert_raised events). */
export async function markDeletionAlertsRaised(
  db: Queryable,
  args: { now: Date; items: Array<{ deletionId: string; kind: string; escalation: number; alertId: string }> },
): Promise<number> {
  if (args.items.length === 0) return 0;
  try {
    const result = await db.query<{ marked: number }>(SQL, [
      args.now,
      args.items.map((i) => i.deletionId),
      args.items.map((i) => i.kind),
      args.items.map((i) => i.escalation),
      args.items.map((i) => i.alertId),
    ]);
    return result.rows[0]?.marked ?? 0;
  } catch (err) {
    throw mapDatabaseError(err, 'recording raised alerts');
  }
}
