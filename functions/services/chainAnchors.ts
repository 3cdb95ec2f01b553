import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { AnchorStore, ChainAnchor, StoredAnchor } from '../anchors/ChainAnchor.js';
import { chainHashesAt, readChainHead } from '../store/chainAnchors.js';
import { claimScheduledRun } from '../store/claimScheduledRun.js';

/**
 * Writes the event log's chain head outside the database every `intervalMs` (CHAIN_ANCHOR_MINUTES), on the
 * poller's shared schedule, so one poller instance does it per interval. Returns the anchor written, or null
 * when none was due (or the log is empty). A failed write throws: the caller logs it and the next interval tries.
 */
export function createChainAnchorer(deps: { pool: pg.Pool; store: AnchorStore; clock: Clock; log: Logger; intervalMs: number }) {
  return async function anchorIfDue(): Promise<ChainAnchor | null> {
    if (deps.intervalMs <= 0) return null;
    const now = deps.clock.now();
    if (!(await claimScheduledRun(deps.pool, { name: 'chain_anchor', now, intervalMs: deps.intervalMs }))) return null;
    const head = await readChainHead(deps.pool);
    if (head.sequence === 0) return null;
    const anchor = { sequence: head.sequence, hash: head.hash, time: now.toISOString() };
    const outcome = await deps.store.write(anchor);
    deps.log.info({ event: 'chain_anchored', sequence: anchor.sequence, hash: anchor.hash, where: deps.store.where, outcome }, 'event log chain head anchored outside the database');
    return anchor;
  };
}

/** What checking the log against its anchors found. */
export interface AnchorCheck {
  ok: boolean;
  /** How many anchors were compared. */
  checked: number;
  latest: StoredAnchor | null;
  /** The first anchor (in sequence order) the log no longer matches. */
  broken?: { anchor: StoredAnchor; found: string | null; detail: string };
}

/**
 * Compares the log with every anchor ever written: the entry at each anchored position must still carry the
 * anchored hash. A log rewritten from some entry on, even with every later hash recomputed, differs from the
 * first anchor at or after that entry; a log cut short lacks the anchored entries.
 */
export async function checkChainAnchors(db: pg.Pool | pg.ClientBase, anchors: readonly StoredAnchor[]): Promise<AnchorCheck> {
  const ordered = [...anchors].sort((a, b) => a.sequence - b.sequence);
  const PAGE = 1000;
  for (let i = 0; i < ordered.length; i += PAGE) {
    const page = ordered.slice(i, i + PAGE);
    const found = await chainHashesAt(db, page.map((a) => a.sequence));
    for (const anchor of page) {
      const hash = found.get(anchor.sequence) ?? null;
      if (hash === anchor.hash) continue;
      const detail =
        hash === null
          ? `the log has no entry ${anchor.sequence} any more: entries were removed`
          : `entry ${anchor.sequence} now has hash ${hash}, not ${anchor.hash} as anchored at ${anchor.time}: the log was rewritten at or before it`;
      return { ok: false, checked: ordered.indexOf(anchor), latest: ordered.at(-1) ?? null, broken: { anchor, found: hash, detail } };
    }
  }
  return { ok: true, checked: ordered.length, latest: ordered.at(-1) ?? null };
}
