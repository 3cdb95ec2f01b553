import assert from 'node:assert/strict';
import type { FaultStack } from '../../../local/faults/faultStack.js';
import type { DriftMode } from '../../../local/sandbox/types.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventCount, eventually } from '../harness.js';
import { alertFigures, recordedCustomers, stackFigures, settleRevocations, settleAlerts, settleTimeout, stackTimeout, useFaultStack, writeRevocations } from '../stackHarness.js';

export const STACK_DRIFT = '5s contract drift (stack)';

const MODES: DriftMode[] = ['rename_field', 'unknown_status', 'html', 'truncated'];

/** The contract-violation alerts raised in the database (the record), with the incident each belongs to. */
async function contractAlerts(fs: FaultStack): Promise<Array<{ id: string; opened: string }>> {
  const { rows } = await fs.pool.query<{ id: string; opened: string }>(
    "select id::text, incident_opened_at::text as opened from alert where kind = 'contract_violation' and vendor = 'http' order by raised_at",
  );
  return rows;
}

/** Deletions whose create call has not been answered yet. */
async function unsubmitted(fs: FaultStack): Promise<number> {
  const { rows } = await fs.pool.query<{ n: number }>("select count(*)::int as n from vendor_deletion where state = 'queued'");
  return rows[0]!.n;
}

/**
 * Scenario 5 on the production path: the vendor sandbox's contract drifts (renamed field, unknown status word,
 * an HTML page, a truncated body) and comes back, `stackDriftIncidents` times, while the poller (run by the
 * scheduler's Pub/Sub push) checks deletions the Firestore trigger brought in: before each incident a wave of
 * revocations is written to Firestore and submitted, so every incident meets status checks in flight. A drift
 * stays on until its contract-violation alert is in the database, then goes off until the incident closes by
 * itself. Alerts go through Pub/Sub push to sendAlert and the mail sink. Counted against the record: one
 * contract-violation alert per incident, each alert raised emailed exactly once; against the source: every
 * revocation has one request and one vendor job and completes.
 */
export function stackDrift(profile: FaultProfile, results: FaultResults): void {
  const incidents = profile.stackDriftIncidents;
  const customers = Array.from({ length: profile.stackDriftCustomers }, (_, i) => `drift-stack-${String(i).padStart(5, '0')}`);
  describe(`scenario ${STACK_DRIFT}: ${incidents} incidents switched on and off over ${count(customers.length)} revocations`, function () {
    this.timeout(stackTimeout(profile));
    const stack = useFaultStack(results, STACK_DRIFT, {
      env: {
        VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '1',
        VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '2',
        // Not stale within the run: the alerts raised are the drift's own.
        VENDOR_HTTP_STALE_AFTER_HOURS: '1',
        VENDOR_HTTP_NO_PROGRESS_HOURS: '1',
      },
      // An operation completes 25 s after its create, so the wave written before an incident is checked through it.
      sandbox: { lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 25_000 }, recordLimit: 1_000_000 },
    });

    it('raises one alert per incident, emails each once, recovers without intervention and completes every deletion', async () => {
      const fs = stack();
      const perWave = Math.ceil(customers.length / incidents);
      let written = 0;
      const seen: Array<{ mode: DriftMode; alerts: number }> = [];
      for (let i = 0; i < incidents; i += 1) {
        const mode = MODES[i % MODES.length]!;
        written += await writeRevocations(fs, customers.slice(i * perWave, (i + 1) * perWave));
        await eventually(`wave ${i + 1} recorded and submitted`, async () => (written <= (await recordedCustomers(fs)) && (await unsubmitted(fs)) === 0 ? true : undefined), 120_000, 200);
        const before = (await contractAlerts(fs)).length;
        await fs.sandbox({ drift: mode });
        await eventually(`incident ${i + 1} (${mode}): its alert raised`, async () => ((await contractAlerts(fs)).length > before ? true : undefined), 60_000, 100);
        await fs.sandbox({ drift: null });
        await eventually(
          `incident ${i + 1} (${mode}) closed by itself once the vendor answered well`,
          async () => ((await fs.pool.query("select 1 from vendor_incident where vendor = 'http' and closed_at is null")).rowCount === 0 ? true : undefined),
          60_000,
          100,
        );
        seen.push({ mode, alerts: (await contractAlerts(fs)).length - before });
      }

      await settleRevocations(fs, customers, settleTimeout(profile));
      await settleAlerts(fs);

      const contract = await contractAlerts(fs);
      const opened = new Set(contract.map((a) => a.opened));
      const figures = await stackFigures(fs, customers);
      const alerts = await alertFigures(fs);
      const emailed = new Set((await fs.emails()).map((m) => m.customArgs['alertId']));
      const stats = await fs.sandboxStats();
      const relay = fs.stack.relay.stats();
      const extraContract = Math.max(0, contract.length - incidents);
      results.record({
        scenario: STACK_DRIFT,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore in ${incidents} waves, ${count(alerts.raised.length)} alerts raised`,
        faults: `${incidents} incidents cycling ${MODES.slice(0, Math.min(incidents, MODES.length)).join('/')}, ${count(stats.byOutcome.drift)} drifted answers`,
        lost: figures.lost + alerts.unsent.length + Math.max(0, incidents - contract.length),
        duplicated: figures.duplicated + alerts.twice + extraContract,
        completed: figures.completed,
        retries: relay.retries + (await eventCount(fs.pool, ['submit_failed', 'error', 'contract_violation'])),
        alerts: alerts.emails,
      });
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.deepEqual(seen.map((s) => s.alerts), seen.map(() => 1), `one contract-violation alert per incident: ${JSON.stringify(seen)}`);
      assert.equal(contract.length, incidents, 'one contract-violation alert per incident');
      assert.equal(opened.size, incidents, 'each alert belongs to an incident of its own');
      assert.ok(contract.every((a) => emailed.has(a.id)), 'every contract-violation alert was emailed');
      assert.deepEqual(alerts.unsent, [], 'raised alerts never emailed');
      assert.equal(alerts.twice, 0, 'an alert emailed more than once');
      assert.equal(relay.abandoned, 0, 'no trigger event given up');
    });
  });
}

