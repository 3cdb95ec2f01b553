import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { pseudonym } from '../../../functions/services/pseudonymise.js';
import { verifyEventLog } from '../../../functions/store/verifyEventLog.js';
import { ADMIN_URL, useTestDatabase } from '../../helpers/db.js';
import { cli } from '../cli/helpers.js';

// Who may change the event log, on a real server with real roles: the runtime role (what every function's
// database user holds) may only append; retention's change goes through the security-definer functions, which
// only consent_erasure_retention may execute, and which change only what retention may change.

const KEY = 'retention-key-retention-key-0123456789';

async function seedRequest(pool: pg.Pool, customerId: string, state: string): Promise<string> {
  const r = await pool.query<{ id: string }>(
    `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, created_at)
     values ($1, '2026-01-01Z', 'evt', 'test', '2026-02-01Z', '2026-01-01Z') returning id::text`,
    [customerId],
  );
  const id = r.rows[0]!.id;
  const d = await pool.query<{ id: string }>(
    `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_id, completed_at, last_error)
     values ($1::bigint, $2, 'amplitude', $3, 'proj/2026-01-01/' || $2, case when $3 = 'completed' then '2026-01-05Z'::timestamptz end,
             'GET /users/' || $2 || ' answered 500') returning id::text`,
    [id, customerId, state],
  );
  await pool.query(
    `insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
     values ($1::bigint, $2::bigint, $3, 'amplitude', 'submitted', jsonb_build_object('operationId', 'proj/2026-01-01/' || $3), '2026-01-01Z')`,
    [id, d.rows[0]!.id, customerId],
  );
  return id;
}

describe('event log rewrites and roles (real PostgreSQL)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('retention_roles');
  const suffix = randomBytes(3).toString('hex');
  const runtimeUser = `runtime-${suffix}`;
  const retentionUser = `retention-${suffix}`;
  const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 1 });
  const as = (user: string) => {
    const u = new URL(db().url);
    u.username = user;
    return new pg.Client({ connectionString: u.toString() });
  };

  before(async () => {
    await admin.query(`create role "${runtimeUser}" login in role consent_erasure_runtime`);
    await admin.query(`create role "${retentionUser}" login in role consent_erasure_runtime, consent_erasure_retention`);
    await admin.query(`grant connect on database ${db().name} to "${runtimeUser}", "${retentionUser}"`);
  });
  after(async () => {
    await admin.query(`drop owned by "${runtimeUser}", "${retentionUser}"`).catch(() => undefined);
    for (const u of [runtimeUser, retentionUser]) await admin.query(`drop role if exists "${u}"`);
    await admin.end();
  });

  it('lets the runtime role append to the log, and rewrite no event in any way', async () => {
    const finished = await seedRequest(db().pool, 'ann', 'completed');
    const c = as(runtimeUser);
    await c.connect();
    try {
      await c.query("insert into deletion_event (kind, customer_id, detail) values ('revoked', 'zed', '{\"reason\": \"test\"}')");
      const name = pseudonym(KEY, 'ann');
      const rewrites = [
        ['update deletion_event set customer_id = $1, subject_salt = null, redacted_at = now() where request_id = $2::bigint', [name, finished]],
        ['update deletion_event set customer_id = null, subject_salt = null, redacted_at = now() where request_id = $1::bigint', [finished]],
        ["update deletion_event set detail = '{}' where request_id = $1::bigint", [finished]],
        ['delete from deletion_event where request_id = $1::bigint', [finished]],
      ] as const;
      for (const [sql, params] of rewrites) {
        await assert.rejects(c.query(sql, [...params]), /permission denied/, sql);
      }
      // The session setting that once opened the retention exception opens nothing now.
      await c.query("set consent_erasure.retention = 'on'");
      await assert.rejects(c.query(rewrites[0][0], [...rewrites[0][1]]), /permission denied/);
      await assert.rejects(
        c.query("select * from retention_pseudonymise(array[$1::bigint], array[$2], 'infinity', now())", [finished, name]),
        /permission denied for function retention_pseudonymise/,
      );
      await assert.rejects(c.query("select * from retention_purge('infinity', 10, now())"), /permission denied for function retention_purge/);
      await assert.rejects(c.query('set role consent_erasure_owner'), /permission denied to set role/);
      await assert.rejects(c.query('set role consent_erasure_retention'), /permission denied to set role/);
    } finally {
      await c.end();
    }
    const kept = await db().pool.query("select count(*)::int as n from deletion_event where customer_id = 'ann'");
    assert.equal(kept.rows[0].n, 1, 'the event still names ann: nothing was rewritten');
    assert.equal((await verifyEventLog(db().pool)).ok, true);
  });

  it('gives the runtime role no DELETE on working tables, nor on tables made later', async () => {
    const owner = new pg.Client({ connectionString: db().url });
    await owner.connect();
    try {
      await owner.query('create table later_working_state (x int)');
    } finally {
      await owner.end();
    }
    const rights = await db().pool.query<{ table_name: string }>(
      `select table_name from information_schema.role_table_grants
        where grantee = 'consent_erasure_runtime' and privilege_type = 'DELETE'`,
    );
    assert.deepEqual(rights.rows, []);
    const c = as(runtimeUser);
    await c.connect();
    try {
      await assert.rejects(c.query('delete from vendor_pause'), /permission denied/);
      await assert.rejects(c.query('delete from later_working_state'), /permission denied/);
    } finally {
      await c.end();
    }
  });

  it('lets the retention role pseudonymise finished requests only, through the function, and the log still verifies', async () => {
    const done = await seedRequest(db().pool, 'bea', 'completed');
    const open = await seedRequest(db().pool, 'cid', 'submitted');
    const c = as(retentionUser);
    await c.connect();
    try {
      await assert.rejects(
        c.query('update deletion_event set customer_id = null, subject_salt = null, redacted_at = now() where request_id = $1::bigint', [done]),
        /permission denied/,
        'even the retention role may not touch the log except through the function',
      );
      const r = await c.query<{ requests: number; events: number }>(
        "select * from retention_pseudonymise(array[$1::bigint, $2::bigint], array[$3, $4], '2026-06-01Z', now())",
        [done, open, pseudonym(KEY, 'bea'), pseudonym(KEY, 'cid')],
      );
      assert.deepEqual(r.rows[0], { requests: 1, events: 1 }, 'the unfinished request is left alone');
      const malformed = await c.query("select * from retention_pseudonymise(array[$1::bigint], array['not-a-hash'], '2026-06-01Z', now())", [open]);
      assert.deepEqual(malformed.rows[0], { requests: 0, events: 0 });
    } finally {
      await c.end();
    }
    const row = await db().pool.query<{ operation_id: string; last_error: string }>(
      'select operation_id, last_error from vendor_deletion where request_id = $1::bigint',
      [done],
    );
    const name = pseudonym(KEY, 'bea');
    assert.deepEqual(row.rows[0], { operation_id: `proj/2026-01-01/${name}`, last_error: `GET /users/${name} answered 500` });
    assert.equal((await db().pool.query("select 1 from deletion_event where customer_id = 'cid'")).rowCount, 1);
    assert.equal((await verifyEventLog(db().pool)).ok, true);
  });
});

describe('event details before they are chained (real PostgreSQL)', () => {
  const db = useTestDatabase('event_detail');

  it('replaces the customer id in the detail by the salted subject hash, as a whole token only', async () => {
    const r = await db().pool.query<{ detail: Record<string, string>; subject: string }>(
      `insert into deletion_event (customer_id, kind, detail)
       values ('ann', 'revoked', jsonb_build_object('eventSource', '//firestore/projects/p/databases/(default)/documents/customers/ann',
                                                   'reason', 'joanne and ann.b stay', 'sourceEventId', 'ann'))
       returning detail, encode(subject_hash, 'hex') as subject`,
    );
    const { detail, subject } = r.rows[0]!;
    assert.equal(detail['eventSource'], `//firestore/projects/p/databases/(default)/documents/customers/subject:${subject}`);
    assert.equal(detail['sourceEventId'], `subject:${subject}`);
    assert.equal(detail['reason'], 'joanne and ann.b stay');
    assert.equal((await verifyEventLog(db().pool)).ok, true);
  });

  it('fails on a field that is not allow-listed (the tests run strict), and outside strict mode drops and counts it', async () => {
    await assert.rejects(
      db().pool.query(`insert into deletion_event (customer_id, kind, detail) values ('ann', 'queued', '{"submitAtOnce": true, "payload": {"id": "ann"}}')`),
      /detail field\(s\) \{payload\} of kind queued are not allow-listed/,
    );
    const client = await db().pool.connect();
    try {
      await client.query("set consent_erasure.event_detail_strict = 'off'");
      const r = await client.query<{ detail: unknown }>(
        `insert into deletion_event (customer_id, kind, detail) values ('ann', 'queued', '{"submitAtOnce": true, "payload": {"id": "ann"}}') returning detail`,
      );
      assert.deepEqual(r.rows[0]!.detail, { submitAtOnce: true });
    } finally {
      client.release();
    }
    const dropped = await db().pool.query('select kind, field, dropped::int from deletion_event_dropped_field');
    assert.deepEqual(dropped.rows, [{ kind: 'queued', field: 'payload', dropped: 1 }]);
    // verify-log shows auditors what never reached the chain.
    const env = { DATABASE_URL: db().url, VENDORS: 'http', VENDOR_HTTP_BASE_URL: 'https://vendor.example' };
    const r = await cli(['verify-log'], env, tmpdir());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /event detail fields dropped by the allow-list .*never chained:\n  queued\.payload: 1 event\(s\), /);
  });
});
