import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Inserts the delivery with a lease, or takes over one whose lease has expired (a crashed send). A row
// already sent, rejected, or leased by a live delivery is left alone and nothing is returned. Concurrent
// deliveries of one alert id serialise on the row, so exactly one of them gets it.
const SQL = `
insert into alert_delivery as d
       (alert_id, kind, vendor, incident_key, escalation, state, attempts, lease_owner, lease_expires_at,
        recipients, subject, first_attempt_at, updated_at)
values ($1::text, $2::text, $3::text, $4::text, $5::int, 'sending', 1, $6::text, $7::timestamptz,
        $8::text[], $9::text, $10::timestamptz, $10::timestamptz)
on conflict (alert_id) do update
   set attempts = d.attempts + 1,
       lease_owner = excluded.lease_owner,
       lease_expires_at = excluded.lease_expires_at,
       recipients = excluded.recipients,
       subject = excluded.subject,
       updated_at = excluded.updated_at
 where d.state = 'sending' and d.lease_expires_at <= excluded.updated_at
returning d.attempts`;

/** Claims the sending of one alert. Returns the attempt number, or undefined when another delivery holds it or it is done. */
export async function claimAlertDelivery(
  db: Queryable,
  args: {
    alertId: string;
    kind: string;
    vendor: string | null;
    incidentKey: string;
    escalation: number;
    owner: string;
    now: Date;
    leaseExpiresAt: Date;
    recipients: string[];
    subject: string;
  },
): Promise<number | undefined> {
  try {
    const result = await db.query<{ attempts: number }>(SQL, [
      args.alertId,
      args.kind,
      args.vendor,
      args.incidentKey,
      args.escalation,
      args.owner,
      args.leaseExpiresAt,
      args.recipients,
      args.subject,
      args.now,
    ]);
    return result.rows[0]?.attempts;
  } catch (err) {
    throw mapDatabaseError(err, 'claiming an alert delivery');
  }
}
