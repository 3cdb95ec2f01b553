import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../../local/stack.js';
import { cli } from '../../integration/cli/helpers.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventually, sleep } from '../harness.js';

export const CRASH = '9 PostgreSQL crash (SIGKILL)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Customers revoked (request recorded), from the database. */
async function recorded(fs: FaultStack): Promise<number> {
  const { rows } = await fs.pool.query<{ n: number }>('select count(distinct customer_id)::int as n from deletion_request');
  return rows[0]!.n;
}

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
/** Waits until every customer has a request and nothing is pending; on a timeout, says what was left. */
async function settle(fs: FaultStack, customers: number, timeoutMs: number): Promise<void> {
  try {
    await eventually(
      'every revocation recorded and every deletion completed',
      async () => {
        // The test's own pool may still hold a connection the crash cut: a failed probe is tried again.
        const result = await fs.pool
          .query<{ requests: number; pending: number }>(
            'select (select count(distinct customer_id)::int from deletion_request) as requests, (select count(*)::int from pending_deletion) as pending',
          )
          .catch(() => undefined);
        const row = result?.rows[0];
        return row && row.requests >= customers && row.pending === 0 ? true : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    const states = await fs.pool.query<{ state: string; n: number }>('select state, count(*)::int as n from vendor_deletion group by state');
    const requests = await fs.pool.query<{ n: number }>('select count(distinct customer_id)::int as n from deletion_request');
    throw new Error(
      `${(err as Error).message}: ${requests.rows[0]!.n} of ${customers} customers have a request; deletions by state ${JSON.stringify(states.rows)}; relay ${JSON.stringify(fs.stack.relay.stats())}`,
      { cause: err },
    );
  }
}

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
      const collection = fs.firestore.collection('customers');
      const crashes: Array<{ during: string; postmaster: number; backends: number }> = [];

      // The source: every customer granted, then revoked, in batches (what "none lost" is counted against).
      let written = 0;
      const writer = (async () => {
        for (let i = 0; i < customers.length; i += 50) {
          const slice = customers.slice(i, i + 50);
          const grant = fs.firestore.batch();
          for (const c of slice) grant.set(collection.doc(c), { analyticsConsent: true, email: `${c}@example.com` });
          await grant.commit();
          const revoke = fs.firestore.batch();
          for (const c of slice) revoke.update(collection.doc(c), { analyticsConsent: false });
          await revoke.commit();
          written += slice.length;
        }
      })();

      // Crash 1: while revocations are being recorded.
      await eventually('a quarter of the revocations recorded', async () => ((await recorded(fs).catch(() => 0)) >= customers.length / 4 ? true : undefined), 120_000, 20);
      crashes.push({ during: 'ingest', ...(await fs.postgres.crash()) });
      await sleep(1_500);
      await fs.postgres.start();
      await writer;

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
      await settle(fs, customers.length, profile.name === 'full' ? 600_000 : 240_000);
      const raisedIds = async () =>
        (await fs.pool.query<{ id: string }>("select distinct detail->>'alertId' as id from deletion_event where kind = 'alert_raised'")).rows.map((r) => r.id);
      await eventually(
        'every raised alert emailed',
        async () => {
          const sent = new Set((await fs.emails()).map((m) => m.customArgs['alertId']));
          const raised = await raisedIds().catch(() => undefined);
          return raised?.every((id) => sent.has(id)) ? true : undefined;
        },
        120_000,
        500,
      );
      await fs.stack.relay.idle();
      await sleep(3_000); // a redelivery still in flight lands before the emails are counted

      // Figures, from the source and the record.
      const { rows } = await fs.pool.query<{ customer_id: string; requests: number; deletions: number; completed: number }>(
        `select r.customer_id, count(distinct r.id)::int as requests, count(d.id)::int as deletions,
                count(d.id) filter (where d.state = 'completed')::int as completed
           from deletion_request r left join vendor_deletion d on d.request_id = r.id group by r.customer_id`,
      );
      const byCustomer = new Map(rows.map((r) => [r.customer_id, r]));
      const jobs = await fs.vendorJobs();
      let lost = 0;
      let duplicated = 0;
      let completed = 0;
      const problems: string[] = [];
      for (const c of customers) {
        const r = byCustomer.get(c);
        if (!r || r.completed < 1) {
          lost += 1;
          problems.push(`${c}: ${r ? `${r.completed} completed` : 'no request'}`);
        }
        completed += r?.completed ?? 0;
        if (r && r.requests > 1) duplicated += r.requests - 1;
        if ((jobs.get(c) ?? 0) > 1) {
          duplicated += jobs.get(c)! - 1;
          problems.push(`${c}: ${jobs.get(c)} vendor jobs`);
        }
      }
      const raised = await raisedIds();
      const emails = await fs.emails();
      const perAlert = new Map<string, number>();
      for (const m of emails) perAlert.set(m.customArgs['alertId']!, (perAlert.get(m.customArgs['alertId']!) ?? 0) + 1);
      const unsent = raised.filter((id) => !perAlert.has(id));
      const twice = [...perAlert.values()].reduce((s, n) => s + Math.max(0, n - 1), 0);
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
        alerts: emails.length,
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
