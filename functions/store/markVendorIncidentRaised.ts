import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Next escalation step plus an alert_raised entry for the vendor, in one statement; the escalation
// guard makes a repeated mark change nothing.
const SQL = `
with marked as (
  update vendor_incident
     set raised_at = $1::timestamptz, escalation = escalation + 1
   where vendor = $2::text and kind = $3::text and escalation = $4::int and closed_at is null
  returning vendor, kind
),
events as (
  insert into deletion_event (vendor, kind, detail, occurred_at)
  select m.vendor, 'alert_raised',
         jsonb_build_object('alertId', $5::text, 'alertKind', m.kind, 'escalation', $4::int), $1::timestamptz
    from marked m
  returning 1
)
select (select count(*) from marked)::int as marked`;

/** Records that a vendor incident's alert was published. Returns false if another poller already did. */
export async function markVendorIncidentRaised(
  db: Queryable,
  args: { now: Date; vendor: string; kind: string; escalation: number; alertId: string },
): Promise<boolean> {
  try {
    const result = await db.query<{ marked: number }>(SQL, [args.now, args.vendor, args.kind, args.escalation, args.alertId]);
    return (result.rows[0]?.marked ?? 0) > 0;
  } catch (err) {
    throw mapDatabaseError(err, 'recording a raised vendor alert');
  }
}
