import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** Entries linked per statement: one statement holds the chain head's lock while it links them. */
export const SEAL_BATCH = 5_000;

/**
 * Links committed unsealed entries of the event log to the hash chain, in id order (deletion_event_seal,
 * sql/000022_event_sealer.sql), SEAL_BATCH per statement until none are left or `until` has passed. Only
 * one sealer works at a time; another returns 0 at once. Returns how many entries were linked.
 */
export async function sealEventLog(db: Queryable, args: { until: Date; now: () => Date; batch?: number }): Promise<number> {
  const batch = args.batch ?? SEAL_BATCH;
  let total = 0;
  try {
    for (;;) {
      const result = await db.query<{ n: number }>('select deletion_event_seal($1::int) as n', [batch]);
      const n = Number(result.rows[0]?.n ?? 0);
      total += n;
      if (n < batch || args.now() >= args.until) return total;
    }
  } catch (err) {
    throw mapDatabaseError(err, 'sealing the event log');
  }
}

const TailRow = z.object({ entries: z.coerce.number().int(), oldest_at: z.date().nullable() });

/** The entries not yet linked to the chain, and the time of the oldest. */
export async function unsealedTail(db: Queryable): Promise<{ entries: number; oldestAt: Date | null }> {
  try {
    const result = await db.query('select entries, oldest_at from deletion_event_unsealed()');
    const row = TailRow.parse(result.rows[0]);
    return { entries: row.entries, oldestAt: row.oldest_at };
  } catch (err) {
    throw mapDatabaseError(err, 'reading the unsealed tail of the event log');
  }
}
