import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const EXISTING_SQL = `
select id from deletion_request where customer_id = $1::text and revoked_at = $2::timestamptz`;

/** The id of the request already recorded for this revocation, if any. */
export async function findRequestId(db: Queryable, customerId: string, revokedAt: string): Promise<string | null> {
  try {
    const result = await db.query(EXISTING_SQL, [customerId, revokedAt]);
    const row = result.rows[0] as { id?: unknown } | undefined;
    return row?.id === undefined ? null : String(row.id);
  } catch (err) {
    throw mapDatabaseError(err, 'reading the deletion request');
  }
}
