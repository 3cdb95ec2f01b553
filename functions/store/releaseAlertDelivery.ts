import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// Ends the lease now, so the platform's retry of this delivery can claim the alert again at once
// instead of waiting for the lease to run out.
const SQL = `
update alert_delivery
   set lease_expires_at = $3::timestamptz,
       last_error = $4::text,
       updated_at = $3::timestamptz
 where alert_id = $1::text and lease_owner = $2::text and state = 'sending'`;

/** Gives up the lease after a send that may succeed on retry, recording why it failed. */
export async function releaseAlertDelivery(
  db: Queryable,
  args: { alertId: string; owner: string; error: string; now: Date },
): Promise<void> {
  try {
    await db.query(SQL, [args.alertId, args.owner, args.now, args.error.slice(0, 2000)]);
  } catch (err) {
    throw mapDatabaseError(err, 'releasing an alert delivery');
  }
}
