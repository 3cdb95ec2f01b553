import assert from 'node:assert/strict';
import { migrate } from '../../../functions/store/migrate.js';
import { createEmptyDatabase, type TestDatabase } from '../../helpers/db.js';

describe('migrate (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createEmptyDatabase('migrate');
  });
  afterEach(async function () {
    await db.drop(this.currentTest?.state === 'failed');
  });

  it('applies every migration, then nothing on a second run', async () => {
    const first = await migrate({ databaseUrl: db.url });
    assert.ok(first.includes('000001_core'));
    assert.deepEqual(await migrate({ databaseUrl: db.url }), []);
    const views = await db.pool.query<{ table_name: string }>(
      "select table_name from information_schema.views where table_schema = 'public' order by 1",
    );
    assert.deepEqual(
      views.rows.map((r) => r.table_name).filter((n) => n.endsWith('_deletion')),
      ['completed_deletion', 'pending_deletion'],
    );
  });

  it('is safe from three processes at once: each migration applied exactly once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: db.url })));
    const all = results.flat();
    assert.equal(new Set(all).size, all.length, 'no migration applied twice');
    const rows = await db.pool.query('select name from schema_migrations');
    assert.equal(rows.rowCount, all.length);
  });

  it('exposes the columns operators rely on in both views', async () => {
    await migrate({ databaseUrl: db.url });
    const cols = async (view: string) =>
      (
        await db.pool.query<{ column_name: string }>(
          'select column_name from information_schema.columns where table_name = $1',
          [view],
        )
      ).rows.map((r) => r.column_name);
    const pending = await cols('pending_deletion');
    for (const c of ['customer_id', 'vendor', 'operation_id', 'state', 'requested_at', 'submitted_at', 'last_checked_at', 'check_count', 'next_check_at', 'deadline_at'])
      assert.ok(pending.includes(c), `pending_deletion.${c}`);
    const completed = await cols('completed_deletion');
    for (const c of ['customer_id', 'vendor', 'operation_id', 'requested_at', 'completed_at', 'verified_at', 'check_count'])
      assert.ok(completed.includes(c), `completed_deletion.${c}`);
  });

  it('refuses to update or delete the event log', async () => {
    await migrate({ databaseUrl: db.url });
    await db.pool.query("insert into deletion_event (kind, customer_id) values ('revoked', 'c1')");
    await assert.rejects(db.pool.query("update deletion_event set kind = 'x'"), /append-only/);
    await assert.rejects(db.pool.query('delete from deletion_event'), /append-only/);
  });
});
