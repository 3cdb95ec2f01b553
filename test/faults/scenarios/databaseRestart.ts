import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createFakeClock, DAY, MINUTE, SECOND, systemClock } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { AlertMessageSchema } from '../../../functions/alerts/AlertMessage.js';
import { createSendgridSenderFromConfig } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { silentLogger } from '../../../functions/log.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../../local/faults/privatePostgres.js';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';
import { createPubsubAdmin, functionsPushEndpoint, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { createPubsubPublisher, type Publisher } from '../../../functions/services/publisher.js';
import { createPool } from '../../../functions/store/pool.js';
import { migrate } from '../../../functions/store/migrate.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { count, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { deletionFigures, deliverUntilAccepted, eventually, forEachLimited, sleep } from '../harness.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

export const RESTART = '4 database restart + email outage';

/**
 * Scenario 4: a private PostgreSQL (never the machine's shared server) is restarted in the middle of a mass
 * revocation and again while alert emails are being delivered, and the SendGrid sink answers 500 for a while.
 * The Pub/Sub emulator redelivers every alert the function could not send (push to the Functions Framework,
 * retry policy as in production). No request is lost, and every alert reaches the sink exactly once.
 */
export function databaseRestart(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${RESTART}: ${count(profile.restartEvents)} revocations, alerts through the Pub/Sub emulator`, function () {
    this.timeout(profile.name === 'full' ? 600_000 : 150_000);
    const clock = createFakeClock(new Date());
    const projectId = uniqueProjectId('faults-restart');
    const functionName = `faultsRestartAlerts${process.pid}`;
    let postgres: PrivatePostgres;
    let sandbox: RunningSandbox;
    let sink: MailSink;
    let server: Server;
    let admin: PubsubAdmin;
    let publisher: Publisher;
    let closePool: (() => Promise<void>) | undefined;
    const answered: Array<{ alertId: string | undefined; ok: boolean }> = [];

    before(async function () {
      this.timeout(60_000);
      results.begin(RESTART);
      postgres = await startPrivatePostgres({ database: 'faults' });
      await migrate({ databaseUrl: postgres.url });
      sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 12 * DAY }, recordLimit: 1_000_000 } } });
      sink = await startMailSink({ outboxDir: false });
    });
    after(async () => {
      await admin?.deleteSubscription('faults-send-alert').catch(() => {});
      await publisher?.close();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await closePool?.();
      await sink?.stop();
      await sandbox?.stop();
      await postgres?.destroy();
    });

    it('loses no request and delivers every alert exactly once after recovery', async () => {
      const host = await pubsubEmulator();
      const config = loadConfig({
        DATABASE_URL: postgres.url,
        GOOGLE_CLOUD_PROJECT: projectId,
        VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
        SENDGRID_API_KEY: 'SG.faults-restart',
        SENDGRID_BASE_URL: sink.url,
        ALERT_FROM: 'alerts@example.com',
        ALERT_TO: 'ops@example.com',
      });
      const { pool, close } = await createPool({ ...config.database, poolMax: 8 } as typeof config.database);
      closePool = close;
      const log = silentLogger();
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, {
        requestsPerSecond: 100_000,
        timeoutMs: 5 * SECOND,
      });

      // sendAlert behind the Functions Framework, fed by a push subscription with a retry policy.
      const sendAlert = createSendAlert({ config, pool, sender: createSendgridSenderFromConfig(config), log, clock: systemClock, delivery: { leaseMs: 5_000, inFlightWaitMs: 500 } });
      functions.cloudEvent(functionName, async (event: functions.CloudEvent<unknown>) => {
        let alertId: string | undefined;
        try {
          const data = event.data as { message: { data: string } };
          alertId = (JSON.parse(Buffer.from(data.message.data, 'base64').toString()) as { alertId?: string }).alertId;
        } catch {
          alertId = undefined;
        }
        try {
          await sendAlert(event);
          answered.push({ alertId, ok: true });
        } catch (err) {
          answered.push({ alertId, ok: false });
          throw err;
        }
      });
      server = getTestServer(functionName);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      admin = createPubsubAdmin({ host, projectId });
      await admin.ensureTopic(config.topics.alerts);
      await admin.ensurePushSubscription(
        config.topics.alerts,
        'faults-send-alert',
        functionsPushEndpoint(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, projectId, config.topics.alerts),
        { retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' } },
      );
      publisher = createPubsubPublisher({ projectId, apiEndpoint: host });

      // A mass revocation, with the database restarted while it is being recorded.
      const ingest = createOnCustomerWritten({ config, pool, vendors: [vendor], log, clock });
      const customers = Array.from({ length: profile.restartEvents }, (_, i) => `restart-${i}`);
      let attempts = 0;
      let restarts = 0;
      const restart = (async () => {
        await eventually('a quarter of the revocations recorded', async () => {
          const n = await pool.query<{ n: number }>('select count(*)::int as n from deletion_request').catch(() => undefined);
          return n && n.rows[0]!.n >= customers.length / 4 ? true : undefined;
        }, 60_000, 20);
        await postgres.stop();
        await sleep(1_500);
        await postgres.start();
        restarts += 1;
      })();
      await forEachLimited(customers, profile.concurrency, async (customerId, i) => {
        const event = firestoreEvent({
          customerId,
          id: randomUUID(),
          before: { analyticsConsent: true },
          after: { analyticsConsent: false },
          updateTime: new Date(Date.parse('2026-11-27T09:00:00Z') + i).toISOString(),
        });
        const tries = await deliverUntilAccepted(ingest, event, { maxAttempts: 400, backoffMs: 100 });
        attempts += tries;
      });
      await restart;
      const recorded = await deletionFigures(pool, sandbox, customers, { mustComplete: false });
      assert.equal(recorded.lost, 0, recorded.problems.join('\n'));

      // Days pass without completion: stale, no-progress and escalation alerts, while SendGrid answers 500.
      sink.setFault({ status: 500 });
      const cycle = buildPollCycle({ pool, vendors: [vendor], publisher, log, clock, submit: true });
      for (let day = 0; day < 6; day += 1) {
        clock.advance(day === 0 ? 10 * MINUTE : DAY);
        await cycle.run({});
      }
      const published = await pool.query<{ n: number }>("select count(*)::int as n from deletion_alert where raised_at is not null");
      assert.ok(published.rows[0]!.n > 0, 'alerts were raised');
      await eventually('a failed delivery', () => (answered.some((a) => !a.ok) ? true : undefined), 30_000);
      // The database goes down again while the emails are being retried, then everything recovers.
      await postgres.stop();
      await sleep(2_000);
      await postgres.start();
      restarts += 1;
      sink.setFault(null);

      const alertIds = () => new Set(answered.filter((a) => a.alertId).map((a) => a.alertId!));
      await eventually(
        'every alert to be answered ok',
        () => {
          const ids = [...alertIds()];
          return ids.length > 0 && ids.every((id) => answered.some((a) => a.alertId === id && a.ok)) ? true : undefined;
        },
        90_000,
        200,
      );
      // Let any redelivery still in flight land before counting emails.
      await sleep(2_500);
      const emails = new Map<string, number>();
      for (const m of sink.messages()) emails.set(m.customArgs['alertId']!, (emails.get(m.customArgs['alertId']!) ?? 0) + 1);
      const ids = [...alertIds()];
      const undelivered = ids.filter((id) => !emails.has(id));
      const twice = [...emails.values()].filter((n) => n > 1).reduce((s, n) => s + n - 1, 0);
      const deliveries = await pool.query<{ state: string; n: number }>('select state, count(*)::int as n from alert_delivery group by state');

      // The vendor finishes; every deletion completes.
      clock.advance(7 * DAY);
      await cycle.run({});
      const figures = await deletionFigures(pool, sandbox, customers, { mustComplete: true });
      results.record({
        scenario: RESTART,
        path: 'handler in-process; alerts Pub/Sub push → FF server',
        load: `${count(customers.length)} revocations, ${count(ids.length)} alerts`,
        faults: `${restarts} PostgreSQL restarts, SendGrid 500 for ${count(answered.filter((a) => !a.ok).length)} deliveries`,
        lost: figures.lost + undelivered.length,
        duplicated: figures.duplicated + twice,
        completed: figures.completed,
        retries: attempts - customers.length + answered.filter((a) => !a.ok).length,
        alerts: sink.messages().length,
      });
      assert.deepEqual(undelivered, [], 'alerts never delivered');
      assert.equal(twice, 0, 'an alert was emailed more than once');
      assert.deepEqual(deliveries.rows.map((r) => [r.state, r.n]), [['sent', ids.length]]);
      assert.ok(ids.every((id) => AlertMessageSchema.shape.alertId.safeParse(id).success));
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
    });
  });
}
