/**
 * The ingest scenario's bare function, served by the Functions Framework like onCustomerWritten: for each
 * CloudEvent it sends the one SQL statement the real handler sends per revocation (one insert, autocommit)
 * and nothing else: no decoding, no validation, no rule, no log line. Its rate is the machine's ceiling for
 * that load. BENCH_BARE_TABLE picks the table: `deletion_event` (the event log, whose hash chain takes the
 * chain head's row lock until commit) or `bench_bare_event` (the same columns, no chain).
 */
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import pg from 'pg';

const TABLES = ['deletion_event', 'bench_bare_event'] as const;
const table = process.env['BENCH_BARE_TABLE'];
const url = process.env['BENCH_DATABASE_URL'];
if (!url || !TABLES.includes(table as (typeof TABLES)[number])) {
  throw new Error(`bareIngest: BENCH_DATABASE_URL and BENCH_BARE_TABLE (${TABLES.join(' | ')}) are required`);
}
const pool = new pg.Pool({ connectionString: url, max: Number(process.env['BENCH_POOL_MAX'] ?? '10') });
pool.on('error', () => {});
// The table name comes from the closed list above, never from a request.
const sql = `insert into ${table} (customer_id, kind, detail, occurred_at) values ($1::text, 'revoked', $2::jsonb, $3::timestamptz)`;

functions.cloudEvent('bareIngest', async (event: CloudEvent<unknown>) => {
  await pool.query(sql, [event.subject ?? event.id, JSON.stringify({ eventId: event.id }), event.time ?? new Date().toISOString()]);
});
