import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../../local/stack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { capturingLogger, eventually, sleep } from '../harness.js';
import { mailFault, settleRevocations, stackFigures, staleAlertsEnv, untilRecorded, writeRevocations } from '../stackHarness.js';
import { SECRETS_USED } from './secrets.js';

export const STACK_SECRETS = '8s secrets in logs (stack)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Whether a function process logged an entry of `event`. */
const logged = (fs: FaultStack, name: Parameters<FaultStack['functionLog']>[0], event: string) => fs.functionLog(name).some((l) => l['event'] === event);

/**
 * Scenario 8 on the production path: the stack's function processes run at trace level with the SendGrid key,
 * a vendor token, the database password (in DATABASE_URL) and RETENTION_KEY configured, through faults whose
 * errors they log: vendor 5xx and 401 while revocations arrive through Firestore and the relay, a PostgreSQL
 * crash (SIGKILL) mid-ingest, SendGrid 500 and 401 from the mail sink while alerts are sent through Pub/Sub
 * push; then retention runs as a deployment runs it (after a poll cycle, in pollDeletions). Every line any
 * process wrote (each function process, the emulators, PostgreSQL, the stack's own log) is read: none may
 * hold a credential.
 */
export function stackSecrets(profile: FaultProfile, results: FaultResults): void {
  const customers = Array.from({ length: profile.stackSecretCustomers }, (_, i) => `secret-stack-${String(i).padStart(4, '0')}`);
  describe(`scenario ${STACK_SECRETS}: every line the stack's processes write, with credentials configured`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 300_000);
    let fs: FaultStack;
    const stackLog = capturingLogger('trace');

    before(async function () {
      this.timeout(120_000);
      results.begin(STACK_SECRETS);
      fs = await startFaultStack({
        rootDir: ROOT,
        log: stackLog.log,
        print: false,
        verbose: true,
        env: {
          LOG_LEVEL: 'trace',
          SENDGRID_API_KEY: SECRETS_USED.sendgrid,
          VENDOR_HTTP_API_KEY: SECRETS_USED.vendor,
          RETENTION_KEY: SECRETS_USED.retention,
          RETENTION_DAYS: '1',
          // Deletions go stale before they complete, so alerts are raised and emailed through the faults.
          ...staleAlertsEnv('0.002'),
        },
      });
      // The sandbox checks the token the functions were given.
      await fs.sandbox({ credential: SECRETS_USED.vendor, lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 12_000 }, recordLimit: 1_000_000 });
    });
    after(async () => {
      await fs?.stop();
    });

    it('never writes a credential to any line of any process', async () => {
      const password = decodeURIComponent(new URL(fs.postgres.url).password);
      const secrets = { ...SECRETS_USED, dbPassword: password };
      const third = Math.ceil(customers.length / 3);

      // SendGrid answers 500 to the first sends (Pub/Sub redelivers them).
      await mailFault(fs, { status: 500, times: 2 });
      // Vendor 5xx while the first third arrives.
      await fs.sandbox({ failureShare: 0.3 });
      let written = await writeRevocations(fs, customers.slice(0, third));
      await untilRecorded(fs, third, 'the first third recorded');
      // The vendor refuses the credential (401) while the second third arrives.
      await fs.sandbox({ failureShare: 0, rejectCredentials: true });
      written += await writeRevocations(fs, customers.slice(third, 2 * third));
      await untilRecorded(fs, 2 * third, 'the second third recorded');
      await eventually('the refused credential logged', () => logged(fs, 'pollDeletions', 'vendor_credential_rejected') || logged(fs, 'onCustomerWritten', 'vendor_submit_failed') || undefined, 60_000, 500);
      await fs.sandbox({ rejectCredentials: false });
      // A PostgreSQL crash (SIGKILL) while the last third arrives: the functions log their failed statements.
      const writer = writeRevocations(fs, customers.slice(2 * third));
      await untilRecorded(fs, 2 * third + 1, 'the last third arriving');
      const crash = await fs.postgres.crash();
      await sleep(1_500);
      await fs.postgres.start();
      written += await writer;

      // SendGrid refuses the key (401) for one send, once a 500 has been answered.
      await eventually('a SendGrid 500 logged', () => logged(fs, 'sendAlert', 'alert_send_failed') || undefined, 120_000, 500);
      await mailFault(fs, { status: 401, times: 1 });
      await eventually('a SendGrid 401 logged', () => logged(fs, 'sendAlert', 'alert_rejected') || undefined, 120_000, 500);

      await settleRevocations(fs, customers, profile.name === 'full' ? 600_000 : 180_000);
      const deletions = await stackFigures(fs, customers);

      // Retention as deployed: pollDeletions runs it after each cycle. The finished deletions are moved two days
      // into the past (RETENTION_DAYS is whole days), so the next scheduled cycle pseudonymises their requests.
      await fs.pool.query(
        "update vendor_deletion set completed_at = completed_at - interval '2 days', updated_at = updated_at - interval '2 days' where state in ('completed', 'cancelled')",
      );
      await eventually(
        'retention pseudonymised every finished request',
        async () => {
          const { rows } = await fs.pool.query<{ n: number }>('select count(*)::int as n from deletion_request where customer_id = any($1::text[])', [customers]);
          return rows[0]!.n === 0 ? true : undefined;
        },
        120_000,
        500,
      );
      await eventually('retention logged', () => logged(fs, 'pollDeletions', 'retention_pseudonymised') || undefined, 30_000, 500);
      const pseudonymised = (await fs.pool.query<{ n: number }>("select count(*)::int as n from deletion_request where customer_id like 'hmac-sha256:%'")).rows[0]!.n;
      await fs.stack.relay.idle();
      await sleep(2_000); // the last lines of the processes are read

      // Every line every process wrote, and the stack's own log.
      const lines = [...fs.output().map((o) => `${o.source} ${o.line}`), ...fs.postgres.log(), ...stackLog.raw];
      const leaks = Object.entries(secrets).flatMap(([name, secret]) => lines.filter((l) => l.includes(secret)).map((l) => `${name}: ${l.slice(0, 300)}`));
      const emails = await fs.emails();
      const relay = fs.stack.relay.stats();
      const faultsLogged = {
        'vendor 5xx': logged(fs, 'onCustomerWritten', 'vendor_submit_failed') || logged(fs, 'pollDeletions', 'vendor_submit_failed') || logged(fs, 'pollDeletions', 'vendor_check_failed'),
        'vendor 401': logged(fs, 'pollDeletions', 'vendor_credential_rejected') || fs.output().some((o) => /\b401\b/.test(o.line) && /vendor/.test(o.line)),
        'database crash': logged(fs, 'onCustomerWritten', 'firestore_event_retry') || logged(fs, 'pollDeletions', 'poll_failed'),
        'SendGrid 500': logged(fs, 'sendAlert', 'alert_send_failed'),
        'SendGrid 401': logged(fs, 'sendAlert', 'alert_rejected'),
        retention: logged(fs, 'pollDeletions', 'retention_pseudonymised'),
      };

      results.record({
        scenario: STACK_SECRETS,
        path: STACK_PATH,
        load: `${count(lines.length)} lines from ${new Set(fs.output().map((o) => o.source)).size} processes at trace level, ${count(written)} revocations written to Firestore`,
        faults: `4 credentials configured; vendor 5xx, 401, PostgreSQL SIGKILL (${crash.backends} backends), SendGrid 500 and 401; retention pseudonymised ${count(pseudonymised)} requests`,
        lost: deletions.lost,
        duplicated: deletions.duplicated,
        completed: deletions.completed,
        retries: relay.retries,
        alerts: emails.length,
      });
      assert.deepEqual(leaks, [], 'credentials found in the output');
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.deepEqual(Object.entries(faultsLogged).filter(([, seen]) => !seen).map(([what]) => what), [], 'faults whose errors were never logged');
      // Each process states the level it runs at in its first line (config_loaded).
      const levels = FUNCTION_NAMES.map((n) => (fs.functionLog(n).find((l) => l['event'] === 'config_loaded')?.['config'] as { logLevel?: string } | undefined)?.logLevel);
      assert.deepEqual(levels, FUNCTION_NAMES.map(() => 'trace'), 'every function process ran at trace level');
      assert.equal(pseudonymised, customers.length, 'retention pseudonymised every finished request');
      assert.equal(deletions.lost, 0, deletions.problems.join('\n'));
      assert.equal(deletions.duplicated, 0, deletions.problems.join('\n'));
    });
  });
}
