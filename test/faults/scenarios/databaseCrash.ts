import assert from 'node:assert/strict';
import type { FaultStack } from '../../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../../local/stack.js';
import { cli } from '../../integration/cli/helpers.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventually, sleep } from '../harness.js';
import { alertFigures, recordedCustomers, revocationFigures, settle, settleAlerts, settleTimeout, stackTimeout, useFaultStack, writeRevocations } from '../stackFigures.js';

export const CRASH = '9 PostgreSQL crash (SIGKILL)';

/**
 * Scenario 9: a real crash. The local stack runs on a private PostgreSQL; revocations are written to the
 * Firestore emulator and reach onCustomerWritten through the trigger, the relay (redelivering what the
 * function refused, as Eventarc does with --retry) and a Functions Framework process; the poller and the
 * alert sender are fed by Pub/Sub push. Twice the postmaster and every backend are SIGKILLed mid-write (while
 * revocations are being recorded, then while the poller records statuses and alerts), and the server is
 * started again, recovering from its WAL. Counted against the source: every revocation written to Firestore
 * has one request and one vendor job and completes; every alert raised in the database is emailed once; the
 * event log's hash chain verifies; the function processes that served before the crashes serve after them.
 */
export function databaseCrash(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${CRASH}: ${count(profile.crashRevocations)} revocations through the local stack`, function () {
    this.timeout(stackTimeout(profile));
    const stack = useFaultStack(results, CRASH, {
      env: {
        // Every deletion goes stale before it completes, so alerts are raised and emailed across the crashes.
        VENDOR_HTTP_STALE_AFTER_HOURS: '0.004',
        VENDOR_HTTP_NO_PROGRESS_HOURS: '1',
        VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '2',
        VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '4',
        DB_POOL_MAX: '4',
        // A poll cycle cut by the crash leaves its claims leased: a minute here, not the production ten.
        POLL_TIME_BUDGET_SECONDS: '20',
        POLL_LEASE_SECONDS: '60',
      },
      sandbox: { lifecycle: { inProgressAfterMs: 2_000, completeAfterMs: 40_000 }, recordLimit: 1_000_000 },
    });

    it('loses nothing, duplicates nothing, verifies its chain, and recovers without a function restart', async () => {
      const fs = stack();
      const pids = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, fs.stack.functionPid(n)]));
      const memoryBefore = fs.memory();
      const customers = Array.from({ length: profile.crashRevocations }, (_, i) => `crash-${String(i).padStart(5, '0')}`);
      const crashes: Array<{ during: string; postmaster: number; backends: number }> = [];

      // The source: every customer granted, then revoked, in batches (what "none lost" is counted against).
      const writer = writeRevocations(fs, customers, (c) => ({ email: `${c}@example.com` }));

      // Crash 1: while revocations are being recorded.
      await eventually('a quarter of the revocations recorded', async () => ((await recordedCustomers(fs)) >= customers.length / 4 ? true : undefined), 120_000, 20);
      crashes.push({ during: 'ingest', ...(await fs.postgres.crash()) });
      await sleep(1_500);
      await fs.postgres.start();
      const written = await writer;

      // Crash 2: while the poller records statuses and alerts are raised.
      await eventually(
        'alerts raised',
        async () => {
          const { rows } = await fs.pool.query<{ n: number }>("select count(*)::int as n from deletion_event where kind = 'alert_raised'").catch(() => ({ rows: [{ n: 0 }] }));
          return rows[0]!.n > 0 ? true : undefined;
        },
        120_000,
        100,
      );
      crashes.push({ during: 'poll and alerts', ...(await fs.postgres.crash()) });
      await sleep(1_500);
      await fs.postgres.start();
      const recoveries = fs.postgres.log().filter((l) => /database system was interrupted/.test(l)).length;

      // Everything settles: every revocation recorded and completed, every raised alert emailed.
      await settle(fs, customers.length, settleTimeout(profile));
      await settleAlerts(fs);

      // Figures, from the source and the record.
      const { lost, duplicated, completed, problems } = await revocationFigures(fs, customers);
      const { raised, emails, unsent, twice } = await alertFigures(fs);
      const chain = await cli(['verify-log', '--json'], {}, fs.dir);
      const relay = fs.stack.relay.stats();
      const samePids = FUNCTION_NAMES.every((n) => fs.stack.functionPid(n) === pids[n]);

      results.record({
        scenario: CRASH,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore, ${count(raised.length)} alerts raised`,
        faults: `${crashes.length} SIGKILLs of postmaster + backends (${crashes.map((c) => `${c.backends} backends, ${c.during}`).join('; ')}), ${recoveries} WAL recoveries`,
        lost: lost + unsent.length,
        duplicated: duplicated + twice,
        completed,
        retries: relay.retries,
        alerts: emails,
      });
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.equal(recoveries >= crashes.length, true, `PostgreSQL recovered from its WAL after each crash (${recoveries})`);
      assert.equal(lost, 0, problems.join('\n'));
      assert.equal(duplicated, 0, problems.join('\n'));
      assert.deepEqual(unsent, [], 'raised alerts never emailed');
      assert.equal(twice, 0, 'an alert emailed more than once');
      assert.equal(chain.code, 0, `verify-log: ${chain.stdout}${chain.stderr}`);
      assert.equal(relay.abandoned, 0, 'no trigger event given up');
      assert.ok(samePids, 'the same function processes served before and after the crashes (their pools reconnected)');
      assert.ok(Object.keys(memoryBefore).length > 0);
    });
  });
}
