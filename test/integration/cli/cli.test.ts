import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Firestore } from '@google-cloud/firestore';
import { createFakeClock } from '../../../functions/clock.js';
import { useTestDatabase, createEmptyDatabase } from '../../helpers/db.js';
import { firestoreEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { cli, insertDeletion } from './helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/consent-erasure.js', import.meta.url));

describe('consent-erasure CLI (real PostgreSQL and Firestore emulator)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('cli');
  let cwd: string;
  let firestoreHost: string;
  let projectId: string;
  let firestore: Firestore;
  const clock = createFakeClock('2026-03-10T12:00:00Z');

  const env = () => ({
    DATABASE_URL: db().url,
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: firestoreHost,
    VENDORS: 'http',
    VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http',
  });

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-cli-'));
    firestoreHost = (await firestoreEmulator()).host;
    projectId = uniqueProjectId('cli');
    firestore = new Firestore({ projectId, host: firestoreHost, ssl: false });
  });
  after(async () => {
    await firestore.terminate();
    rmSync(cwd, { recursive: true, force: true });
  });

  describe('migrate', () => {
    it('applies every migration to an empty database, then finds nothing to do', async () => {
      const empty = await createEmptyDatabase('cli_migrate');
      try {
        const first = await cli(['migrate'], { ...env(), DATABASE_URL: empty.url }, cwd);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /applied \d+ migration\(s\):\n {2}000001_core/);
        const tables = await empty.pool.query(`select to_regclass('public.vendor_deletion') as t`);
        assert.equal(tables.rows[0].t, 'vendor_deletion');
        const second = await cli(['migrate'], { ...env(), DATABASE_URL: empty.url }, cwd);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /database is up to date/);
      } finally {
        await empty.drop();
      }
    });
  });

  describe('revoke and grant', () => {
    const consentOf = async (id: string) => (await firestore.collection('customers').doc(id).get()).get('analyticsConsent');

    it('revoke creates a missing customer with consent granted then withdrawn', async () => {
      const run = await cli(['revoke', 'c-new'], env(), cwd);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await consentOf('c-new'), false);
      assert.match(run.stdout, /customers\/c-new: created; analyticsConsent = false/);
    });

    it('grant sets consent to true, and a second grant writes nothing', async () => {
      const first = await cli(['grant', 'c-g', '--json'], env(), cwd);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), { customerId: 'c-g', after: true, created: true, unchanged: false });
      assert.equal(await consentOf('c-g'), true);
      const snap1 = await firestore.collection('customers').doc('c-g').get();
      const second = await cli(['grant', 'c-g'], env(), cwd);
      assert.match(second.stdout, /already true; nothing written/);
      const snap2 = await firestore.collection('customers').doc('c-g').get();
      assert.equal(snap2.updateTime!.toMillis(), snap1.updateTime!.toMillis());
      const revoke = await cli(['revoke', 'c-g'], env(), cwd);
      assert.match(revoke.stdout, /analyticsConsent true → false/);
      assert.equal(await consentOf('c-g'), false);
    });

    it('keeps other fields of the customer and honours a nested consent field', async () => {
      await firestore.collection('customers').doc('c-n').set({ email: 'n@example.com', privacy: { analytics: true, ads: true } });
      const run = await cli(['revoke', 'c-n'], { ...env(), CONSENT_FIELD: 'privacy.analytics' }, cwd);
      assert.equal(run.code, 0, run.stderr);
      const data = (await firestore.collection('customers').doc('c-n').get()).data();
      assert.deepEqual(data, { email: 'n@example.com', privacy: { analytics: false, ads: true } });
    });

    it('rejects a customer id that cannot be a document id (exit 2)', async () => {
      const run = await cli(['revoke', 'a/b'], env(), cwd);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /customerId: "a\/b" must not contain "\/"/);
    });
  });

  describe('status, report and retry', () => {
    let failedId: string;
    before(async () => {
      const pool = db().pool;
      // done in time, done late, failed, still open with deadline ahead, open past its deadline
      await insertDeletion(pool, { customerId: 'c-1', state: 'completed', revokedAt: '2026-03-01T00:00:00Z', deadlineAt: '2026-03-31T00:00:00Z', completedAt: '2026-03-02T00:00:00Z', operationId: 'op-1' });
      await insertDeletion(pool, { customerId: 'c-2', state: 'completed', revokedAt: '2026-01-01T00:00:00Z', deadlineAt: '2026-01-31T00:00:00Z', completedAt: '2026-02-05T00:00:00Z', operationId: 'op-2' });
      failedId = (await insertDeletion(pool, { customerId: 'c-3', state: 'failed', revokedAt: '2026-03-05T00:00:00Z', deadlineAt: '2026-04-04T00:00:00Z', operationId: 'op-3' })).deletionId;
      await insertDeletion(pool, { customerId: 'c-4', state: 'submitted', revokedAt: '2026-03-08T00:00:00Z', deadlineAt: '2026-04-07T00:00:00Z', operationId: 'op-4', regime: 'ccpa' });
      await insertDeletion(pool, { customerId: 'c-5', state: 'queued', revokedAt: '2026-02-01T00:00:00Z', deadlineAt: '2026-03-03T00:00:00Z' });
      await insertDeletion(pool, { customerId: '=cmd|x', state: 'error', revokedAt: '2026-03-06T00:00:00Z', deadlineAt: '2026-04-05T00:00:00Z' });
    });

    it('status --json filters by customer and shows operation, checks, deadline and days left', async () => {
      const run = await cli(['status', '--customer', 'c-4', '--json'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      const rows = JSON.parse(run.stdout);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].customerId, 'c-4');
      assert.equal(rows[0].vendor, 'http');
      assert.equal(rows[0].state, 'submitted');
      assert.equal(rows[0].operationId, 'op-4');
      assert.equal(rows[0].checkCount, 3);
      assert.equal(rows[0].deadlineAt, '2026-04-07T00:00:00.000Z');
      assert.equal(rows[0].regime, 'ccpa');
      // 2026-03-10T12:00 → 2026-04-07T00:00 is 27.5 days: rounded up.
      assert.equal(rows[0].daysLeft, 28);
    });

    it('status filters by state, and lists completed rows from the completed view', async () => {
      const run = await cli(['status', '--state', 'completed', '--json'], env(), cwd, clock);
      const rows = JSON.parse(run.stdout) as Array<{ customerId: string; completedAt: string; daysLeft: unknown }>;
      assert.deepEqual(rows.map((r) => r.customerId).sort(), ['c-1', 'c-2']);
      assert.ok(rows.every((r) => r.completedAt && r.daysLeft === null));
      const overdue = JSON.parse((await cli(['status', '--customer', 'c-5', '--json'], env(), cwd, clock)).stdout);
      assert.ok(overdue[0].daysLeft <= 0, 'past its deadline');
    });

    it('status prints a table for people', async () => {
      const run = await cli(['status', '--vendor', 'http'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.match(lines[0]!, /^CUSTOMER\s+VENDOR\s+STATE\s+REGIME\s+OPERATION\s+REQUESTED\s+SUBMITTED\s+COMPLETED\s+CHECKS\s+DEADLINE\s+DAYS LEFT\s+EXPECTED\s+SLACK DAYS$/);
      assert.equal(lines.length, 7);
      assert.match(lines.find((l) => l.startsWith('c-4 '))!, /^c-4\s+http\s+submitted\s+ccpa\s+op-4/);
    });

    it('report --format json gives every time and whether the deadline was met', async () => {
      const run = await cli(['report', '--since', '2026-01-01', '--until', '2026-04-01', '--format', 'json'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
      const by = new Map(rows.map((r) => [r['customerId'], r]));
      assert.equal(rows.length, 6);
      assert.equal(by.get('c-1')!['deadlineMet'], true);
      assert.equal(by.get('c-2')!['deadlineMet'], false);
      assert.equal(by.get('c-4')!['deadlineMet'], null);
      assert.equal(by.get('c-5')!['deadlineMet'], false);
      assert.equal(by.get('c-1')!['revokedAt'], '2026-03-01T00:00:00.000Z');
      assert.deepEqual([by.get('c-1')!['regime'], by.get('c-4')!['regime']], ['gdpr', 'ccpa']);
      assert.equal(by.get('c-1')!['acceptedAt'], '2026-03-01T00:01:00.000Z');
      assert.equal(by.get('c-1')!['completedAt'], '2026-03-02T00:00:00.000Z');
      assert.deepEqual(by.get('c-1')!['operationRef'], { operationId: 'op-1' });
      assert.deepEqual(by.get('c-1')!['completionEvidence'], { status: 'complete', payload: null });
    });

    it('report csv honours the window and neutralises formula-like customer ids', async () => {
      const run = await cli(['report', '--since', '2026-03-01', '--until', '2026-03-07'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.match(lines[0]!, /^customer_id,vendor,state,source,regime,revoked_at,submitted_at,accepted_at,operation_id,completed_at,verified_at,checks,alerts_raised,alerts_sent,deadline_at,deadline_met,final_status,callbacks,callbacks_verified,last_callback,initial_deadline_at,extended_at,extension_reason,expected_completion_at,expected_source,slack_days,at_risk,verification$/);
      const customers = lines.slice(1).map((l) => l.split(',')[0]).sort();
      assert.deepEqual(customers, ["'=cmd|x", 'c-1', 'c-3']);
      assert.ok(lines.some((l) => l.startsWith('c-1,http,completed,test,gdpr,2026-03-01T00:00:00.000Z,') && l.includes(',yes,complete,0,0,,')));
    });

    it('report without --since, or with a bad date or format, is a usage error', async () => {
      assert.equal((await cli(['report'], env(), cwd)).code, 2);
      const bad = await cli(['report', '--since', 'yesterday'], env(), cwd);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since: "yesterday" is not a date/);
      const fmt = await cli(['report', '--since', '2026-01-01', '--format', 'xml'], env(), cwd);
      assert.equal(fmt.code, 2);
      assert.match(fmt.stderr, /--format: "xml" is not one of csv, json, html, pdf/);
    });

    it('retry puts a failed deletion back to queued, due now, with a retried event keeping the old operation', async () => {
      const keyBefore = (await db().pool.query(`select idempotency_key::text as k from vendor_deletion where id = $1`, [failedId])).rows[0].k as string;
      const run = await cli(['retry', failedId, '--json'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      const retried = JSON.parse(run.stdout);
      assert.deepEqual(retried, [
        { deletion_id: failedId, customer_id: 'c-3', vendor: 'http', previous_state: 'failed', previous_operation_id: 'op-3' },
      ]);
      const row = (await db().pool.query(`select state, next_check_at, operation_id, submit_attempts, idempotency_key::text as k from vendor_deletion where id = $1`, [failedId])).rows[0];
      assert.equal(row.state, 'queued');
      // A new key, as the poller's own resubmission takes: the old one names the failed request at the vendor.
      assert.notEqual(row.k, keyBefore);
      assert.equal(row.next_check_at.toISOString(), '2026-03-10T12:00:00.000Z');
      assert.equal(row.operation_id, null);
      const ev = (await db().pool.query(`select detail from deletion_event where vendor_deletion_id = $1 and kind = 'retried'`, [failedId])).rows;
      assert.equal(ev.length, 1);
      assert.equal(ev[0].detail.previousOperationId, 'op-3');
      assert.equal(ev[0].detail.lastError, 'vendor said failed');
      assert.equal(ev[0].detail.previousIdempotencyKey, keyBefore);
      const again = await cli(['retry', failedId], env(), cwd, clock);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /nothing to retry: deletion \d+ has no deletion in state failed or error/);
    });

    it('retry by customer id retries that customer\'s error deletions only', async () => {
      const run = await cli(['retry', '=cmd|x'], env(), cwd, clock);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /1 deletion\(s\) queued again/);
      const states = (await db().pool.query(`select customer_id, state from vendor_deletion where customer_id in ('=cmd|x', 'c-1') order by customer_id`)).rows;
      assert.deepEqual(states, [{ customer_id: '=cmd|x', state: 'queued' }, { customer_id: 'c-1', state: 'completed' }]);
    });
  });

  describe('settings from the local stack file', () => {
    const writeStack = (dir: string, pid: number) => {
      mkdirSync(join(dir, '.consent-erasure'), { recursive: true });
      writeFileSync(
        join(dir, '.consent-erasure', 'stack.json'),
        JSON.stringify({
          projectId,
          databaseUrl: db().url,
          firestoreEmulatorHost: firestoreHost,
          pubsubEmulatorHost: '127.0.0.1:9',
          vendorSandboxUrl: 'http://127.0.0.1:9',
          mailSinkUrl: 'http://127.0.0.1:9',
          functions: { onCustomerWritten: 'http://127.0.0.1:9', pollDeletions: 'http://127.0.0.1:9', sendAlert: 'http://127.0.0.1:9' },
          env: { VENDORS: 'http', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http' },
          pid,
        }),
      );
    };

    it('finds .consent-erasure/stack.json from a subfolder with no variables exported', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ce-stack-'));
      try {
        writeStack(dir, process.pid);
        mkdirSync(join(dir, 'sub'));
        const run = await cli(['status', '--customer', 'c-1', '--json'], { PATH: process.env['PATH'] }, join(dir, 'sub'));
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout)[0].operationId, 'op-1');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses a stack file left by a stack that is no longer running', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ce-stack-'));
      try {
        writeStack(dir, 2 ** 22 + 12345);
        const run = await cli(['status'], {}, dir);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /no longer running .*npm start/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('without a stack file or DATABASE_URL names the missing setting', async () => {
      const run = await cli(['status'], {}, cwd);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /DATABASE_URL: required/);
    });
  });

  describe('the executable', () => {
    const runBin = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '' } }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
        );
      });

    it('exits 2 on an unknown command, an unknown option or a missing argument, naming it', async () => {
      const unknown = await runBin(['frobnicate']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command 'frobnicate'/);
      const option = await runBin(['status', '--colour']);
      assert.equal(option.code, 2);
      assert.match(option.stderr, /unknown option '--colour'/);
      const missing = await runBin(['retry']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /\[target\]: give a deletion id or customer id, or --vendor V/);
    });

    it('prints help for every command and exits 0', async () => {
      const help = await runBin(['help', 'status']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--customer <id>/);
      assert.match(help.stdout, /--json/);
    });
  });
});
