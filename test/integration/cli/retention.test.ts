import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createFakeClock, DAY, HOUR } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { createFileAnchorStore } from '../../../functions/anchors/fileAnchorStore.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { checkChainAnchors, createChainAnchorer } from '../../../functions/services/chainAnchors.js';
import { pseudonym, pseudonymiserFor } from '../../../functions/services/pseudonymise.js';
import { verifyEventLog } from '../../../functions/store/verifyEventLog.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { localVendors } from '../../../local/localVendors.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';
import { cli } from './helpers.js';

/** Every row of every table in the schema, as text, that contains `needle`: table name → count. */
async function grepAllTables(pool: pg.Pool, needle: string): Promise<Record<string, number>> {
  const tables = await pool.query<{ name: string }>(
    "select quote_ident(table_name) as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
  );
  assert.ok(tables.rows.length >= 10, 'the schema has its tables');
  const found: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const r = await pool.query<{ n: number }>(`select count(*)::int as n from ${name} t where strpos(t::text, $1) > 0`, [needle]);
    if (r.rows[0]!.n > 0) found[name] = r.rows[0]!.n;
  }
  return found;
}

/**
 * Retention end to end on real parts: revocations through the real ingest handler, deletions completed through the
 * real poll cycle against the vendor sandboxes (Amplitude's operation reference names the customer), then the
 * two retention stages, a grep of every table, and `verify-log` against the chain and its external anchors.
 */
describe('retention and external anchors (real PostgreSQL, vendor sandboxes)', function () {
  this.timeout(120_000);
  const db = useTestDatabase('retention');
  const clock = createFakeClock('2026-03-02T09:00:00Z');
  const KEY = 'retention-key-retention-key-0123456789';
  const RETAINED = 'cust-7Hq2Zp';
  const OPEN = 'cust-9Xw4Lm';
  let sandbox: RunningSandbox;
  let cwd: string;
  let env: Record<string, string>;

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-retention-'));
    const played = localVendors(['http', 'amplitude', 'mparticle']);
    sandbox = await startSandbox({ clock, vendors: Object.fromEntries([...played].map(([name, v]) => [name, v.sandbox])) });
    env = {
      DATABASE_URL: db().url,
      VENDORS: 'http,amplitude,mparticle',
      ...Object.assign({}, ...[...played.values()].map((v) => v.env(sandbox.url))),
      ANCHOR_DIR: join(cwd, 'anchors'),
    };
  });
  after(async () => {
    await sandbox?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const anchorer = () =>
    createChainAnchorer({ pool: db().pool, store: createFileAnchorStore(join(cwd, 'anchors')), clock, log: silentLogger(), intervalMs: HOUR });

  async function pollFor(span: number, step: number): Promise<void> {
    const config = loadConfig(env);
    const cycle = buildPollCycle({ pool: db().pool, vendors: createVendors(config.vendors), clock, config, submit: true });
    const anchor = anchorer();
    for (let t = 0; t < span; t += step) {
      await cycle.run({});
      await anchor();
      clock.advance(step);
    }
  }

  it('after retention and the purge, no table holds the customer id or its pseudonym, and verify-log passes against the anchors', async () => {
    const config = loadConfig(env);
    const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: createVendors(config.vendors), log: silentLogger(), clock });
    await handler(firestoreEvent({ customerId: RETAINED, before: { analyticsConsent: true }, after: { analyticsConsent: false }, updateTime: '2026-03-02T09:00:00Z', id: 'evt-retained' }));
    await pollFor(12 * DAY, 6 * HOUR);
    const states = await db().pool.query<{ state: string }>('select distinct state from vendor_deletion');
    assert.deepEqual(states.rows.map((r) => r.state), ['completed'], 'every vendor completed the first request');
    const amplitude = await db().pool.query<{ operation_id: string }>("select operation_id from vendor_deletion where vendor = 'amplitude'");
    assert.match(amplitude.rows[0]!.operation_id, new RegExp(`/${RETAINED}$`), "Amplitude's reference names the customer");
    // A second customer whose deletion is still open keeps the id: the grep does find ids where they are.
    await handler(firestoreEvent({ customerId: OPEN, before: { analyticsConsent: true }, after: { analyticsConsent: false }, updateTime: '2026-03-14T09:00:00Z', id: 'evt-open' }));
    await pollFor(HOUR, HOUR);

    const before = await grepAllTables(db().pool, RETAINED);
    for (const table of ['deletion_request', 'vendor_deletion', 'deletion_event']) assert.ok(before[table], `${table} names the customer before retention`);
    const retention = (at: string) =>
      pseudonymiserFor({ pool: db().pool, log: silentLogger(), clock: createFakeClock(at), key: KEY, days: 30, purgeDays: 365 })();

    const first = await retention('2026-04-20T00:00:00Z');
    assert.equal(first.requests, 1, 'the finished request, 30 days after it finished');
    assert.deepEqual(await grepAllTables(db().pool, RETAINED), {}, 'the raw id is nowhere after the first stage');
    assert.ok((await grepAllTables(db().pool, OPEN))['vendor_deletion'], 'the open request keeps its id');
    const name = pseudonym(KEY, RETAINED);
    assert.ok(Object.keys(await grepAllTables(db().pool, name)).length > 0, 'the pseudonym stands in for it');

    const second = await retention('2027-03-20T00:00:00Z');
    assert.equal(second.purged.requests, 1, 'the purge, 365 days after it finished');
    assert.deepEqual(await grepAllTables(db().pool, RETAINED), {});
    assert.deepEqual(await grepAllTables(db().pool, name), {}, 'the pseudonym is gone too');
    const counts = await db().pool.query<{ n: number }>("select count(*)::int as n from vendor_deletion where customer_id like 'purged:%' and state = 'completed'");
    assert.equal(counts.rows[0]!.n, 3, 'what happened is still counted: three completed deletions');

    await anchorer()();
    const verified = await cli(['verify-log'], env, cwd, clock);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /event log intact: \d+ entries checked/);
    assert.match(verified.stdout, /external anchors: \d+ in .*anchors match \(latest: entry \d+/);
  });

  it('catches a log rewritten with every later hash recomputed, naming the first anchor it no longer matches', async () => {
    const anchors = await createFileAnchorStore(join(cwd, 'anchors')).list();
    assert.ok(anchors.length >= 3, `anchors were written during the polls (${anchors.length})`);
    // Rewrite an entry between two anchors, then recompute every hash after it and the head, as the table's owner
    // could: the chain is consistent again, only the anchors outside the database tell.
    const target = anchors[1]!.sequence - 1;
    const client = await db().pool.connect();
    try {
      await client.query("set session_replication_role = 'replica'");
      await client.query("update deletion_event set occurred_at = occurred_at + interval '40 days' where chain_seq = $1::bigint", [target]);
      await client.query(`
        do $$
        declare r record; h bytea;
        begin
          select hash into h from deletion_event where chain_seq = ${target - 1};
          for r in select * from deletion_event where chain_seq >= ${target} order by chain_seq loop
            update deletion_event
               set prev_hash = h,
                   hash = sha256(deletion_event_content(r.chain_seq, h, r.subject_hash, r.request_id, r.vendor_deletion_id,
                                                        r.vendor, r.kind, r.detail, r.occurred_at))
             where id = r.id returning hash into h;
          end loop;
          update deletion_event_chain_head set hash = h;
        end $$`);
    } finally {
      await client.query("set session_replication_role = 'origin'");
      client.release();
    }
    assert.equal((await verifyEventLog(db().pool)).ok, true, 'the recomputed chain is consistent in itself');
    const r = await cli(['verify-log'], env, cwd, clock);
    assert.equal(r.code, 3, r.stdout);
    assert.match(r.stdout, /event log intact/);
    assert.match(
      r.stdout,
      new RegExp(`external anchor MISMATCH: .*${anchors[1]!.sequence.toString().padStart(20, '0')}-${anchors[1]!.hash}\\.json \\(entry ${anchors[1]!.sequence}, written [^)]+\\): entry ${anchors[1]!.sequence} now has hash [0-9a-f]{64}, not ${anchors[1]!.hash}`),
    );
    assert.match(r.stdout, /\n1 earlier anchors matched/);
  });

  it('catches entries removed from the end with the head moved back', async () => {
    const anchors = await createFileAnchorStore(join(cwd, 'anchors')).list();
    const last = anchors.at(-1)!;
    const client = await db().pool.connect();
    try {
      await client.query("set session_replication_role = 'replica'");
      await client.query('delete from deletion_event where chain_seq >= $1::bigint', [last.sequence]);
      await client.query(`update deletion_event_chain_head set seq = ${last.sequence - 1}, hash = (select hash from deletion_event where chain_seq = ${last.sequence - 1})`);
    } finally {
      await client.query("set session_replication_role = 'origin'");
      client.release();
    }
    // The anchor at the end names an entry the log no longer has (the earlier rewrite is caught before it, above).
    const check = await checkChainAnchors(db().pool, [last]);
    assert.equal(check.ok, false);
    assert.equal(check.broken?.found, null);
    assert.match(check.broken!.detail, new RegExp(`the log has no entry ${last.sequence} any more: entries were removed`));
    const r = await cli(['verify-log', '--json'], env, cwd, clock);
    assert.equal(r.code, 3);
    assert.equal((JSON.parse(r.stdout) as { anchors: { ok: boolean } }).anchors.ok, false);
  });
});
