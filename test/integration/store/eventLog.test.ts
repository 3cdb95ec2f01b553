import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFakeClock, DAY } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createPseudonymiser, pseudonym } from '../../../functions/services/pseudonymise.js';
import { verifyEventLog } from '../../../functions/store/verifyEventLog.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';

/** Writes a request with one vendor deletion and a few events, the way the services do. */
async function seed(pool: pg.Pool, customerId: string, state = 'completed', at = '2026-01-01T00:00:00Z'): Promise<string> {
  const r = await pool.query<{ id: string }>(
    `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, created_at)
     values ($1, $2::timestamptz, $3, 'test', $2::timestamptz + interval '30 days', $2::timestamptz) returning id::text`,
    [customerId, at, `evt-${customerId}`],
  );
  const requestId = r.rows[0]!.id;
  const d = await pool.query<{ id: string }>(
    `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_id, completed_at, status_payload)
     values ($1::bigint, $2, 'http', $3, 'op-1', case when $3 = 'completed' then $4::timestamptz end, $5::jsonb) returning id::text`,
    [requestId, customerId, state, at, JSON.stringify({ subject: customerId, status: 'complete' })],
  );
  await pool.query(
    `insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
     select $1::bigint, $2::bigint, $3, 'http', k,
            case k when 'revoked' then jsonb_build_object('eventSource', 'documents/customers/' || $3, 'reason', 'seeded')
                   when 'submitted' then jsonb_build_object('operationId', 'proj/2026-01-01/' || $3, 'attempt', n)
                   else jsonb_build_object('rawStatus', 'step ' || n) end,
            $4::timestamptz + n * interval '1 hour'
       from unnest($5::text[]) with ordinality as t(k, n)`,
    [requestId, d.rows[0]!.id, customerId, at, ['revoked', 'status_seen', 'submitted', 'completed']],
  );
  return requestId;
}

/** Changes the log the way only a superuser could: with triggers switched off for the session. */
async function tamper(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("set session_replication_role = 'replica'");
    await client.query(sql, params);
  } finally {
    await client.query("set session_replication_role = 'origin'");
    client.release();
  }
}

describe('event log hash chain (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('eventlog');
    await seed(db.pool, 'alice');
    await seed(db.pool, 'bob');
    await seed(db.pool, "o'brien; drop table x; --");
  });
  afterEach(async function () {
    await db.drop(this.currentTest?.state === 'failed');
  });

  it('passes on an untouched log, whole and in a range', async () => {
    const whole = await verifyEventLog(db.pool);
    assert.deepEqual(whole, { ok: true, checked: 12, firstSeq: 1, lastSeq: 12 });
    const range = await verifyEventLog(db.pool, { fromSeq: 5, toSeq: 8 });
    assert.deepEqual(range, { ok: true, checked: 4, firstSeq: 5, lastSeq: 8 });
  });

  it('chains the entries of concurrent writers into one order', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => seed(db.pool, `c${i}`)));
    const result = await verifyEventLog(db.pool);
    assert.equal(result.ok, true);
    assert.equal(result.checked, 12 + 20 * 4);
  });

  it('names the entry whose content was updated', async () => {
    await tamper(db.pool, "update deletion_event set kind = 'verified' where chain_seq = 6");
    const r = await verifyEventLog(db.pool);
    assert.equal(r.ok, false);
    assert.equal(r.broken?.seq, 6);
    assert.equal(r.broken?.reason, 'content_changed');
  });

  it('names the entry whose timestamp was moved', async () => {
    await tamper(db.pool, "update deletion_event set occurred_at = occurred_at - interval '1 day' where chain_seq = 4");
    const r = await verifyEventLog(db.pool);
    assert.equal(r.broken?.seq, 4);
  });

  it('names the entry after one that was deleted', async () => {
    await tamper(db.pool, 'delete from deletion_event where chain_seq = 7');
    const r = await verifyEventLog(db.pool);
    assert.equal(r.ok, false);
    assert.equal(r.broken?.seq, 8);
    assert.equal(r.broken?.reason, 'missing_entry');
  });

  it('detects entries removed from the end', async () => {
    await tamper(db.pool, 'delete from deletion_event where chain_seq > 10');
    const r = await verifyEventLog(db.pool);
    assert.equal(r.broken?.reason, 'head_mismatch');
  });

  it('detects a reorder (two entries swapping places)', async () => {
    await tamper(
      db.pool,
      `update deletion_event e set chain_seq = case e.chain_seq when 2 then -3 else -2 end where e.chain_seq in (2, 3);
       update deletion_event set chain_seq = -chain_seq where chain_seq < 0`,
    );
    const r = await verifyEventLog(db.pool);
    assert.equal(r.ok, false);
    assert.equal(r.broken?.seq, 2);
  });

  it('detects a customer id changed by hand', async () => {
    await tamper(db.pool, "update deletion_event set customer_id = 'mallory' where chain_seq = 1");
    const r = await verifyEventLog(db.pool);
    assert.equal(r.broken?.seq, 1);
    assert.equal(r.broken?.reason, 'subject_changed');
  });

  it("refuses the functions' role any update or delete of the log", async () => {
    const client = await db.pool.connect();
    try {
      await client.query('set role consent_erasure_runtime');
      await client.query("insert into deletion_event (kind, customer_id) values ('revoked', 'zed')");
      await assert.rejects(client.query("update deletion_event set kind = 'x' where chain_seq = 1"), /permission denied/);
      await assert.rejects(client.query("update deletion_event set customer_id = 'x' where chain_seq = 1"), /permission denied/);
      await assert.rejects(client.query('delete from deletion_event where chain_seq = 1'), /permission denied/);
    } finally {
      await client.query('reset role');
      client.release();
    }
    assert.equal((await verifyEventLog(db.pool)).ok, true);
  });

  it('pseudonymises finished requests past retention and keeps the chain valid', async () => {
    await seed(db.pool, 'carol', 'submitted', '2026-01-02T00:00:00Z');
    const clock = createFakeClock('2026-06-01T00:00:00Z');
    const run = createPseudonymiser({ pool: db.pool, log: silentLogger(), clock, key: 'retention-key', retentionMs: 90 * DAY });
    const result = await run();
    assert.deepEqual(result, { requests: 3, events: 12, purged: { requests: 0, events: 0 } });
    const left = await db.pool.query<{ customer_id: string }>(
      "select distinct customer_id from deletion_event where customer_id not like 'hmac-sha256:%' order by 1",
    );
    assert.deepEqual(
      left.rows.map((r) => r.customer_id),
      ['carol'],
      'only the unfinished request keeps its raw id',
    );
    const hashed = await db.pool.query(
      "select 1 from vendor_deletion where customer_id = $1 and status_payload->>'subject' = $1",
      [pseudonym('retention-key', 'alice')],
    );
    assert.equal(hashed.rowCount, 1, 'vendor payloads carry the pseudonym, not the id');
    assert.equal((await verifyEventLog(db.pool)).ok, true);
    assert.deepEqual(await run(), { requests: 0, events: 0, purged: { requests: 0, events: 0 } }, 'a second run changes nothing');
  });
});
