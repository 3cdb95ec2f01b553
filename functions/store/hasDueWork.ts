import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
select exists (
  select 1
    from vendor_deletion
   where next_check_at <= $1::timestamptz
     and (lease_expires_at is null or lease_expires_at <= $1::timestamptz)
     and vendor = any($2::text[])
) as due`;

/** True when some deletion of `vendors` is due and unclaimed (decides whether to hand on a continuation). */
export async function hasDueWork(db: Queryable, args: { now: Date; vendors: string[] }): Promise<boolean> {
  if (args.vendors.length === 0) return false;
  try {
    const result = await db.query<{ due: boolean }>(SQL, [args.now, args.vendors]);
    return result.rows[0]?.due === true;
  } catch (err) {
    throw mapDatabaseError(err, 'looking for due deletions');
  }
}
