import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeClock, DAY, HOUR, MINUTE } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { silentLogger } from '../../../functions/log.js';
import { createPseudonymiser, pseudonym } from '../../../functions/services/pseudonymise.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { cli } from './helpers.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

/**
 * Evidence for auditors, end to end on real parts: revocations go through the real ingest handler (real
 * protobuf events), the real poll cycle checks the real sandbox over HTTP, then `timeline` and `verify-log`
 * read what was recorded.
 */
describe('evidence: timeline and verify-log (real PostgreSQL, vendor sandbox)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('evidence');
  const clock = createFakeClock('2026-04-01T09:00:00Z');
  let sandbox: RunningSandbox;
  let cwd: string;
  let env: Record<string, string>;

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-evidence-'));
    sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: 30 * MINUTE, completeAfterMs: 2 * DAY } } } });
    env = { DATABASE_URL: db().url, VENDORS: 'http', VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` };
  });
  after(async () => {
    await sandbox?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  /** Runs poll cycles, moving the clock, until nothing is due for `span`. */
  async function pollFor(span: number, step: number): Promise<void> {
    const config = loadConfig(env);
    const vendors = createVendors(config.vendors);
    const cycle = buildPollCycle({
      pool: db().pool,
      vendors,
      clock,
      config,
      submit: true,
    });
    for (let t = 0; t < span; t += step) {
      await cycle.run({});
      clock.advance(step);
    }
  }

  it('tells the whole story of a customer who revoked twice, and the log verifies', async () => {
    const config = loadConfig(env);
    const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: createVendors(config.vendors), log: silentLogger(), clock });
    const id = 'cust-twice';
    await handler(firestoreEvent({ customerId: id, before: { analyticsConsent: true }, after: { analyticsConsent: false }, updateTime: '2026-04-01T09:00:00Z', id: 'evt-first' }));
    await pollFor(3 * DAY, 6 * HOUR);
    await handler(firestoreEvent({ customerId: id, before: { analyticsConsent: false }, after: { analyticsConsent: true }, updateTime: '2026-04-05T09:00:00Z', id: 'evt-regrant' }));
    clock.set('2026-04-10T09:00:00Z');
    await handler(firestoreEvent({ customerId: id, before: { analyticsConsent: true }, after: { analyticsConsent: null, privacyRegion: 'US-CA' }, updateTime: '2026-04-10T09:00:00Z', id: 'evt-second' }));

    const text = await cli(['timeline', id], env, cwd, clock);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /consent withdrawn 2026-04-01T09:00:00\.000Z \(event evt-first from \/\/firestore\.googleapis\.com\/projects\/demo-proj/);
    assert.match(text.stdout, /consent granted again 2026-04-05T09:00:00\.000Z/);
    assert.match(text.stdout, /request \d+ for customer cust-twice, under gdpr\n[^]*request \d+ for customer cust-twice, under ccpa\n/);
    assert.match(text.stdout, /deadline 2026-05-01T21:00:00\.000Z: met/);
    assert.match(text.stdout, /deadline 2026-05-25T07:00:00\.000Z: open, 45 day\(s\) left/);
    assert.match(text.stdout, /statuses seen: pending \(first [^)]+\), in_progress \(first [^)]+\), complete/);

    const json = await cli(['timeline', id, '--json'], env, cwd, clock);
    const body = JSON.parse(json.stdout) as { requests: Array<{ sourceEventId: string; deadline: { status: string }; vendors: Array<{ state: string; operationId: string; events: Array<{ kind: string }> }> }> };
    assert.deepEqual(body.requests.map((r) => r.sourceEventId), ['evt-first', 'evt-second']);
    assert.deepEqual(body.requests.map((r) => r.deadline.status), ['met', 'open']);
    const first = body.requests[0]!.vendors[0]!;
    assert.equal(first.state, 'completed');
    assert.match(first.operationId, /\S/);
    const kinds = first.events.map((e) => e.kind);
    for (const k of ['queued', 'submitted', 'status_seen', 'completed']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`);
    assert.ok(kinds.indexOf('submitted') < kinds.indexOf('completed'));

    const verified = await cli(['verify-log'], env, cwd, clock);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /event log intact: \d+ entries checked/);
  });

  it('after retention pseudonymised the finished request, status and timeline still find it with the key, and the log verifies', async () => {
    const key = 'retention-key-retention-key-0123456789';
    const later = createFakeClock('2026-09-01T00:00:00Z');
    const result = await createPseudonymiser({ pool: db().pool, log: silentLogger(), clock: later, key, retentionMs: 90 * DAY })();
    assert.equal(result.requests, 1, 'only the finished first request is past retention');
    const raw = await db().pool.query("select count(*)::int as n from deletion_event where customer_id = 'cust-twice'");
    assert.ok(raw.rows[0].n > 0, 'the open second request keeps the raw id');
    const withKey = { ...env, RETENTION_DAYS: '90', RETENTION_KEY: key };
    const status = await cli(['status', '--customer', 'cust-twice', '--json'], withKey, cwd, later);
    const rows = JSON.parse(status.stdout) as Array<{ customerId: string; state: string }>;
    assert.deepEqual(rows.map((r) => r.customerId).sort(), ['cust-twice', pseudonym(key, 'cust-twice')].sort());
    const withoutKey = await cli(['status', '--customer', 'cust-twice', '--json'], env, cwd, later);
    assert.equal((JSON.parse(withoutKey.stdout) as unknown[]).length, 1, 'without the key only the raw-id request is found');
    const timeline = await cli(['timeline', 'cust-twice', '--json'], withKey, cwd, later);
    assert.equal((JSON.parse(timeline.stdout) as { requests: unknown[] }).requests.length, 2);
    assert.equal((await cli(['verify-log'], env, cwd, later)).code, 0);
  });

  it('after one row is altered by hand, verify-log fails naming that row', async () => {
    const target = await db().pool.query<{ chain_seq: string; id: string }>(
      "select chain_seq::text, id::text from deletion_event where kind = 'completed' order by chain_seq limit 1",
    );
    const { chain_seq: seq, id } = target.rows[0]!;
    const client = await db().pool.connect();
    try {
      await client.query("set session_replication_role = 'replica'");
      await client.query("update deletion_event set detail = jsonb_set(detail, '{rawStatus}', '\"failed\"') where id = $1::bigint", [id]);
    } finally {
      await client.query("set session_replication_role = 'origin'");
      client.release();
    }
    const r = await cli(['verify-log'], env, cwd, clock);
    assert.equal(r.code, 3);
    assert.match(r.stdout, new RegExp(`BROKEN at entry ${seq} \\(deletion_event id ${id}\\): content_changed`));
    assert.match(r.stderr, /event log has been altered/);
  });

  it('answers a usage error for a bad range and an empty customer', async () => {
    assert.equal((await cli(['verify-log', '--from', 'x'], env, cwd, clock)).code, 2);
    assert.equal((await cli(['verify-log', '--from', '5', '--to', '2'], env, cwd, clock)).code, 2);
    assert.equal((await cli(['timeline', ' '], env, cwd, clock)).code, 2);
    assert.equal((await cli(['timeline'], env, cwd, clock)).code, 2);
  });
});
