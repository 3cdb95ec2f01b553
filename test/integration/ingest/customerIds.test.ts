import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Firestore } from '@google-cloud/firestore';
import { silentLogger } from '../../../functions/log.js';
import { startStack, type RunningStack } from '../../../local/stack.js';
import { cli } from '../cli/helpers.js';
import { useTestDatabase } from '../../helpers/db.js';
import { firestoreEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { eventually } from '../../helpers/eventually.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Valid Firestore document ids that a byte or encoding slip would change: non-ASCII letters, emoji, spaces,
 * `%` (alone and as what looks like percent-encoding), `+`, quotes, ids that look like paths, and one of
 * 1,500 UTF-8 bytes (Firestore's limit).
 */
export const AWKWARD_IDS = [
  'ünicøde',
  'emoji-😀-🙈',
  'with space',
  '100%',
  'a%41b',
  'plus+sign',
  `q"uote's`,
  '%2F..%2Fadmin',
  'customers',
  '..a',
  'ø'.repeat(750),
];

/**
 * A revocation of a customer with any valid Firestore document id reaches the vendor with exactly that id
 * (issue 14): written by `consent-erasure revoke` into the Firestore emulator, delivered by its trigger
 * through the relay to a Functions Framework process (the local stack, as `npm start` runs it), recorded,
 * submitted to the vendor sandbox, shown by `status` and `timeline`, and named in the alert email the
 * sendAlert process sends to the mail sink.
 */
describe('customer ids exactly as Firestore holds them (local stack: emulator → relay → Functions Framework processes)', function () {
  this.timeout(180_000);
  const db = useTestDatabase('customer_ids');
  let dir: string;
  let stack: RunningStack;

  // Nested, so the stack stops before the test database is dropped.
  describe('revoke → trigger → onCustomerWritten → vendor → status, timeline → alert email', function () {
    before(async function () {
      this.timeout(120_000);
      dir = mkdtempSync(join(tmpdir(), 'ce-ids-'));
      stack = await startStack({
        rootDir: ROOT,
        stateDir: join(dir, '.consent-erasure'),
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', DATABASE_URL: db().url, LOG_LEVEL: 'warn' },
        log: silentLogger(),
        pollIntervalSeconds: 2,
      });
      // Every job the sandbox makes ends `failed`, so each customer is named in a vendor-failure alert email.
      const configured = await fetch(`${stack.info.vendorSandboxUrl}/_sandbox/http/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ lifecycle: { failureShare: 1 } }),
      });
      assert.equal(configured.status, 200, await configured.text());
    });
    after(async () => {
      await stack?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('records, submits, shows and emails every id byte for byte', async () => {
      for (const id of AWKWARD_IDS) {
        const run = await cli(['revoke', id], {}, dir);
        assert.equal(run.code, 0, `revoke ${id}: ${run.stderr}`);
      }
      const recorded = await eventually(
        'a request for every id',
        async () => {
          const { rows } = await db().pool.query<{ customer_id: string }>('select customer_id from deletion_request');
          return rows.length >= AWKWARD_IDS.length ? rows.map((r) => r.customer_id) : undefined;
        },
        60_000,
        250,
      );
      assert.deepEqual([...recorded].sort(), [...AWKWARD_IDS].sort(), 'the stored ids are the Firestore ids, nothing else');

      // The request is committed before the ingest's vendor call ends: wait for the calls, then compare them.
      const asked = await eventually(
        'a vendor call for every id',
        async () => {
          const calls = (await (await fetch(`${stack.info.vendorSandboxUrl}/_sandbox/http/calls`)).json()) as {
            calls: Array<{ method: string; body?: { customerId?: string } }>;
          };
          const ids = calls.calls.filter((c) => c.method === 'POST').map((c) => c.body?.customerId);
          return new Set(ids).size >= AWKWARD_IDS.length ? ids : undefined;
        },
        60_000,
        250,
      );
      assert.deepEqual([...new Set(asked)].sort(), [...AWKWARD_IDS].sort(), 'the vendor was asked to delete exactly these ids');

      for (const id of AWKWARD_IDS) {
        const status = await cli(['status', '--customer', id, '--json'], {}, dir);
        assert.equal(status.code, 0, status.stderr);
        const rows = JSON.parse(status.stdout) as Array<{ customerId?: string; customer_id?: string }>;
        assert.ok(rows.length >= 1, `status --customer ${id} finds its deletion`);
        assert.ok(rows.every((r) => (r.customerId ?? r.customer_id) === id), `status --customer ${id}: ${status.stdout.slice(0, 300)}`);
        const timeline = await cli(['timeline', id, '--json'], {}, dir);
        assert.equal(timeline.code, 0, timeline.stderr);
        assert.ok(timeline.stdout.includes(JSON.stringify(id).slice(1, -1)), `timeline ${id} names the customer`);
        assert.match(timeline.stdout, /revoked/, `timeline ${id} shows the revocation`);
      }

      const emailed = await eventually(
        'an alert email naming every id',
        async () => {
          const messages = (await (await fetch(`${stack.info.mailSinkUrl}/messages`)).json()) as Array<{ text?: string }>;
          const text = messages.map((m) => m.text ?? '').join('\n');
          return AWKWARD_IDS.every((id) => text.includes(`customer ${id} |`)) ? text : undefined;
        },
        90_000,
        500,
      );
      assert.ok(!/Ã|ðŸ/.test(emailed), 'no UTF-8 read as Latin-1 anywhere in the emails');
    });
  });
});

/** `reconcile` finds revocations with awkward ids that no trigger delivered, and records them exactly. */
describe('consent-erasure reconcile with awkward customer ids (Firestore emulator, no trigger)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('customer_ids_reconcile');
  let dir: string;
  let firestore: Firestore;
  let env: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ce-ids-reconcile-'));
    const host = (await firestoreEmulator()).host;
    const projectId = uniqueProjectId('ids-reconcile');
    firestore = new Firestore({ projectId, host, ssl: false });
    env = { DATABASE_URL: db().url, GOOGLE_CLOUD_PROJECT: projectId, FIRESTORE_EMULATOR_HOST: host, VENDORS: 'http', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http' };
  });
  after(async () => {
    await firestore?.terminate();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records one request per revoked id, byte for byte, and none twice', async () => {
    for (const id of AWKWARD_IDS) {
      const run = await cli(['revoke', id], env, dir);
      assert.equal(run.code, 0, run.stderr);
    }
    const run = await cli(['reconcile', '--no-poll', '--json'], env, dir);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { created: number; customers: Array<{ customerId: string }> };
    assert.equal(summary.created, AWKWARD_IDS.length);
    assert.deepEqual(summary.customers.map((c) => c.customerId).sort(), [...AWKWARD_IDS].sort());
    const { rows } = await db().pool.query<{ customer_id: string }>('select customer_id from deletion_request');
    assert.deepEqual(rows.map((r) => r.customer_id).sort(), [...AWKWARD_IDS].sort());
    const again = await cli(['reconcile', '--no-poll', '--json'], env, dir);
    assert.equal((JSON.parse(again.stdout) as { created: number }).created, 0, 'a second reconcile adds nothing');
  });
});
