import { createHmac } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { inTransaction } from '../store/pool.js';

/** The keyed hash that replaces a customer id after retention: stable per key, so records stay findable. */
export function pseudonym(key: string, customerId: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(customerId, 'utf8').digest('hex')}`;
}

/** The ids a customer's records may be under: the id, and its pseudonym once retention has replaced it. */
export function recordedIds(customerId: string, retentionKey: string | undefined): string[] {
  return retentionKey ? [customerId, pseudonym(retentionKey, customerId)] : [customerId];
}

export interface PseudonymiseResult {
  requests: number;
  events: number;
}

/**
 * Replaces the raw customer id with a keyed hash in every record of requests that finished (all their
 * deletions completed or cancelled) more than `retentionMs` ago, so the deletion log does not itself become
 * a store of personal data. The event log's hash chain stays verifiable (it covers a salted subject hash,
 * not the raw id; the salt is dropped here). Works in bounded batches; returns what it changed.
 */
export function createPseudonymiser(deps: { pool: pg.Pool; log: Logger; clock: Clock; key: string; retentionMs: number }) {
  return async function pseudonymiseFinished(batchSize = 500): Promise<PseudonymiseResult> {
    const cutoff = new Date(deps.clock.now().getTime() - deps.retentionMs);
    return inTransaction(deps.pool, async (client) => {
      const due = await client.query<{ id: string; customer_id: string }>(
        `select r.id::text, r.customer_id
           from deletion_request r
          where r.customer_id not like 'hmac-sha256:%'
            and not exists (select 1 from vendor_deletion d
                             where d.request_id = r.id and d.state not in ('completed', 'cancelled'))
            and coalesce((select max(coalesce(d.completed_at, d.updated_at)) from vendor_deletion d where d.request_id = r.id),
                         r.created_at) < $1::timestamptz
          order by r.id
          limit $2::int
          for update of r skip locked`,
        [cutoff, batchSize],
      );
      if (due.rows.length === 0) return { requests: 0, events: 0 };
      const ids = due.rows.map((r) => r.id);
      const names = due.rows.map((r) => pseudonym(deps.key, r.customer_id));
      await client.query("set local consent_erasure.retention = 'on'");
      await client.query(
        `update deletion_request r set customer_id = u.name
           from unnest($1::bigint[], $2::text[]) as u(id, name) where r.id = u.id`,
        [ids, names],
      );
      // Vendor payloads may echo the id (e.g. a list of distinct ids); replace it there too.
      await client.query(
        `update vendor_deletion d
            set customer_id = u.name,
                status_payload = case when d.status_payload is null then null
                                      else replace(d.status_payload::text, to_json(d.customer_id)::text, to_json(u.name)::text)::jsonb end,
                operation_ref = case when d.operation_ref is null then null
                                     else replace(d.operation_ref::text, to_json(d.customer_id)::text, to_json(u.name)::text)::jsonb end,
                updated_at = $3::timestamptz
           from unnest($1::bigint[], $2::text[]) as u(id, name)
          where d.request_id = u.id`,
        [ids, names, deps.clock.now()],
      );
      const events = await client.query(
        `update deletion_event e
            set customer_id = u.name, subject_salt = null, redacted_at = $3::timestamptz
           from unnest($1::bigint[], $2::text[]) as u(id, name)
          where e.request_id = u.id and e.subject_salt is not null`,
        [ids, names, deps.clock.now()],
      );
      deps.log.info(
        { event: 'retention_pseudonymised', requests: ids.length, events: events.rowCount ?? 0 },
        'replaced customer ids of finished requests past retention with keyed hashes',
      );
      return { requests: ids.length, events: events.rowCount ?? 0 };
    });
  };
}
