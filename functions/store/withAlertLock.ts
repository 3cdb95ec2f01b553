import type pg from 'pg';
import { mapDatabaseError } from './errors.js';

/** Serialises alert raising across pollers, so two cycles at once never digest the same rows twice. */
const ALERT_LOCK = 4242301;

/**
 * Runs `work` on one connection holding the session-level alert lock, if no other poller holds it.
 * Returns `{ locked: false }` at once when another poller does. The lock is released after `work`; a
 * connection whose unlock failed is dropped, which is what frees a session lock then.
 */
export async function withAlertLock<T>(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<T>): Promise<{ locked: false } | { locked: true; value: T }> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapDatabaseError(err, 'connecting to raise alerts');
  }
  let locked = false;
  let broken = false;
  try {
    try {
      const got = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [ALERT_LOCK]);
      locked = got.rows[0]?.locked === true;
    } catch (err) {
      throw mapDatabaseError(err, 'taking the alert lock');
    }
    if (!locked) return { locked: false };
    return { locked: true, value: await work(client) };
  } finally {
    if (locked) {
      await client.query('select pg_advisory_unlock($1::bigint)', [ALERT_LOCK]).catch(() => {
        broken = true;
      });
    }
    client.release(broken);
  }
}
