import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { seededRandom } from '../harness.js';
import { settleRevocations, stackFigures, writeRevocations } from '../stackHarness.js';

export const STACK_DUPLICATES = '1s duplicate deliveries (stack)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Scenario 1 on the production path: customers are granted and then revoked in the Firestore emulator; its
 * trigger events reach onCustomerWritten through the relay and a Functions Framework process, every event
 * handed over three times, eight deliveries at once (so copies overlap and arrive out of order), as Eventarc
 * may redeliver. Counted against the revocations written to Firestore: one request and one vendor job per
 * customer, and every deletion completes through the poller fed by Pub/Sub push.
 */
export function stackDuplicates(profile: FaultProfile, results: FaultResults): void {
  const customers = Array.from({ length: profile.stackDuplicateCustomers }, (_, i) => `dup-stack-${String(i).padStart(5, '0')}`);
  describe(`scenario ${STACK_DUPLICATES}: ${count(customers.length)} revocations, each event delivered 3 times`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 300_000);
    let fs: FaultStack;

    before(async function () {
      this.timeout(120_000);
      results.begin(STACK_DUPLICATES);
      fs = await startFaultStack({
        rootDir: ROOT,
        log: silentLogger(),
        triggerRetry: { attempts: 60, minBackoffMs: 500, maxBackoffMs: 10_000, concurrency: 8 },
        env: { VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '2', VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '4' },
      });
      await fs.sandbox({ lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 4_000 }, recordLimit: 1_000_000 });
      const random = seededRandom(11);
      // Three copies of every event; a random share of them also a fourth (redelivery is not uniform).
      fs.stack.relay.setFault(() => ({ copies: random() < 0.1 ? 4 : 3 }));
    });
    after(async () => {
      await fs?.stop();
    });

    it('records one request and one vendor job per customer, and completes every one', async () => {
      const written = await writeRevocations(fs, customers);
      await settleRevocations(fs, customers, profile.name === 'full' ? 600_000 : 240_000);
      await fs.stack.relay.idle();
      const { lost, duplicated, completed, problems } = await stackFigures(fs, customers);
      const relay = fs.stack.relay.stats();
      results.record({
        scenario: STACK_DUPLICATES,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore, ${count(relay.received)} trigger events, 8 deliveries at once`,
        faults: `${count(relay.duplicated)} extra copies delivered (3–4 per event)`,
        lost,
        duplicated,
        completed,
        retries: relay.retries,
        alerts: 0,
      });
      assert.equal(written, customers.length);
      assert.ok(relay.duplicated >= relay.received * 2, 'every event was delivered at least three times');
      assert.equal(lost, 0, problems.join('\n'));
      assert.equal(duplicated, 0, problems.join('\n'));
    });
  });
}
