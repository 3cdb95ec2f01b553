import { z } from 'zod';
import type { Queryable } from './pool.js';

/** Why an entry breaks the chain. */
export type ChainBreak =
  | 'missing_entry' // a gap in chain_seq: an entry was deleted
  | 'prev_hash_mismatch' // the link to the previous entry does not match: reordered or deleted
  | 'content_changed' // the entry's content no longer matches its hash
  | 'subject_changed' // the customer id no longer matches its subject hash
  | 'head_mismatch'; // the chain's recorded head does not match its last entry: entries removed at the end

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The first entry that breaks the chain, if any. */
  broken?: { seq: number; id: number | null; reason: ChainBreak; detail: string };
}

const RowSchema = z.object({
  id: z.coerce.number(),
  chain_seq: z.coerce.number(),
  prev_hash: z.string(),
  hash: z.string(),
  expected_hash: z.string(),
  subject_ok: z.boolean().nullable(),
  redacted: z.boolean(),
  customer_id: z.string().nullable(),
});

const PAGE = 5000;

const BEFORE_SQL = "select encode(hash, 'hex') as hash from deletion_event where chain_seq = $1::bigint";
const GENESIS_SQL = "select encode(sha256(''::bytea), 'hex') as hash";
const HEAD_SQL = "select seq::text, encode(hash, 'hex') as hash from deletion_event_chain_head";
const PAGE_SQL = `select id, chain_seq,
              encode(prev_hash, 'hex') as prev_hash,
              encode(hash, 'hex') as hash,
              encode(sha256(deletion_event_content(chain_seq, prev_hash, subject_hash, request_id, vendor_deletion_id,
                                                   vendor, kind, detail, occurred_at)), 'hex') as expected_hash,
              case when subject_salt is null then null
                   else subject_hash = sha256(subject_salt || convert_to(customer_id, 'UTF8')) end as subject_ok,
              redacted_at is not null as redacted,
              customer_id
         from deletion_event
        where chain_seq > $1::bigint and ($2::bigint is null or chain_seq <= $2::bigint)
        order by chain_seq
        limit $3::int`;

const brk = (reason: ChainBreak, detail: string) => ({ reason, detail });

/** Why one entry breaks the chain, if it does. */
function breakOf(row: z.infer<typeof RowSchema>, expectedSeq: number, prevHash: string | null): { reason: ChainBreak; detail: string } | null {
  if (row.chain_seq !== expectedSeq) {
    return brk('missing_entry', `expected entry ${expectedSeq} next, found ${row.chain_seq}: entries are missing`);
  }
  if (prevHash !== null && row.prev_hash !== prevHash) {
    return brk('prev_hash_mismatch', 'its link to the previous entry does not match (an entry was removed, replaced or reordered)');
  }
  if (row.hash !== row.expected_hash) {
    return brk('content_changed', 'its content no longer matches the hash recorded when it was written');
  }
  // Retention leaves a pseudonym (hmac-sha256:…) or, after the purge, no customer id at all, and no salt.
  const retained = row.customer_id === null || row.customer_id.startsWith('hmac-sha256:');
  if (row.subject_ok === false || (row.subject_ok === null && row.redacted && !retained)) {
    return brk('subject_changed', 'its customer id no longer matches the subject hash recorded when it was written');
  }
  return null;
}

/**
 * Walks the hash chain in order (in pages, so memory stays flat) and names the first entry that breaks it.
 * `fromSeq`/`toSeq` restrict the walk to a range; the link into the range is checked against the entry before it.
 */
export async function verifyEventLog(db: Queryable, range: { fromSeq?: number; toSeq?: number } = {}): Promise<VerifyResult> {
  const from = range.fromSeq ?? 1;
  let prevHash: string | null = null;
  let expectedSeq = from;
  if (from > 1) {
    const before = await db.query<{ hash: string }>(BEFORE_SQL, [from - 1]);
    prevHash = before.rows[0]?.hash ?? null;
  } else {
    const genesis = await db.query<{ hash: string }>(GENESIS_SQL);
    prevHash = genesis.rows[0]!.hash;
  }
  let checked = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let lastHash: string | null = null;
  let cursor = from - 1;
  for (;;) {
    const page = await db.query(PAGE_SQL,
      [cursor, range.toSeq ?? null, PAGE],
    );
    if (page.rows.length === 0) break;
    for (const raw of page.rows) {
      const row = RowSchema.parse(raw);
      const broken = breakOf(row, expectedSeq, prevHash);
      if (broken) return { ok: false, checked, firstSeq, lastSeq, broken: { seq: row.chain_seq, id: row.id, ...broken } };
      checked += 1;
      firstSeq ??= row.chain_seq;
      lastSeq = row.chain_seq;
      prevHash = row.hash;
      lastHash = row.hash;
      expectedSeq = row.chain_seq + 1;
      cursor = row.chain_seq;
    }
  }
  if (range.toSeq === undefined) {
    const head = await db.query<{ seq: string; hash: string }>(HEAD_SQL);
    const h = head.rows[0];
    if (h && (Number(h.seq) !== (lastSeq ?? from - 1) || (lastHash !== null && h.hash !== lastHash))) {
      return {
        ok: false,
        checked,
        firstSeq,
        lastSeq,
        broken: {
          seq: Number(h.seq),
          id: null,
          reason: 'head_mismatch',
          detail: `the chain head records entry ${h.seq} as the last one, but the log ends at ${lastSeq ?? 'nothing'}: entries were removed from the end`,
        },
      };
    }
  }
  return { ok: true, checked, firstSeq, lastSeq };
}
