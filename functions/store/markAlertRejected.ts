import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
update alert_delivery
   set state = 'rejected',
       last_error = $3::text,
       rejected_at = $4::timestamptz,
       updated_at = $4::timestamptz,
       lease_owner = null,
       lease_expires_at = null
 where alert_id = $1::text and lease_owner = $2::text and state = 'sending'
returning alert_id`;

/** Records that the email provider refused the alert for good, so redeliveries do not try again. */
export async function markAlertRejected(
  db: Queryable,
  args: { alertId: string; owner: string; error: string; now: Date },
): Promise<boolean> {
  try {
    const result = await db.query(SQL, [args.alertId, args.owner, args.error.slice(0, 2000), args.now]);
    return (result.rowCount ?? 0) > 0;
  } catch (err) {
    throw mapDatabaseError(err, 'marking an alert rejected');
  }
}
