import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `update alert set published_at = $2::timestamptz where id = $1::uuid and published_at is null`;

/** Records that an alert's reference reached the topic. */
export async function markAlertPublished(db: Queryable, args: { id: string; now: Date }): Promise<void> {
  try {
    await db.query(SQL, [args.id, args.now]);
  } catch (err) {
    throw mapDatabaseError(err, 'marking an alert published');
  }
}
