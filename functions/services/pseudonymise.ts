import { createHmac } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { DAY, type Clock } from '../clock.js';
import { pseudonymiseRequests, purgeRequests } from '../store/pseudonymiseRequests.js';

/** The keyed hash that replaces a customer id after retention: stable per key, so records stay findable. */
export function pseudonym(key: string, customerId: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(customerId, 'utf8').digest('hex')}`;
}

/** The ids a customer's records may be under: the id, and its pseudonym once retention has replaced it. */
export function recordedIds(customerId: string, retentionKey: string | undefined): string[] {
  return retentionKey ? [customerId, pseudonym(retentionKey, customerId)] : [customerId];
}

export type { PseudonymiseResult } from '../store/pseudonymiseRequests.js';
import type { PseudonymiseResult } from '../store/pseudonymiseRequests.js';

/** What one retention run changed, per stage. */
export interface RetentionResult extends PseudonymiseResult {
  purged: PseudonymiseResult;
}

export interface PseudonymiserDeps {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  key: string;
  /** After how long a finished request's customer id is replaced by its pseudonym. */
  retentionMs: number;
  /** After how long (from the same finish) the pseudonym goes too; undefined: never. */
  purgeMs?: number;
}

/**
 * Replaces the raw customer id with a keyed hash in every record of requests that finished (all their
 * deletions completed or cancelled) more than `retentionMs` ago, so the deletion log does not itself become
 * a store of personal data; then, after `purgeMs`, drops the pseudonym as well. The event log's hash chain stays
 * verifiable (it covers a salted subject hash, not the id). Both stages run in the database's retention
 * functions (sql/000015_retention_events.sql), in bounded batches; returns what changed.
 */
export function createPseudonymiser(deps: PseudonymiserDeps) {
  return async function pseudonymiseFinished(batchSize = 500): Promise<RetentionResult> {
    const now = deps.clock.now();
    const result = await pseudonymiseRequests(deps.pool, {
      cutoff: new Date(now.getTime() - deps.retentionMs),
      limit: batchSize,
      now,
      pseudonym: (customerId) => pseudonym(deps.key, customerId),
    });
    if (result.requests > 0) {
      deps.log.info(
        { event: 'retention_pseudonymised', requests: result.requests, events: result.events },
        'replaced customer ids of finished requests past retention with keyed hashes',
      );
    }
    const purged =
      deps.purgeMs === undefined
        ? { requests: 0, events: 0 }
        : await purgeRequests(deps.pool, { cutoff: new Date(now.getTime() - deps.purgeMs), limit: batchSize, now });
    if (purged.requests > 0) {
      deps.log.info(
        { event: 'retention_purged', requests: purged.requests, events: purged.events },
        'dropped the pseudonyms of finished requests past the purge period',
      );
    }
    return { ...result, purged };
  };
}

/** The retention run the poller makes after each cycle, from the configured periods (in days). */
export function pseudonymiserFor(deps: Omit<PseudonymiserDeps, 'retentionMs' | 'purgeMs'> & { days: number; purgeDays: number | null }) {
  const { days, purgeDays, ...rest } = deps;
  return createPseudonymiser({ ...rest, retentionMs: days * DAY, ...(purgeDays !== null ? { purgeMs: purgeDays * DAY } : {}) });
}
