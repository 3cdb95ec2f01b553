import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, MINUTE, SECOND } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { count, IN_PROCESS, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { deletionFigures, deliverUntilAccepted, eventCount, forEachLimited, replayedCreates } from '../harness.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

export const VENDOR_FAULTS = '2 vendor faults';

const MIN_CHECK = MINUTE;
const MAX_CHECK = 10 * MINUTE;
/** A 429 burst's window: longer than a poll round, so the pause it causes must outlast the next round. */
const BURST_WINDOW_MS = 5 * MINUTE;

/**
 * Scenario 2: all of the sandbox's faults at once (10% 5xx, 5% timeouts, 3% connection resets, 3% truncated
 * bodies) plus bursts of 429 with Retry-After, on submissions at ingest, by the poller and on status checks.
 * Every deletion completes; retries are scheduled within the vendor's configured interval bounds; a paused
 * vendor is not called; no job is created twice (the Idempotency-Key absorbs a create whose answer was lost).
 */
export function vendorFaults(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${VENDOR_FAULTS}: ${count(profile.faultDeletions)} deletions through 5xx, timeouts, resets, truncated bodies and 429 bursts`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 120_000);
    const db = useTestDatabase('faults_vendor');
    const clock = createFakeClock('2026-11-27T10:00:00Z');
    let sandbox: RunningSandbox;

    before(async () => {
      results.begin(VENDOR_FAULTS);
      sandbox = await startSandbox({
        clock,
        seed: 2,
        vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 5 * MINUTE }, recordLimit: 1_000_000 } },
      });
    });
    after(async () => {
      await sandbox?.stop();
    });

    it('completes every deletion, within the retry bounds, with no job created twice', async () => {
      const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` });
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, {
        requestsPerSecond: 100_000,
        concurrency: 8,
        timeoutMs: 300,
        minCheckIntervalMs: MIN_CHECK,
        maxCheckIntervalMs: MAX_CHECK,
      });
      const faults = { failureShare: 0.1, failureStatus: 503, timeoutShare: 0.05, hangMs: 1_000, resetShare: 0.03, drift: 'truncated' as const, driftShare: 0.03 };
      sandbox.control.configure('http', faults);
      const log = silentLogger();
      const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [vendor], log, clock });
      const customers = Array.from({ length: profile.faultDeletions }, (_, i) => `vf-${i}`);
      let redeliveries = 0;
      await forEachLimited(customers, profile.concurrency, async (customerId, i) => {
        const event = firestoreEvent({
          customerId,
          id: randomUUID(),
          before: { analyticsConsent: true },
          after: { analyticsConsent: false },
          updateTime: new Date(Date.parse('2026-11-27T09:00:00Z') + i).toISOString(),
        });
        const tries = await deliverUntilAccepted(handler, event);
        redeliveries += tries - 1;
      });

      const publisher = createMemoryPublisher();
      const cycle = buildPollCycle({
        pool: db().pool,
        vendors: [vendor],
        publisher,
        log,
        clock,
        submit: true,
      });
      const bursts = new Set([2, 3, 9, 10]);
      let rounds = 0;
      let pausedRounds = 0;
      for (; rounds < 200; rounds += 1) {
        sandbox.control.configure('http', { rateLimit: bursts.has(rounds) ? { requests: 10, perMs: BURST_WINDOW_MS } : null });
        clock.advance(2 * MINUTE);
        const paused = await db().pool.query("select 1 from vendor_pause where vendor = 'http' and paused_until > $1", [clock.now()]);
        const callsBefore = sandbox.control.stats('http').requests;
        await cycle.run({});
        if (paused.rowCount) {
          pausedRounds += 1;
          assert.equal(sandbox.control.stats('http').requests, callsBefore, `round ${rounds}: the vendor was called while paused by its Retry-After`);
        }
        const pending = await db().pool.query<{ n: number }>('select count(*)::int as n from pending_deletion');
        if (pending.rows[0]!.n === 0 && rounds > Math.max(...bursts)) break;
      }
      sandbox.control.configure('http', { failureShare: 0, timeoutShare: 0, resetShare: 0, drift: null, rateLimit: null });

      // Every retry of a submission was scheduled within [1 s, the vendor's longest check interval].
      const delays = await db().pool.query<{ ms: number }>(
        `select extract(epoch from ((detail->>'retryAt')::timestamptz - occurred_at)) * 1000 as ms
           from deletion_event where kind = 'submit_failed'`,
      );
      const outOfBounds = delays.rows.filter((r) => r.ms < SECOND || r.ms > Math.max(MAX_CHECK, BURST_WINDOW_MS));
      assert.deepEqual(outOfBounds, [], 'submission retries scheduled outside the configured bounds');

      const stats = sandbox.control.stats('http');
      const figures = await deletionFigures(db().pool, sandbox, customers, { mustComplete: true });
      const retries = redeliveries + (await eventCount(db().pool, ['submit_failed', 'error', 'contract_violation']));
      results.record({
        scenario: VENDOR_FAULTS,
        path: IN_PROCESS,
        load: `${count(customers.length)} deletions, ${count(rounds + 1)} poll rounds`,
        faults:
          `${count(stats.byOutcome.failure)} 5xx, ${count(stats.byOutcome.timeout)} timeouts, ${count(stats.byOutcome.reset)} resets, ` +
          `${count(stats.byOutcome.drift)} truncated, ${count(stats.byOutcome.rate_limited)} × 429`,
        lost: figures.lost,
        duplicated: figures.duplicated,
        completed: figures.completed,
        retries,
        alerts: publisher.messages.filter((m) => m.topic === 'deletion-alerts').length,
      });
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.ok(stats.byOutcome.failure > 0 && stats.byOutcome.timeout > 0 && stats.byOutcome.reset > 0 && stats.byOutcome.drift > 0, 'every fault was injected');
      assert.ok(stats.byOutcome.rate_limited > 0 && pausedRounds > 0, 'the 429 bursts paused the vendor');
      assert.ok(replayedCreates(sandbox) > 0, 'a create whose answer was lost was replayed with its Idempotency-Key');
    });
  });
}
