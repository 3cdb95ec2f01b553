import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const RowSchema = z.object({ seq: z.coerce.number(), id: z.coerce.number(), detail: z.unknown() });
export type CallbackEvidenceRow = z.infer<typeof RowSchema>;

const SQL = `
select chain_seq as seq, id, detail
  from deletion_event
 where kind = 'callback_received'
   and chain_seq > $1::bigint
   and ($2::bigint is null or chain_seq <= $2::bigint)
 order by chain_seq
 limit $3::int`;

/** Stored callbacks (callback_received events) after chain entry `afterSeq`, up to `toSeq`, a page at a time. */
export async function readCallbackEvidence(db: Queryable, args: { afterSeq: number; toSeq?: number | undefined; limit: number }): Promise<CallbackEvidenceRow[]> {
  try {
    const result = await db.query(SQL, [args.afterSeq, args.toSeq ?? null, args.limit]);
    return z.array(RowSchema).parse(result.rows);
  } catch (err) {
    if (err instanceof z.ZodError) throw err;
    throw mapDatabaseError(err, 'reading stored callbacks');
  }
}
