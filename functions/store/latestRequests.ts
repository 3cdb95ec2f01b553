import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** A customer's latest deletion request, as reconciliation needs it. */
export interface LatestRequest {
  customerId: string;
  revokedAt: Date;
  /** Set when consent was granted again after this request. */
  regrantedAt: Date | null;
}

const RowSchema = z.object({ customer_id: z.string(), revoked_at: z.date(), regranted_at: z.date().nullable() });

// One statement per scanned page: unnest the ids, take each one's newest request through the
// (customer_id, revoked_at desc) index.
const SQL = `
select c.customer_id, r.revoked_at, r.regranted_at
  from unnest($1::text[]) as c (customer_id)
  join lateral (
    select q.revoked_at, q.regranted_at
      from deletion_request q
     where q.customer_id = c.customer_id
     order by q.revoked_at desc
     limit 1
  ) r on true`;

/** The latest request of each given customer; customers with none are absent from the map. */
export async function latestRequests(db: Queryable, customerIds: readonly string[]): Promise<Map<string, LatestRequest>> {
  if (customerIds.length === 0) return new Map();
  let rows: unknown[];
  try {
    rows = (await db.query(SQL, [customerIds])).rows;
  } catch (err) {
    throw mapDatabaseError(err, 'looking up requests to reconcile');
  }
  const out = new Map<string, LatestRequest>();
  for (const raw of rows) {
    const r = RowSchema.parse(raw);
    out.set(r.customer_id, { customerId: r.customer_id, revokedAt: r.revoked_at, regrantedAt: r.regranted_at });
  }
  return out;
}
