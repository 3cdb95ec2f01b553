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
import { deletionFigures, deliverUntilAccepted, eventCount, forEachLimited, pollUntilSettled, seededRandom, shuffle } from '../harness.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

export const DUPLICATES = '1 duplicate deliveries';

/**
 * Scenario 1: every revocation event delivered `deliveries` times, in random order, `concurrency` at once,
 * through the real handler (protobuf and JSON), PostgreSQL and the http sandbox; then the poller to completion.
 * Exactly one request and one vendor job per customer, and every deletion completed.
 */
export function duplicateDeliveries(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${DUPLICATES}: ${count(profile.events)} events × ${profile.deliveries}, concurrency ${profile.concurrency}`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 120_000);
    const db = useTestDatabase('faults_duplicates');
    const T0 = new Date('2026-11-27T10:00:00Z');
    const clock = createFakeClock(T0);
    let sandbox: RunningSandbox;

    before(async () => {
      results.begin(DUPLICATES);
      sandbox = await startSandbox({
        clock,
        vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 10 * MINUTE }, recordLimit: 1_000_000 } },
      });
    });
    after(async () => {
      await sandbox?.stop();
    });

    it('records one request and submits one vendor job per customer, then completes every deletion', async () => {
      const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`, DB_POOL_MAX: '10' });
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, {
        requestsPerSecond: 100_000,
        concurrency: 8,
        timeoutMs: 10 * SECOND,
      });
      const log = silentLogger();
      const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [vendor], log, clock });

      const customers = Array.from({ length: profile.events }, (_, i) => `dup-${i}`);
      const events = customers.map((customerId, i) =>
        firestoreEvent({
          customerId,
          id: randomUUID(),
          before: { analyticsConsent: true, email: `${customerId}@example.com` },
          after: { analyticsConsent: false, email: `${customerId}@example.com` },
          // Distinct revoking writes, microseconds apart, as a mass revocation produces.
          updateTime: new Date(Date.parse('2026-11-27T09:30:00Z') + i).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`),
          encoding: i % 5 === 0 ? 'json' : 'protobuf',
        }),
      );
      const deliveries = shuffle(
        events.flatMap((e) => Array.from({ length: profile.deliveries }, () => e)),
        seededRandom(1),
      );
      let attempts = 0;
      await forEachLimited(deliveries, profile.concurrency, async (event) => {
        const tries = await deliverUntilAccepted(handler, event);
        attempts += tries;
      });

      const ingested = await deletionFigures(db().pool, sandbox, customers, { mustComplete: false });
      assert.equal(ingested.lost, 0, ingested.problems.join('\n'));
      assert.equal(ingested.duplicated, 0, ingested.problems.join('\n'));
      const creates = sandbox.control.calls('http').filter((c) => c.method === 'POST');
      assert.equal(creates.length, customers.length, 'one create call per customer: later deliveries found the request recorded');

      const publisher = createMemoryPublisher();
      const cycle = buildPollCycle({
        pool: db().pool,
        vendors: [vendor],
        publisher,
        log,
        clock,
        submit: true,
      });
      await pollUntilSettled(db().pool, cycle, clock, { stepMs: 11 * MINUTE, maxRounds: 5 });

      const figures = await deletionFigures(db().pool, sandbox, customers, { mustComplete: true });
      const retries = attempts - deliveries.length + (await eventCount(db().pool, ['submit_failed', 'error']));
      results.record({
        scenario: DUPLICATES,
        path: IN_PROCESS,
        load: `${count(profile.events)} events × ${profile.deliveries} deliveries, concurrency ${profile.concurrency}`,
        faults: `${count(deliveries.length - events.length)} duplicate deliveries, random order, protobuf + JSON`,
        lost: figures.lost,
        duplicated: figures.duplicated,
        completed: figures.completed,
        retries,
        alerts: publisher.messages.filter((m) => m.topic === 'deletion-alerts').length,
      });
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.equal(figures.completed, customers.length);
    });
  });
}
