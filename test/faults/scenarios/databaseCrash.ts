import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../../local/stack.js';
import { cli } from '../../integration/cli/helpers.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventually, sleep } from '../harness.js';
import { alertFigures, alertsEmailed, settleRevocations, stackFigures, untilAlertRaised, untilRecorded, writeRevocations, staleAlertsEnv } from '../stackHarness.js';

export const CRASH = '9 PostgreSQL crash (SIGKILL)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

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
    this.timeout(profile.name === 'full' ? 900_000 : 300_000);
    let fs: FaultStack;

    before(async function () {
      this.timeout(120_000);
      results.begin(CRASH);
      fs = await startFaultStack({
        rootDir: ROOT,
        log: silentLogger(),
        // Every deletion goes stale before it completes, so alerts are raised and emailed across the crashes.
        env: { ...staleAlertsEnv('0.004'), DB_POOL_MAX: '4' },
      });
      await fs.sandbox({ lifecycle: { inProgressAfterMs: 2_000, completeAfterMs: 40_000 }, recordLimit: 1_000_000 });
    });
    after(async () => {
      await fs?.stop();
    });

    it('loses nothing, duplicates nothing, verifies its chain, and recovers without a function restart', async () => {
      const pids = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, fs.stack.functionPid(n)]));
      const memoryBefore = fs.memory();
      const customers = Array.from({ length: profile.crashRevocations }, (_, i) => `crash-${String(i).padStart(5, '0')}`);
      const crashes: Array<{ during: string; postmaster: number; backends: number }> = [];

      // The source: every customer granted, then revoked, in batches (what "none lost" is counted against).
      const writer = writeRevocations(fs, customers, { fields: (c) => ({ email: `${c}@example.com` }) });

      // Crash 1: while revocations are being recorded.
      await untilRecorded(fs, customers.length / 4, 'a quarter of the revocations recorded');
      crashes.push({ during: 'ingest', ...(await fs.postgres.crash()) });
      await sleep(1_500);
      await fs.postgres.start();
      const written = await writer;

      // Crash 2: while the poller records statuses and alerts are raised.
      await untilAlertRaised(fs);
      crashes.push({ during: 'poll and alerts', ...(await fs.postgres.crash()) });
      await sleep(1_500);
      await fs.postgres.start();
      const recoveries = fs.postgres.log().filter((l) => /database system was interrupted/.test(l)).length;

      // Everything settles: every revocation recorded and completed, every raised alert emailed.
      await settleRevocations(fs, customers, profile.name === 'full' ? 600_000 : 240_000);
      await alertsEmailed(fs, 120_000);
      await fs.stack.relay.idle();
      await sleep(3_000); // a redelivery still in flight lands before the emails are counted

      // Figures, from the source and the record.
      const { lost, duplicated, completed, problems } = await stackFigures(fs, customers);
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
