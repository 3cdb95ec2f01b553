import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const Row = z.object({ deletion_id: z.string(), call: z.enum(['check', 'submit']), seen_at: z.date(), total: z.coerce.number().int() });

// The most recently seen first, so an email that cannot list them all lists the latest.
const SQL = `
select vendor_deletion_id::text as deletion_id, call, seen_at, count(*) over () as total
  from vendor_incident_deletion
 where vendor = $1::text and kind = $2::text and opened_at = $3::timestamptz
 order by seen_at desc, vendor_deletion_id
 limit $4::int`;

/** The deletions whose calls met one vendor incident (at most `limit`), and how many there are in all. */
export async function readIncidentDeletions(
  db: Queryable,
  args: { vendor: string; kind: string; openedAt: Date; limit: number },
): Promise<{ items: Array<{ deletionId: string; call: 'check' | 'submit'; seenAt: Date }>; total: number }> {
  try {
    const result = await db.query(SQL, [args.vendor, args.kind, args.openedAt, args.limit]);
    const rows = result.rows.map((r) => Row.parse(r));
    return { items: rows.map((r) => ({ deletionId: r.deletion_id, call: r.call, seenAt: r.seen_at })), total: rows[0]?.total ?? 0 };
  } catch (err) {
    throw mapDatabaseError(err, 'reading the deletions of a vendor incident');
  }
}
