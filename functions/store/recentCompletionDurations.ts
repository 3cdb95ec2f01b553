import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const Row = z.object({ vendor: z.string(), durations: z.array(z.coerce.number()) });

// Per vendor, through the partial index on its recent completions: at most $2 rows each, however many
// completed deletions the table holds.
const SQL = `
select v.vendor, coalesce(h.durations, '{}') as durations
  from unnest($1::text[]) as v (vendor)
  left join lateral (
    select array_agg(extract(epoch from c.completed_at - c.submitted_at) * 1000) as durations
      from (select d.completed_at, d.submitted_at
              from vendor_deletion d
             where d.vendor = v.vendor and d.state = 'completed' and d.submitted_at is not null
             order by d.completed_at desc
             limit $2::int) c
  ) h on true`;

/** Submission-to-completion times (ms) of each vendor's `limit` most recent completed deletions. */
export async function recentCompletionDurations(db: Queryable, vendors: readonly string[], limit: number): Promise<Map<string, number[]>> {
  if (vendors.length === 0) return new Map();
  try {
    const result = await db.query(SQL, [vendors, limit]);
    return new Map(result.rows.map((r) => Row.parse(r)).map((r) => [r.vendor, r.durations.filter((ms) => ms >= 0)]));
  } catch (err) {
    throw mapDatabaseError(err, 'reading vendors\' completion times');
  }
}
