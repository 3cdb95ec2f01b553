import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FieldValue, Firestore } from '@google-cloud/firestore';
import { createPubsubAdmin, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { firestoreEmulator, pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { cli, insertDeletion } from './helpers.js';

/**
 * Trigger events lost while the functions were down: documents are written in an emulator project with no
 * trigger registered, so nothing records them, and `reconcile` must find and record exactly the lost ones.
 */
describe('consent-erasure reconcile (real PostgreSQL, Firestore and Pub/Sub emulators)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('cli_reconcile');
  let cwd: string;
  let projectId: string;
  let firestore: Firestore;
  let firestoreHost: string;
  let pubsubHost: string;
  let admin: PubsubAdmin;

  const env = () => ({
    DATABASE_URL: db().url,
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: firestoreHost,
    PUBSUB_EMULATOR_HOST: pubsubHost,
    VENDORS: 'http',
    VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http',
  });
  const customers = () => firestore.collection('customers');
  const updateTimeOf = async (id: string) => (await customers().doc(id).get()).updateTime!;

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-reconcile-'));
    firestoreHost = (await firestoreEmulator()).host;
    pubsubHost = await pubsubEmulator();
    projectId = uniqueProjectId('reconcile');
    firestore = new Firestore({ projectId, host: firestoreHost, ssl: false });
    admin = createPubsubAdmin({ host: pubsubHost, projectId });
    await admin.ensureTopic('deletion-poll');
    await admin.ensurePullSubscription('deletion-poll', 'poll-tap');

    // lost revocations: true → false, true → field removed
    await customers().doc('r-lost').set({ analyticsConsent: true, email: 'a@example.com' });
    await customers().doc('r-lost').update({ analyticsConsent: false });
    await customers().doc('r-removed').set({ analyticsConsent: true });
    await customers().doc('r-removed').update({ analyticsConsent: FieldValue.delete() });
    // created without consent, never written again: not a revocation
    await customers().doc('r-never').set({ analyticsConsent: false });
    // consenting customers
    await customers().doc('r-yes').set({ analyticsConsent: true });
    await customers().doc('r-yes-2').set({ analyticsConsent: true });
    // revocation already recorded (the trigger worked)
    await customers().doc('r-covered').set({ analyticsConsent: true });
    await customers().doc('r-covered').update({ analyticsConsent: false });
    await insertDeletion(db().pool, { customerId: 'r-covered', state: 'submitted', revokedAt: (await updateTimeOf('r-covered')).toDate().toISOString(), deadlineAt: '2030-01-01T00:00:00Z', operationId: 'op-c' });
    // revoked, regranted (recorded), then revoked again while the functions were down
    const old = await insertDeletion(db().pool, { customerId: 'r-again', state: 'completed', revokedAt: '2026-01-01T00:00:00Z', deadlineAt: '2026-01-31T00:00:00Z', completedAt: '2026-01-02T00:00:00Z', operationId: 'op-a' });
    await db().pool.query(`update deletion_request set regranted_at = '2026-02-01T00:00:00Z' where id = $1`, [old.requestId]);
    await customers().doc('r-again').set({ analyticsConsent: true });
    await customers().doc('r-again').update({ analyticsConsent: false });
  });
  after(async () => {
    await firestore.terminate();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('--dry-run reports the missing requests and writes nothing', async () => {
    const run = await cli(['reconcile', '--dry-run', '--json'], env(), cwd);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.missing, 3);
    assert.deepEqual(summary.customers.map((c: { customerId: string }) => c.customerId).sort(), ['r-again', 'r-lost', 'r-removed']);
    const count = await db().pool.query(`select count(*)::int as n from deletion_request where source = 'reconcile'`);
    assert.equal(count.rows[0].n, 0);
  });

  it('creates exactly the lost requests, paging through the collection, and asks the poller to submit them', async () => {
    const run = await cli(['reconcile', '--page-size', '2', '--json'], env(), cwd);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.scanned, 7);
    assert.equal(summary.consented, 2);
    assert.equal(summary.covered, 1);
    assert.equal(summary.never_consented, 1);
    assert.equal(summary.created, 3);
    assert.ok(summary.pollMessageId);

    const rows = (
      await db().pool.query(
        `select r.customer_id, r.revoked_at, r.source, d.vendor, d.state, d.lease_owner, d.next_check_at
           from deletion_request r join vendor_deletion d on d.request_id = r.id
          where r.source = 'reconcile' order by r.customer_id`,
      )
    ).rows;
    assert.deepEqual(rows.map((r) => r.customer_id), ['r-again', 'r-lost', 'r-removed']);
    for (const r of rows) {
      assert.equal(r.vendor, 'http');
      assert.equal(r.state, 'queued');
      // handed to the poller: no lease held by the CLI, due now
      assert.equal(r.lease_owner, null);
      assert.ok(r.next_check_at.getTime() <= Date.now());
    }
    const lost = rows.find((r) => r.customer_id === 'r-lost')!;
    assert.equal(lost.revoked_at.getTime(), (await updateTimeOf('r-lost')).toMillis());
    const revokedEvents = await db().pool.query(`select count(*)::int as n from deletion_event where kind = 'revoked' and detail->>'source' = 'reconcile'`);
    assert.equal(revokedEvents.rows[0].n, 3);

    let pulled: Array<{ data: string }> = [];
    for (let i = 0; i < 50 && pulled.length === 0; i++) {
      pulled = await admin.pull('poll-tap');
      if (pulled.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(JSON.parse(pulled[0]!.data), { reason: 'reconcile' });
  });

  it('is idempotent: a second run creates nothing', async () => {
    const before = await db().pool.query(`select count(*)::int as n from vendor_deletion`);
    const run = await cli(['reconcile'], env(), cwd);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /scanned 7 customer\(s\): 2 with consent, 4 already covered by a request, 1 created without consent and never updated, 0 missing a request/);
    assert.match(run.stdout, /created 0 request\(s\)/);
    const after = await db().pool.query(`select count(*)::int as n from vendor_deletion`);
    assert.equal(after.rows[0].n, before.rows[0].n);
  });

  it('--include-never-updated also records customers created without consent', async () => {
    const run = await cli(['reconcile', '--include-never-updated', '--no-poll', '--json'], env(), cwd);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.created, 1);
    assert.equal(summary.customers[0].customerId, 'r-never');
    assert.equal(summary.pollMessageId, null);
  });

  it('rejects a bad page size (exit 2)', async () => {
    const run = await cli(['reconcile', '--page-size', '0'], env(), cwd);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--page-size: "0" is not a whole number/);
  });
});
