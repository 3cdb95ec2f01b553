import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { createFakeClock, DAY, MINUTE } from '../../../functions/clock.js';
import { loadConfig, redactConfig } from '../../../functions/config.js';
import { AlertMessageSchema } from '../../../functions/alerts/AlertMessage.js';
import { createSendgridSenderFromConfig } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { freePort } from '../../../local/emulators.js';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createPseudonymiser } from '../../../functions/services/pseudonymise.js';
import { createPool } from '../../../functions/store/pool.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { count, IN_PROCESS, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { capturingLogger, deletionFigures, deliverUntilAccepted, eventCount } from '../harness.js';

const trace = (what: string) => void (process.env['FAULTS_TRACE'] && process.stderr.write(`${Date.now()} ${what}\n`));

export const SECRETS = '8 secrets in logs';

export const SECRETS_USED = {
  sendgrid: 'SG.faults-key.not-a-real-credential-7q2',
  vendor: 'vendor-api-token-Kp9mW3qT8yH1',
  dbPassword: 'db-password-Jm4sV7cN2xQ5',
  retention: 'retention-key-Fr8dG3hJ6kL9pZ2wQ5eR7tY0uI4oP1aS',
};

const pubsub = (message: unknown): CloudEvent<unknown> =>
  ({
    specversion: '1.0',
    id: randomUUID(),
    source: '//pubsub.googleapis.com/projects/demo/topics/t',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: { message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), messageId: randomUUID() } },
  }) as CloudEvent<unknown>;

/**
 * Scenario 8: a whole run (config at start-up, ingest, poller, alert emails) with the SendGrid key, a vendor
 * token, a database password and the retention key configured, through faults whose errors are logged
 * (5xx, 401 from the vendor, an unreachable database, SendGrid 500 and 401), at the most verbose level.
 * Every log line is captured; none may contain any credential.
 */
export function secretsInLogs(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${SECRETS}: every log line of a run with credentials configured`, function () {
    this.timeout(120_000);
    const db = useTestDatabase('faults_secrets');
    const clock = createFakeClock('2026-11-27T10:00:00Z');
    let sandbox: RunningSandbox;
    let sink: MailSink;

    before(async () => {
      results.begin(SECRETS);
      sandbox = await startSandbox({ clock, vendors: { http: { credential: SECRETS_USED.vendor, lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 4 * DAY } } } });
      sink = await startMailSink({ outboxDir: false });
    });
    after(async () => {
      await sandbox?.stop();
      await sink?.stop();
    });

    it('never writes a credential to the log', async () => {
      const url = new URL(db().url);
      url.username = 'postgres';
      url.password = SECRETS_USED.dbPassword; // the test server trusts 127.0.0.1, so the password is carried, not checked
      const env = {
        DATABASE_URL: url.toString(),
        VENDORS: 'http',
        VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
        VENDOR_HTTP_API_KEY: SECRETS_USED.vendor,
        VENDOR_HTTP_TIMEOUT_MS: '2000',
        // The fake clock stands still within a cycle, so a rate budget could never refill: make it wide.
        VENDOR_HTTP_RATE_PER_SECOND: '100000',
        SENDGRID_API_KEY: SECRETS_USED.sendgrid,
        SENDGRID_BASE_URL: sink.url,
        ALERT_FROM: 'alerts@example.com',
        ALERT_TO: 'ops@example.com',
        RETENTION_DAYS: '1',
        RETENTION_KEY: SECRETS_USED.retention,
        LOG_LEVEL: 'trace',
      };
      const config = loadConfig(env);
      const { log, raw } = capturingLogger('trace');
      log.info({ event: 'config_loaded', config: redactConfig(config), env: { ...env, SENDGRID_API_KEY: '[redacted]', VENDOR_HTTP_API_KEY: '[redacted]', RETENTION_KEY: '[redacted]', DATABASE_URL: '[redacted]' } }, 'configuration loaded');
      const { pool, close } = await createPool(config.database);
      try {
        const vendors = createVendors(config.vendors);
        const ingest = createOnCustomerWritten({ config, pool, vendors, log, clock });
        const customers = Array.from({ length: 30 }, (_, i) => `secret-${i}`);
        const event = (customerId: string, i: number) =>
          firestoreEvent({ customerId, before: { analyticsConsent: true }, after: { analyticsConsent: false }, updateTime: new Date(Date.parse('2026-11-27T09:00:00Z') + i).toISOString() });

        // 5xx and a rejected credential while ingesting; both are logged with the vendor's answer.
        sandbox.control.configure('http', { failureShare: 0.3 });
        for (const [i, c] of customers.slice(0, 15).entries()) await deliverUntilAccepted(ingest, event(c, i));
        sandbox.control.configure('http', { failureShare: 0, rejectCredentials: true });
        for (const [i, c] of customers.slice(15).entries()) await deliverUntilAccepted(ingest, event(c, 15 + i));
        sandbox.control.configure('http', { rejectCredentials: false });

        trace('ingested');
        // The database unreachable: the handler's retry log carries the pg error, never the URL's password.
        const downUrl = new URL(url.toString());
        downUrl.port = String(await freePort());
        const down = await createPool({ kind: 'url', url: downUrl.toString(), poolMax: 1 });
        try {
          const failing = createOnCustomerWritten({ config, pool: down.pool, vendors, log, clock });
          await assert.rejects(failing(event('secret-down', 99)));
        } finally {
          await down.close();
        }

        trace('db-down');
        const publisher = createMemoryPublisher();
        const poll = createPollDeletions({ config, pool, vendors, publisher, log, clock });
        for (let round = 0; round < 12; round += 1) {
          clock.advance(round < 6 ? 30 * MINUTE : DAY);
          await poll(pubsub({ reason: 'faults' }));
        }

        trace('polled');
        // Alert emails: SendGrid answers 500 once (retried), then 401 once (refused for good).
        const send = createSendAlert({ config, pool, sender: createSendgridSenderFromConfig(config), log, clock });
        const alerts = publisher.messages.filter((m) => m.topic === 'deletion-alerts').map((m) => AlertMessageSchema.parse(m.message));
        // A second alert like the first, for SendGrid to refuse.
        const again = randomUUID();
        await pool.query(
          `insert into alert (id, kind, vendor, incident_key, escalation, since, raised_at, summary, total_items, incident_opened_at)
           select $2::uuid, kind, vendor, incident_key, escalation, since, raised_at, summary, total_items, incident_opened_at from alert where id = $1::uuid`,
          [alerts[0]!.alertId, again],
        );
        sink.setFault({ status: 500, times: 1 });
        let resent = 0;
        for (const a of alerts) {
          const tries = await deliverUntilAccepted(send, pubsub(a), { backoffMs: 10 });
          resent += tries - 1;
        }
        sink.setFault({ status: 401, times: 1 });
        await send(pubsub({ alertId: again }));

        trace('sent');
        const figures = await deletionFigures(pool, sandbox, customers, { mustComplete: true });
        // Retention runs with the key configured (the same service the poller runs daily): finished requests
        // past RETENTION_DAYS get keyed pseudonyms, and its log lines are checked too.
        assert.ok(config.retention, 'RETENTION_DAYS and RETENTION_KEY configure retention');
        clock.advance(2 * DAY);
        const retained = await createPseudonymiser({ pool, log, clock, key: config.retention.key, retentionMs: config.retention.days * DAY })();
        const left = await pool.query<{ n: number }>('select count(*)::int as n from deletion_request where customer_id = any($1::text[])', [customers]);

        const text = raw.join('');
        const leaked = Object.entries(SECRETS_USED).filter(([, secret]) => text.includes(secret));
        results.record({
          scenario: SECRETS,
          path: IN_PROCESS,
          load: `${count(raw.length)} log lines at trace level, ${customers.length} deletions, ${alerts.length} alert(s)`,
          faults: `${Object.keys(SECRETS_USED).length} credentials configured; 5xx, 401, database down, SendGrid 500 and 401; retention pseudonymised ${count(retained.requests)} requests`,
          lost: figures.lost,
          duplicated: figures.duplicated,
          completed: figures.completed,
          retries: resent + (await eventCount(pool, ['submit_failed', 'error'])),
          alerts: sink.messages().length,
        });
        assert.deepEqual(leaked.map(([name]) => name), [], 'credentials found in the log');
        assert.equal(retained.requests, customers.length, 'retention pseudonymised every finished request');
        assert.equal(left.rows[0]!.n, 0, 'no finished request keeps its customer id after retention');
        assert.ok(raw.some((l) => l.includes('"retention_pseudonymised"')), 'retention ran and was logged');
        assert.ok(raw.some((l) => l.includes('"vendor_submit_failed"')) && raw.some((l) => l.includes('"firestore_event_retry"')), 'the faults were logged');
        assert.ok(raw.some((l) => l.includes('"alert_send_failed"')) && raw.some((l) => l.includes('"alert_rejected"')), 'the SendGrid faults were logged');
        assert.ok(alerts.length > 0, 'alerts were raised and sent');
        assert.equal(figures.lost, 0, figures.problems.join('\n'));
        assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      } finally {
        await close();
      }
    });
  });
}
