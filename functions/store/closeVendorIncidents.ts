import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
update vendor_incident
   set closed_at = $2::timestamptz
 where vendor = $1::text
   and kind = any($3::text[])
   and closed_at is null
returning kind`;

/** Closes the vendor's open incidents of these kinds (it answered well again). Returns the kinds closed. */
export async function closeVendorIncidents(
  db: Queryable,
  args: { vendor: string; kinds: string[]; now: Date },
): Promise<string[]> {
  if (args.kinds.length === 0) return [];
  try {
    const result = await db.query<{ kind: string }>(SQL, [args.vendor, args.now, args.kinds]);
    return result.rows.map((r) => r.kind);
  } catch (err) {
    throw mapDatabaseError(err, 'closing vendor incidents');
  }
}
