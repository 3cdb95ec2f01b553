import { createHmac } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { pseudonymiseRequests } from '../store/pseudonymiseRequests.js';

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

/**
 * Replaces the raw customer id with a keyed hash in every record of requests that finished (all their
 * deletions completed or cancelled) more than `retentionMs` ago, so the deletion log does not itself become
 * a store of personal data. The event log's hash chain stays verifiable (it covers a salted subject hash,
 * not the raw id; the salt is dropped here). Works in bounded batches; returns what it changed.
 */
export function createPseudonymiser(deps: { pool: pg.Pool; log: Logger; clock: Clock; key: string; retentionMs: number }) {
  return async function pseudonymiseFinished(batchSize = 500): Promise<PseudonymiseResult> {
    const result = await pseudonymiseRequests(deps.pool, {
      cutoff: new Date(deps.clock.now().getTime() - deps.retentionMs),
      limit: batchSize,
      now: deps.clock.now(),
      pseudonym: (customerId) => pseudonym(deps.key, customerId),
    });
    if (result.requests > 0) {
      deps.log.info(
        { event: 'retention_pseudonymised', requests: result.requests, events: result.events },
        'replaced customer ids of finished requests past retention with keyed hashes',
      );
    }
    return result;
  };
}
