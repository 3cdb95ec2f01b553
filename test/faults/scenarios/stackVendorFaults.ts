import assert from 'node:assert/strict';
import type { FaultStack } from '../../../local/faults/faultStack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventCount, sleep } from '../harness.js';
import { alertFigures, stackFigures, settleRevocations, settleAlerts, settleTimeout, stackTimeout, useFaultStack, writeRevocations } from '../stackHarness.js';

export const STACK_VENDOR_FAULTS = '2s vendor faults (stack)';

/**
 * The sandbox's faults while the work goes through (row 2's shares, truncated bodies a little more often: with
 * fewer deletions, enough creates must lose their answer after the job was made for the Idempotency-Key replay to
 * be seen); hangs outlast the vendor timeout below.
 */
const FAULTS = { failureShare: 0.1, failureStatus: 503, timeoutShare: 0.05, hangMs: 1_500, resetShare: 0.03, drift: 'truncated', driftShare: 0.05 };
/** A 429 burst: at most 5 requests in any 4 s, answered 429 with Retry-After beyond that. */
const BURST = { requests: 5, perMs: 4_000 };

/**
 * Scenario 2 on the production path: customers are granted and then revoked in the Firestore emulator; their
 * trigger events reach onCustomerWritten through the relay and a Functions Framework process, which submits to
 * the vendor sandbox while it answers 5xx, hangs past the client's timeout, resets connections and truncates
 * bodies, with bursts of 429 + Retry-After; the poller runs only when the scheduler's Pub/Sub push reaches
 * pollDeletions. Counted against the revocations written to Firestore: one request and one vendor job per
 * customer, and every deletion completes; every alert raised in the database (a truncated body is a contract
 * violation) is emailed once.
 */
export function stackVendorFaults(profile: FaultProfile, results: FaultResults): void {
  const customers = Array.from({ length: profile.stackFaultCustomers }, (_, i) => `vf-stack-${String(i).padStart(5, '0')}`);
  describe(`scenario ${STACK_VENDOR_FAULTS}: ${count(customers.length)} revocations through 5xx, hangs, resets, truncated bodies and 429 bursts`, function () {
    this.timeout(stackTimeout(profile));
    const stack = useFaultStack(results, STACK_VENDOR_FAULTS, {
      env: {
        VENDOR_HTTP_TIMEOUT_MS: '1000',
        VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '1',
        VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '4',
        // Not stale within the run: the alerts raised are the faults' own (contract violations).
        VENDOR_HTTP_STALE_AFTER_HOURS: '1',
        VENDOR_HTTP_NO_PROGRESS_HOURS: '1',
      },
      sandbox: { lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 4_000 }, recordLimit: 1_000_000, ...FAULTS },
    });

    it('records one request and one vendor job per customer and completes every one, through every fault', async () => {
      const fs = stack();
      // The source, while 429 bursts come and go: on for 4 s, off for 4 s, as long as the revocations are written.
      let writing = true;
      let bursts = 0;
      const burster = (async () => {
        while (writing || bursts < 2) {
          await fs.sandbox({ rateLimit: BURST });
          bursts += 1;
          await sleep(4_000);
          await fs.sandbox({ rateLimit: null });
          await sleep(4_000);
        }
      })();
      const written = await writeRevocations(fs, customers).finally(() => void (writing = false));
      await burster;

      await settleRevocations(fs, customers, settleTimeout(profile));
      await fs.sandbox({ failureShare: 0, timeoutShare: 0, resetShare: 0, drift: null, rateLimit: null });
      await settleAlerts(fs);

      const figures = await stackFigures(fs, customers);
      const alerts = await alertFigures(fs);
      const stats = await fs.sandboxStats();
      const replayed = await fs.replayedCreates();
      const relay = fs.stack.relay.stats();
      const paused = await fs.pool.query("select 1 from vendor_pause where vendor = 'http'");
      const retries = relay.retries + replayed + (await eventCount(fs.pool, ['submit_failed', 'error', 'contract_violation']));
      results.record({
        scenario: STACK_VENDOR_FAULTS,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore, ${count(stats.requests)} vendor calls, ${count(alerts.raised.length)} alerts raised`,
        faults:
          `${count(stats.byOutcome.failure)} 5xx, ${count(stats.byOutcome.timeout)} timeouts, ${count(stats.byOutcome.reset)} resets, ` +
          `${count(stats.byOutcome.drift)} truncated, ${count(stats.byOutcome.rate_limited)} × 429 in ${bursts} bursts; ${count(replayed)} creates replayed`,
        lost: figures.lost + alerts.unsent.length,
        duplicated: figures.duplicated + alerts.twice,
        completed: figures.completed,
        retries,
        alerts: alerts.emails,
      });
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.deepEqual(alerts.unsent, [], 'raised alerts never emailed');
      assert.equal(alerts.twice, 0, 'an alert emailed more than once');
      assert.ok(stats.byOutcome.failure > 0 && stats.byOutcome.timeout > 0 && stats.byOutcome.reset > 0 && stats.byOutcome.drift > 0, 'every fault was injected');
      assert.ok(stats.byOutcome.rate_limited > 0 && (paused.rowCount ?? 0) > 0, 'the 429 bursts paused the vendor');
      assert.ok(replayed > 0, 'a create whose answer was lost was replayed with its Idempotency-Key');
      assert.equal(relay.abandoned, 0, 'no trigger event given up');
    });
  });
}
