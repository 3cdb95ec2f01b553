import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const HEAD_SQL = "select seq::text as seq, encode(hash, 'hex') as hash from deletion_event_chain_head";

// The entries the anchors name, by position: what the log says their hashes are now.
const AT_SQL = `
select a.seq::text as seq, encode(e.hash, 'hex') as hash
  from unnest($1::bigint[]) as a(seq)
  left join deletion_event e on e.chain_seq = a.seq`;

const HeadSchema = z.object({ seq: z.coerce.number().int().min(0), hash: z.string().regex(/^[0-9a-f]{64}$/) });
const AtSchema = z.object({ seq: z.coerce.number(), hash: z.string().nullable() });

/** The chain head as committed: the last entry's position (0 for an empty log) and hash. */
export async function readChainHead(db: Queryable): Promise<{ sequence: number; hash: string }> {
  try {
    const result = await db.query(HEAD_SQL);
    const head = HeadSchema.parse(result.rows[0]);
    return { sequence: head.seq, hash: head.hash };
  } catch (err) {
    throw mapDatabaseError(err, 'reading the event chain head');
  }
}

/** The hash the log now holds at each position (null where it holds no entry). */
export async function chainHashesAt(db: Queryable, positions: readonly number[]): Promise<Map<number, string | null>> {
  if (positions.length === 0) return new Map();
  try {
    const result = await db.query(AT_SQL, [positions.map(String)]);
    return new Map(result.rows.map((r) => AtSchema.parse(r)).map((r) => [r.seq, r.hash]));
  } catch (err) {
    throw mapDatabaseError(err, 'reading anchored entries of the event log');
  }
}
