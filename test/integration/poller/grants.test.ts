import assert from 'node:assert/strict';
import { useTestDatabase } from '../../helpers/db.js';

describe("poller tables and the functions' runtime role (real PostgreSQL)", () => {
  const db = useTestDatabase('poller_grants');

  for (const table of ['vendor_pause', 'deletion_alert', 'vendor_incident', 'poller_schedule']) {
    it(`consent_erasure_runtime may read, insert and update ${table}`, async () => {
      const r = await db().pool.query<{ s: boolean; i: boolean; u: boolean }>(
        `select has_table_privilege('consent_erasure_runtime', $1, 'select') as s,
                has_table_privilege('consent_erasure_runtime', $1, 'insert') as i,
                has_table_privilege('consent_erasure_runtime', $1, 'update') as u`,
        [table],
      );
      assert.deepEqual(r.rows[0], { s: true, i: true, u: true });
    });
  }

  it('the poller runs as that role: claim, record and alert bookkeeping are allowed', async () => {
    const client = await db().pool.connect();
    try {
      await client.query('begin');
      await client.query('set local role consent_erasure_runtime');
      await client.query("insert into vendor_pause (vendor, paused_until, reason, updated_at) values ('http', now(), 't', now())");
      await client.query(
        "insert into vendor_incident (vendor, kind, opened_at, last_seen_at, detail) values ('http', 'contract_violation', now(), now(), 'x')",
      );
      await client.query("update vendor_incident set closed_at = now() where vendor = 'http'");
      await client.query('select * from deletion_alert');
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
