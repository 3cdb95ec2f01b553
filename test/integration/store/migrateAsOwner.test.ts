import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../../functions/store/migrate.js';
import { ADMIN_URL, createEmptyDatabase, type TestDatabase } from '../../helpers/db.js';
import { ROOT } from '../../unit/deploy/deployFiles.js';
import { renderTemplate } from '../../unit/deploy/hcl.js';

// The deployment's database bootstrap (infra/sql/bootstrap.sql.tftpl, rendered as Terraform renders it) run on a
// real server, then the migrations as the build's user through SET ROLE: the schema must end up owned by the
// NOLOGIN owner role, never by the account that ran them. Cloud SQL's IAM users are stood in for by login roles.

const OWNER = 'consent_erasure_owner';
const RUNTIME = 'consent_erasure_runtime';
const CALLBACK = 'consent_erasure_callback';
const RETENTION = 'consent_erasure_retention';

function urlAs(db: TestDatabase, user: string): string {
  const u = new URL(db.url);
  u.username = user;
  u.password = '';
  return u.toString();
}

async function asUser<T>(db: TestDatabase, user: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: urlAs(db, user) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('migrations owned by a NOLOGIN role (real PostgreSQL)', () => {
  const suffix = randomBytes(3).toString('hex');
  // Stand-ins for the IAM database users, with the characters Cloud SQL's names have (@ and .).
  const users = {
    build_user: `build-${suffix}@p.iam`,
    ingest_user: `ingest-${suffix}@p.iam`,
    poller_user: `poller-${suffix}@p.iam`,
    mailer_user: `mailer-${suffix}@p.iam`,
    callback_user: `callback-${suffix}@p.iam`,
  };
  let db: TestDatabase;
  let bootstrap: string;
  const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 1 });

  before(async function () {
    this.timeout(60_000);
    db = await createEmptyDatabase('owner');
    for (const u of Object.values(users)) await admin.query(`create role "${u}" login`);
    bootstrap = renderTemplate(readFileSync(join(ROOT, 'infra', 'sql', 'bootstrap.sql.tftpl'), 'utf8'), {
      ...users,
      database: db.name,
      owner_role: OWNER,
      runtime_role: RUNTIME,
      callback_role: CALLBACK,
      retention_role: RETENTION,
      statement_timeout: '60s',
    });
  });
  after(async () => {
    await db.drop();
    for (const u of Object.values(users)) await admin.query(`drop role if exists "${u}"`);
    await admin.end();
  });

  it('refuses to migrate as the build user itself: it may not create objects of its own', async () => {
    await db.pool.query(bootstrap);
    await db.pool.query(bootstrap); // safe to run again
    await assert.rejects(migrate({ databaseUrl: urlAs(db, users.build_user) }), /permission denied for schema public/);
    await assert.rejects(
      migrate({ databaseUrl: urlAs(db, users.ingest_user) }, undefined, { role: OWNER }),
      /cannot SET ROLE consent_erasure_owner .*run the database bootstrap/,
    );
  });

  it('migrates through SET ROLE: every object is owned by the owner role, none by the account that connected', async () => {
    const applied = await migrate({ databaseUrl: urlAs(db, users.build_user) }, undefined, { role: OWNER });
    assert.ok(applied.includes('000001_core'));
    const owners = await db.pool.query<{ kind: string; name: string; owner: string }>(
      `select c.relkind::text as kind, c.relname as name, pg_get_userbyid(c.relowner) as owner
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'v', 'S', 'p', 'm')
       union all
       select 'f', p.proname, pg_get_userbyid(p.proowner)
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public'`,
    );
    assert.ok(owners.rows.some((r) => r.name === 'schema_migrations'));
    assert.ok(owners.rows.some((r) => r.kind === 'f'), 'the chain functions are there');
    assert.deepEqual(
      owners.rows.filter((r) => r.owner !== OWNER),
      [],
      'objects not owned by the owner role',
    );
    // Nothing to do a second time, and the session role is back to the connecting user afterwards.
    await asUser(db, users.build_user, async (c) => {
      assert.deepEqual(await migrate({ client: c }, undefined, { role: OWNER }), []);
      assert.equal((await c.query<{ u: string }>('select current_user as u')).rows[0]!.u, users.build_user);
    });
  });

  it('gives the retention role to the poller alone', async () => {
    const members = await db.pool.query<{ member: string }>(
      `select pg_get_userbyid(m.member) as member from pg_auth_members m where m.roleid = to_regrole($1) order by 1`,
      [RETENTION],
    );
    assert.deepEqual(members.rows.map((r) => r.member), [users.poller_user]);
    // As deployed: the functions run as the owner, so the log's trigger accepts the poller's retention through them.
    const request = await db.pool.query<{ id: string }>(
      `with r as (insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at)
                  values ('c-owner', '2026-01-01Z', 'e', 'test', '2026-02-01Z') returning id),
            d as (insert into vendor_deletion (request_id, customer_id, vendor, state, completed_at)
                  select id, 'c-owner', 'http', 'completed', '2026-01-02Z' from r returning request_id)
       select request_id::text as id from d`,
    );
    const id = request.rows[0]!.id;
    await db.pool.query("insert into deletion_event (request_id, customer_id, kind) values ($1::bigint, 'c-owner', 'revoked')", [id]);
    const name = `hmac-sha256:${'ab'.repeat(32)}`;
    const call = (c: pg.Client) => c.query("select * from retention_pseudonymise(array[$1::bigint], array[$2], '2026-03-01Z', now())", [id, name]);
    await asUser(db, users.ingest_user, async (c) => {
      await assert.rejects(call(c), /permission denied for function retention_pseudonymise/);
    });
    await asUser(db, users.poller_user, async (c) => {
      assert.deepEqual((await call(c)).rows[0], { requests: 1, events: 1 });
    });
    const event = await db.pool.query('select customer_id, subject_salt from deletion_event where request_id = $1::bigint', [id]);
    assert.deepEqual(event.rows, [{ customer_id: name, subject_salt: null }]);
  });

  it("gives each function's user the runtime role's rights and no way to become the owner", async () => {
    await asUser(db, users.poller_user, async (c) => {
      await c.query("insert into deletion_event (kind, customer_id) values ('revoked', 'c1')");
      assert.equal((await c.query('select * from pending_deletion')).rowCount, 0);
      await assert.rejects(c.query(`set role ${OWNER}`), /permission denied to set role/);
      // A runaway statement ends: the bootstrap sets statement_timeout on each function's user.
      assert.equal((await c.query<{ statement_timeout: string }>('show statement_timeout')).rows[0]!.statement_timeout, '1min');
      await assert.rejects(c.query('create table t (x int)'), /permission denied for schema public/);
    });
  });

  it("gives the public callback function's user only its own narrow role: read a deletion, append, change nothing", async () => {
    await asUser(db, users.callback_user, async (c) => {
      await c.query('select id, vendor, operation_id, status_payload from vendor_deletion'); // may read the deletion a callback names
      await c.query("insert into deletion_event (kind, vendor) values ('callback_received', 'mparticle')");
      await assert.rejects(c.query("update vendor_deletion set state = 'completed'"), /permission denied for table vendor_deletion/);
      await assert.rejects(c.query('select customer_id from deletion_request'), /permission denied for table deletion_request/);
      await assert.rejects(c.query('select * from vendor_incident'), /permission denied for table vendor_incident/);
      await assert.rejects(c.query(`set role ${RUNTIME}`), /permission denied to set role/);
    });
  });
});
