import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

// A later pause never shortens a longer one another poller recorded.
const SQL = `
insert into vendor_pause (vendor, paused_until, reason, updated_at)
values ($1::text, $2::timestamptz, $3::text, $4::timestamptz)
on conflict (vendor) do update
   set paused_until = greatest(vendor_pause.paused_until, excluded.paused_until),
       reason = excluded.reason,
       updated_at = excluded.updated_at`;

/** Records that `vendor` must not be called before `until`, so every poller honours it. */
export async function pauseVendor(db: Queryable, args: { vendor: string; until: Date; reason: string; now: Date }): Promise<void> {
  try {
    await db.query(SQL, [args.vendor, args.until, args.reason, args.now]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording a vendor pause');
  }
}
