import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFakeClock, DAY } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createPseudonymiser, pseudonym } from '../../../functions/services/pseudonymise.js';
import { verifyEventLog } from '../../../functions/store/verifyEventLog.js';
import { createTestDatabase, sealEvents, type TestDatabase } from '../../helpers/db.js';
import { eventually } from '../../helpers/eventually.js';
import { sealEventLog } from '../../../functions/store/sealEventLog.js';
import { DatabaseUnavailableError } from '../../../functions/errors.js';

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
    await sealEvents(db.pool);
  });
  afterEach(async function () {
    await db.drop(this.currentTest?.state === 'failed');
  });

  it('passes on an untouched log, whole and in a range', async () => {
    const whole = await verifyEventLog(db.pool);
    const none = { entries: 0, oldestAt: null };
    assert.deepEqual(whole, { ok: true, checked: 12, firstSeq: 1, lastSeq: 12, unsealed: none });
    const range = await verifyEventLog(db.pool, { fromSeq: 5, toSeq: 8 });
    assert.deepEqual(range, { ok: true, checked: 4, firstSeq: 5, lastSeq: 8, unsealed: none });
  });

  it('chains the entries of concurrent writers into one order', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => seed(db.pool, `c${i}`)));
    await sealEvents(db.pool);
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
    await sealEvents(db.pool);
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

  describe('the sealer: appends off the chain head, linked afterwards', () => {
    const insertEvent = (c: pg.Pool | pg.PoolClient, who: string) =>
      c.query("insert into deletion_event (kind, customer_id, detail) values ('revoked', $1, '{}'::jsonb) returning id::text", [who]);

    it('an append does not wait for another uncommitted append (no chain head lock on the commit path)', async () => {
      const slow = await db.pool.connect();
      const fast = await db.pool.connect();
      try {
        await slow.query('begin');
        await insertEvent(slow, 'slow');
        await fast.query('begin');
        await fast.query("set local lock_timeout = '1s'");
        await insertEvent(fast, 'fast');
        await fast.query('commit');
        // The later append committed first; the earlier one commits after and is sealed after it.
        assert.equal(await sealEvents(db.pool), 1);
        await slow.query('commit');
        assert.equal(await sealEvents(db.pool), 1);
      } finally {
        slow.release();
        fast.release();
      }
      const order = await db.pool.query<{ customer_id: string }>("select customer_id from deletion_event where customer_id in ('slow', 'fast') order by chain_seq");
      assert.deepEqual(order.rows.map((r) => r.customer_id), ['fast', 'slow']);
      assert.equal((await verifyEventLog(db.pool)).ok, true);
    });

    it('a sealer whose connection dies mid-statement links nothing, raises DatabaseUnavailableError, and the next one links the whole tail', async () => {
      const n = 5_000;
      await db.pool.query(
        "insert into deletion_event (kind, customer_id, detail) select 'revoked', 'cut-' || g, '{}'::jsonb from generate_series(1, $1::int) g",
        [n],
      );
      const before = await verifyEventLog(db.pool);
      // A row lock on an entry in the middle of the tail stops the sealer there, having linked the half before it.
      const blocker = await db.pool.connect();
      await blocker.query('begin');
      await blocker.query("select 1 from deletion_event where customer_id = 'cut-2500' for update");
      const sealer = await db.pool.connect();
      const pid = (await sealer.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const sealing = sealEventLog(sealer, { until: new Date(Date.now() + 60_000), now: () => new Date(), batch: n }).then(
        () => null,
        (err: unknown) => err,
      );
      try {
        await eventually('the sealer to wait at the locked entry', async () => {
          const r = await db.pool.query("select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'", [pid]);
          return r.rowCount === 1;
        }, 10_000, 10);
        await db.pool.query('select pg_terminate_backend($1)', [pid]);
      } finally {
        await blocker.query('rollback');
        blocker.release();
      }
      const err = await sealing;
      sealer.release(true);
      assert.ok(err instanceof DatabaseUnavailableError, `expected DatabaseUnavailableError, got ${String(err)}`);
      assert.match(err.message, /sealing the event log/);
      // The cut statement rolled back: the tail is whole, the lock was released with the session, the chain verifies.
      const cut = await verifyEventLog(db.pool);
      assert.deepEqual([cut.ok, cut.checked, cut.unsealed.entries], [true, before.checked, before.unsealed.entries]);
      assert.equal(await sealEventLog(db.pool, { until: new Date(Date.now() + 60_000), now: () => new Date() }), before.unsealed.entries);
      const after = await verifyEventLog(db.pool);
      assert.deepEqual([after.ok, after.checked, after.unsealed.entries], [true, before.checked + before.unsealed.entries, 0]);
    });

    it('verify-log reports the unsealed tail; the sealer links it and the chain verifies', async () => {
      await insertEvent(db.pool, 'tail-1');
      await insertEvent(db.pool, 'tail-2');
      const before = await verifyEventLog(db.pool);
      assert.equal(before.ok, true);
      assert.equal(before.checked, 12);
      assert.equal(before.unsealed.entries, 2);
      assert.ok(before.unsealed.oldestAt);
      assert.equal(await sealEvents(db.pool), 2);
      const after = await verifyEventLog(db.pool);
      assert.deepEqual([after.ok, after.checked, after.unsealed.entries], [true, 14, 0]);
    });

    it('an unsealed entry cannot be changed by the runtime role, which may only run the sealer', async () => {
      const { rows } = await insertEvent(db.pool, 'pending');
      const client = await db.pool.connect();
      try {
        await client.query('set role consent_erasure_runtime');
        await assert.rejects(client.query("update deletion_event set kind = 'x' where id = $1::bigint", [rows[0]!.id]), /permission denied/);
        const sealed = await client.query<{ n: number }>('select deletion_event_seal(10) as n');
        assert.equal(sealed.rows[0]!.n, 1);
      } finally {
        await client.query('reset role');
        client.release();
      }
      assert.equal((await verifyEventLog(db.pool)).ok, true);
    });

    it("even the table's owner cannot seal an entry with a hash that is not its content's, nor change content while sealing", async () => {
      const { rows } = await insertEvent(db.pool, 'forged');
      await assert.rejects(
        db.pool.query("update deletion_event set chain_seq = 13, prev_hash = sha256('x'), hash = sha256('y') where id = $1::bigint", [rows[0]!.id]),
        /append-only/,
      );
      await assert.rejects(
        db.pool.query(
          `update deletion_event set kind = 'verified', chain_seq = 13, prev_hash = h.hash,
                  hash = sha256(deletion_event_content(13, h.hash, subject_hash, request_id, vendor_deletion_id, vendor, 'verified', detail, occurred_at))
             from deletion_event_chain_head h where id = $1::bigint`,
          [rows[0]!.id],
        ),
        /append-only/,
      );
      assert.equal(await sealEvents(db.pool), 1);
      assert.equal((await verifyEventLog(db.pool)).ok, true);
    });
  });
});
