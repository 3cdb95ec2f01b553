import { z } from 'zod';

/**
 * The event log's chain head as written outside PostgreSQL: the last entry's position and hash, and when it was
 * read. Anyone who can rewrite the database can recompute every hash of the chain; they cannot change an anchor
 * already written (a Cloud Storage bucket with a retention policy, or a file), so `verify-log` catches them.
 */
export const ChainAnchorSchema = z.object({
  sequence: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hash in lower-case hex'),
  time: z.iso.datetime(),
});
export type ChainAnchor = z.infer<typeof ChainAnchorSchema>;

/** An anchor as found in its store, with where it was found (an object or file name) for the report. */
export interface StoredAnchor extends ChainAnchor {
  name: string;
}

/** The port: write once, list all. */
export interface AnchorStore {
  /** Where anchors go, for messages (gs://bucket/prefix, or a folder). */
  readonly where: string;
  /** Writes the anchor once; an anchor of the same entry already there is left as it is ('exists'). */
  write(anchor: ChainAnchor): Promise<'written' | 'exists'>;
  /** Every anchor, in sequence order. */
  list(): Promise<StoredAnchor[]>;
}

/** The object or file name of an anchor: its sequence (zero-padded, so names sort in order) and hash. */
export function anchorName(anchor: Pick<ChainAnchor, 'sequence' | 'hash'>): string {
  return `${String(anchor.sequence).padStart(20, '0')}-${anchor.hash}.json`;
}

const NAME = /^(\d{20})-([0-9a-f]{64})\.json$/;

/**
 * Reads an anchor from its name and content. The name and the content must agree: an anchor whose content says
 * something else than its name was not written by us, and is refused with the reason.
 */
export function parseAnchor(name: string, content: string): StoredAnchor {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const m = NAME.exec(base);
  if (!m) throw new Error(`${name}: not an anchor name (<20-digit sequence>-<sha256 hex>.json)`);
  let parsed: ChainAnchor;
  try {
    parsed = ChainAnchorSchema.parse(JSON.parse(content));
  } catch (err) {
    throw new Error(`${name}: not an anchor (${(err as Error).message})`, { cause: err });
  }
  if (parsed.sequence !== Number(m[1]) || parsed.hash !== m[2]) throw new Error(`${name}: its content names entry ${parsed.sequence}, hash ${parsed.hash}`);
  return { ...parsed, name };
}

/** The JSON written for an anchor. */
export function anchorContent(anchor: ChainAnchor): string {
  return `${JSON.stringify(ChainAnchorSchema.parse(anchor))}\n`;
}
