import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Only the lease holder may mark the alert sent: a delivery whose lease expired and was taken over must
// not overwrite the newer attempt's outcome.
const SQL = `
update alert_delivery
   set state = 'sent',
       provider_message_id = $3::text,
       sent_at = $4::timestamptz,
       updated_at = $4::timestamptz,
       lease_owner = null,
       lease_expires_at = null,
       last_error = null
 where alert_id = $1::text and lease_owner = $2::text and state = 'sending'
returning alert_id`;

/** Marks an alert sent by the delivery holding its lease. Returns false if that delivery no longer holds it. */
export async function markAlertSent(
  db: Queryable,
  args: { alertId: string; owner: string; providerMessageId: string | undefined; now: Date },
): Promise<boolean> {
  try {
    const result = await db.query(SQL, [args.alertId, args.owner, args.providerMessageId ?? null, args.now]);
    return (result.rowCount ?? 0) > 0;
  } catch (err) {
    throw mapDatabaseError(err, 'marking an alert sent');
  }
}
