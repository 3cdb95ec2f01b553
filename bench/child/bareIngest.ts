/**
 * The ingest scenario's bare functions, served by the Functions Framework like onCustomerWritten, with no
 * decoding, no validation, no rule and no log line. BENCH_BARE_TABLE picks what each event costs the database:
 * - `record_request`: exactly the statement the real handler sends per revocation (store/recordRequest.ts: the
 *   request, one deletion per vendor and their events, hash chain included), with fixed values taken from the
 *   envelope: the machine's ceiling for our database work, so ours / this is what our logic costs;
 * - `deletion_event`: one insert into the event log (whose hash chain takes the chain head's row lock until commit);
 * - `bench_bare_event`: the same insert into a table without the chain.
 */
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import pg from 'pg';
import { recordRequest } from '../../functions/store/recordRequest.js';
import { SESSION_OPTIONS } from '../../functions/store/pool.js';

const TABLES = ['record_request', 'deletion_event', 'bench_bare_event'] as const;
const table = process.env['BENCH_BARE_TABLE'];
const url = process.env['BENCH_DATABASE_URL'];
if (!url || !TABLES.includes(table as (typeof TABLES)[number])) {
  throw new Error(`bareIngest: BENCH_DATABASE_URL and BENCH_BARE_TABLE (${TABLES.join(' | ')}) are required`);
}
const pool = new pg.Pool({ connectionString: url, max: Number(process.env['BENCH_POOL_MAX'] ?? '10'), options: SESSION_OPTIONS });
pool.on('error', () => {});
// The table name comes from the closed list above, never from a request.
const sql = `insert into ${table} (customer_id, kind, detail, occurred_at) values ($1::text, 'revoked', $2::jsonb, $3::timestamptz)`;

const vendors = (process.env['BENCH_VENDORS'] ?? 'segment').split(',');

functions.cloudEvent('bareIngest', async (event: CloudEvent<unknown>) => {
  const time = event.time ?? new Date().toISOString();
  if (table === 'record_request') {
    const now = new Date();
    await recordRequest(pool, {
      customerId: event.subject ?? event.id,
      revokedAt: time,
      source: event.source,
      sourceEventId: event.id,
      deadlineAt: new Date(Date.now() + 30 * 86_400_000),
      regime: 'gdpr',
      now,
      detail: { eventId: event.id },
      deletions: vendors.map((vendor) => ({ vendor, nextCheckAt: now, leaseOwner: null, leaseExpiresAt: null })),
    });
    return;
  }
  await pool.query(sql, [event.subject ?? event.id, JSON.stringify({ eventId: event.id }), time]);
});
