import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventually, sleep } from '../harness.js';
import {
  alertFigures,
  alertsEmailed,
  mailFault,
  settleRevocations,
  stackFigures,
  staleAlertsEnv,
  untilAlertRaised,
  untilRecorded,
  writeRevocations,
} from '../stackHarness.js';

export const STACK_RESTART = '4s database restart + email outage (stack)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Scenario 4 on the production path: revocations are written to the Firestore emulator and reach
 * onCustomerWritten through the trigger and the relay while the stack's private PostgreSQL is restarted (a fast
 * shutdown: connections cut); when the first alerts are raised the mail sink answers SendGrid 500, and the
 * database is restarted again while sendAlert's deliveries are being redelivered by Pub/Sub push. Counted
 * against the revocations written to Firestore (one request, one vendor job, completed) and the alerts raised
 * in the database (each emailed exactly once, its delivery recorded as sent).
 */
export function stackRestart(profile: FaultProfile, results: FaultResults): void {
  const customers = Array.from({ length: profile.stackRestartRevocations }, (_, i) => `restart-stack-${String(i).padStart(5, '0')}`);
  describe(`scenario ${STACK_RESTART}: ${count(customers.length)} revocations through the local stack`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 300_000);
    let fs: FaultStack;

    before(async function () {
      this.timeout(120_000);
      results.begin(STACK_RESTART);
      fs = await startFaultStack({
        rootDir: ROOT,
        log: silentLogger(),
        print: false,
        // Every deletion goes stale before it completes, so alerts are raised and emailed across the outage.
        env: staleAlertsEnv('0.002'),
      });
      await fs.sandbox({ lifecycle: { inProgressAfterMs: 2_000, completeAfterMs: 15_000 }, recordLimit: 1_000_000 });
    });
    after(async () => {
      await fs?.stop();
    });

    it('loses no revocation written to Firestore and emails every alert raised in the database exactly once', async () => {
      let restarts = 0;
      const restart = async (downMs: number) => {
        await fs.postgres.stop();
        await sleep(downMs);
        await fs.postgres.start();
        restarts += 1;
      };

      // Restart 1: while the revocations are being recorded.
      const writer = writeRevocations(fs, customers);
      await untilRecorded(fs, customers.length / 4, 'a quarter of the revocations recorded');
      await restart(1_500);
      const written = await writer;

      // SendGrid answers 500 from the first alert raised; restart 2 while its deliveries are redelivered.
      await untilAlertRaised(fs);
      await mailFault(fs, { status: 500 });
      await eventually('a delivery refused by SendGrid', () => fs.functionLog('sendAlert').some((l) => l['event'] === 'alert_send_failed') || undefined, 60_000, 100);
      await restart(2_000);
      await mailFault(fs, null);

      await settleRevocations(fs, customers, profile.name === 'full' ? 600_000 : 180_000);
      await alertsEmailed(fs, 120_000);
      await fs.stack.relay.idle();
      await sleep(3_000); // a redelivery still in flight lands before the emails are counted

      const { lost, duplicated, completed, problems } = await stackFigures(fs, customers);
      const { raised, emails, unsent, twice } = await alertFigures(fs);
      const deliveries = await fs.pool.query<{ state: string; n: number }>('select state, count(*)::int as n from alert_delivery group by state');
      const refused = fs.functionLog('sendAlert').filter((l) => l['event'] === 'alert_send_failed').length;
      const relay = fs.stack.relay.stats();
      results.record({
        scenario: STACK_RESTART,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore, ${count(raised.length)} alerts raised`,
        faults: `${restarts} PostgreSQL restarts (ingest; alert delivery), SendGrid 500 for ${count(refused)} deliveries`,
        lost: lost + unsent.length,
        duplicated: duplicated + twice,
        completed,
        retries: relay.retries + refused,
        alerts: emails,
      });
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.ok(refused > 0, 'SendGrid refused deliveries during the outage');
      assert.equal(lost, 0, problems.join('\n'));
      assert.equal(duplicated, 0, problems.join('\n'));
      assert.deepEqual(unsent, [], 'raised alerts never emailed');
      assert.equal(twice, 0, 'an alert emailed more than once');
      assert.deepEqual(deliveries.rows.map((r) => [r.state, r.n]), [['sent', raised.length]], 'every raised alert recorded as sent');
      assert.equal(relay.abandoned, 0, 'no trigger event given up');
    });
  });
}
