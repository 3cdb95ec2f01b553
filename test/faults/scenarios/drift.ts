import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, MINUTE, SECOND } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import type { DriftMode } from '../../../local/sandbox/types.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { count, IN_PROCESS, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { deletionFigures, deliverUntilAccepted, eventCount, forEachLimited } from '../harness.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

export const DRIFT = '5 contract drift';

const MODES: DriftMode[] = ['rename_field', 'unknown_status', 'html', 'truncated'];
const ROUND = 10 * MINUTE;
const ON_ROUNDS = 2;
const OFF_ROUNDS = 2;

/**
 * Scenario 5: the vendor's contract drifts (renamed field, unknown status word, an HTML page, a truncated
 * body) and comes back, `driftIncidents` times, while deletions are being submitted and checked. One
 * contract-violation alert per incident, never one per poll; every incident closes by itself once the vendor
 * answers well; every deletion completes; no job is created twice.
 */
export function contractDrift(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${DRIFT}: ${profile.driftIncidents} incidents switched on and off over ${count(profile.driftDeletions)} deletions`, function () {
    this.timeout(profile.name === 'full' ? 600_000 : 60_000);
    const db = useTestDatabase('faults_drift');
    const clock = createFakeClock('2026-11-27T10:00:00Z');
    let sandbox: RunningSandbox;
    const driftSpan = profile.driftIncidents * (ON_ROUNDS + OFF_ROUNDS) * ROUND;

    before(async () => {
      results.begin(DRIFT);
      // Operations finish only after the last incident, so every incident meets status checks in flight.
      sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: driftSpan + ROUND }, recordLimit: 1_000_000 } } });
    });
    after(async () => {
      await sandbox?.stop();
    });

    it('raises one alert per incident, recovers without intervention and completes every deletion', async () => {
      const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` });
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, {
        requestsPerSecond: 100_000,
        timeoutMs: 5 * SECOND,
        minCheckIntervalMs: 5 * MINUTE,
        maxCheckIntervalMs: ROUND,
        // A create answered outside the contract is bounded per deletion (domain/failureClasses.ts: 3 by default,
        // then error and a person); this scenario is about recovering from drifts that end, so its bound outlasts
        // an incident (the bound itself is tested in test/integration/poller/refusals.test.ts).
        maxRefusals: 2 * (ON_ROUNDS + 1),
      });
      const log = silentLogger();
      const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [vendor], log, clock });
      const customers = Array.from({ length: profile.driftDeletions }, (_, i) => `drift-${i}`);
      const ingest = (list: string[], offset: number) =>
        forEachLimited(list, profile.concurrency, async (customerId, i) => {
          await deliverUntilAccepted(
            handler,
            firestoreEvent({
              customerId,
              id: randomUUID(),
              before: { analyticsConsent: true },
              after: { analyticsConsent: false },
              updateTime: new Date(Date.parse('2026-11-27T09:00:00Z') + offset + i).toISOString(),
            }),
          );
        });
      const half = Math.floor(customers.length / 2);
      await ingest(customers.slice(0, half), 0);

      const publisher = createMemoryPublisher();
      const cycle = buildPollCycle({
        pool: db().pool,
        vendors: [vendor],
        publisher,
        log,
        clock,
        submit: true,
      });
      for (let incident = 0; incident < profile.driftIncidents; incident += 1) {
        sandbox.control.configure('http', { drift: MODES[incident % MODES.length]! });
        // The second half of the revocations arrives while the first incident lasts: their creates drift too.
        if (incident === 0) await ingest(customers.slice(half), half);
        for (let r = 0; r < ON_ROUNDS; r += 1) {
          clock.advance(ROUND);
          await cycle.run({});
        }
        sandbox.control.configure('http', { drift: null });
        for (let r = 0; r < OFF_ROUNDS; r += 1) {
          clock.advance(ROUND);
          await cycle.run({});
        }
        const open = await db().pool.query("select 1 from vendor_incident where vendor = 'http' and closed_at is null");
        assert.equal(open.rowCount, 0, `incident ${incident + 1} (${MODES[incident % MODES.length]}) closed by itself once the vendor answered well`);
      }
      for (let r = 0; r < 10; r += 1) {
        clock.advance(ROUND);
        await cycle.run({});
        const pending = await db().pool.query<{ n: number }>('select count(*)::int as n from pending_deletion');
        if (pending.rows[0]!.n === 0) break;
      }

      const alerts = await publishedAlerts(publisher, db().pool);
      const contract = alerts.filter((a) => a.kind === 'contract_violation');
      const figures = await deletionFigures(db().pool, sandbox, customers, { mustComplete: true });
      const stats = sandbox.control.stats('http');
      results.record({
        scenario: DRIFT,
        path: IN_PROCESS,
        load: `${count(customers.length)} deletions, ${count(profile.driftIncidents * (ON_ROUNDS + OFF_ROUNDS))} drift rounds`,
        faults: `${profile.driftIncidents} incidents cycling ${MODES.join('/')}, ${count(stats.byOutcome.drift)} drifted answers`,
        lost: figures.lost,
        duplicated: figures.duplicated + Math.max(0, contract.length - profile.driftIncidents),
        completed: figures.completed,
        retries: await eventCount(db().pool, ['submit_failed', 'error', 'contract_violation']),
        alerts: alerts.length,
      });
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.equal(contract.length, profile.driftIncidents, 'one contract-violation alert per incident');
      assert.equal(new Set(contract.map((a) => a.alertId)).size, contract.length);
      assert.ok(contract.every((a) => a.vendor === 'http' && (a.detail ?? '').length > 0), 'each alert names the vendor and what was wrong');
    });
  });
}
