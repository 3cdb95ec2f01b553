import type { Queryable } from '../../functions/store/pool.js';
import { AlertMessageSchema, type Alert } from '../../functions/alerts/AlertMessage.js';
import { loadAlert } from '../../functions/services/loadAlert.js';

/**
 * The alerts a memory publisher carried to `topic`, each read back from the database by the id its message holds,
 * as sendAlert reads it (the message itself is only `{alertId}`).
 */
export async function publishedAlerts(
  publisher: { messages: Array<{ topic: string; message: unknown }> },
  db: Queryable,
  topic = 'deletion-alerts',
): Promise<Alert[]> {
  const out: Alert[] = [];
  for (const m of publisher.messages.filter((x) => x.topic === topic)) {
    const { alertId } = AlertMessageSchema.parse(m.message);
    const alert = await loadAlert(db, alertId);
    if (!alert) throw new Error(`alert ${alertId} was published but is not in the database`);
    out.push(alert);
  }
  return out;
}
