import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
select vendor, paused_until
  from vendor_pause
 where paused_until > $1::timestamptz`;

/** Vendors paused (by a 429's Retry-After) beyond `now`, with when each may be called again. */
export async function readVendorPauses(db: Queryable, now: Date): Promise<Map<string, Date>> {
  try {
    const result = await db.query<{ vendor: string; paused_until: Date }>(SQL, [now]);
    return new Map(result.rows.map((r) => [r.vendor, r.paused_until]));
  } catch (err) {
    throw mapDatabaseError(err, 'reading vendor pauses');
  }
}
