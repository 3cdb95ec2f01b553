import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const Row = z.object({ id: z.uuid(), kind: z.string() });

const SQL = `
select id::text as id, kind
  from alert
 where published_at is null
 order by raised_at, id
 limit $1::int`;

/** Alerts written but not yet published (their publish failed, or their poller stopped in between), oldest first. */
export async function unpublishedAlerts(db: Queryable, args: { limit: number }): Promise<Array<{ id: string; kind: string }>> {
  try {
    const result = await db.query(SQL, [args.limit]);
    return result.rows.map((r) => Row.parse(r));
  } catch (err) {
    throw mapDatabaseError(err, 'reading unpublished alerts');
  }
}
