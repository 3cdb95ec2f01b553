import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
select state, attempts, lease_expires_at, provider_message_id, sent_at
  from alert_delivery
 where alert_id = $1::text`;

const RowSchema = z.object({
  state: z.enum(['sending', 'sent', 'rejected']),
  attempts: z.number().int(),
  lease_expires_at: z.date().nullable(),
  provider_message_id: z.string().nullable(),
  sent_at: z.date().nullable(),
});

/** Where one alert's delivery stands, as another delivery of the same alert sees it. */
export interface AlertDeliveryRow {
  state: 'sending' | 'sent' | 'rejected';
  attempts: number;
  leaseExpiresAt: Date | null;
  providerMessageId: string | null;
  sentAt: Date | null;
}

/** Reads one alert's delivery row, or undefined when no delivery has claimed it yet. */
export async function readAlertDelivery(db: Queryable, alertId: string): Promise<AlertDeliveryRow | undefined> {
  let rows: unknown[];
  try {
    rows = (await db.query(SQL, [alertId])).rows;
  } catch (err) {
    throw mapDatabaseError(err, 'reading an alert delivery');
  }
  if (rows.length === 0) return undefined;
  const r = RowSchema.parse(rows[0]);
  return {
    state: r.state,
    attempts: r.attempts,
    leaseExpiresAt: r.lease_expires_at,
    providerMessageId: r.provider_message_id,
    sentAt: r.sent_at,
  };
}
