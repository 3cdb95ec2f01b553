import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadConfig } from '../../../functions/config.js';
import { createLogger } from '../../../functions/log.js';
import { systemClock } from '../../../functions/clock.js';
import { randomUUID } from 'node:crypto';
import { AlertMessageSchema, type AlertMessage } from '../../../functions/alerts/AlertMessage.js';
import { recordAlert } from '../../../functions/store/recordAlert.js';
import { createSendgridSenderFromConfig } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { createPubsubAdmin, functionsPushEndpoint, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';
import { createPubsubPublisher, type Publisher } from '../../../functions/services/publisher.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { useTestDatabase } from '../../helpers/db.js';
import { eventually } from '../../helpers/eventually.js';

describe('sendAlert end to end: Pub/Sub emulator push → Functions Framework → SendGrid sink', function () {
  this.timeout(60_000);
  const db = useTestDatabase('alert_e2e');
  const projectId = uniqueProjectId('alerts');
  const functionName = `sendAlertE2E${process.pid}`;
  let sink: MailSink;
  let server: Server;
  let admin: PubsubAdmin;
  let publisher: Publisher;
  let topic: string;
  const outcomes: Array<{ alertId: string | undefined; ok: boolean }> = [];
  let seeded: { deletionId: string; customerId: string; operationId: string };

  before(async () => {
    const host = await pubsubEmulator();
    sink = await startMailSink({ outboxDir: false });
    const config = loadConfig({
      DATABASE_URL: db().url,
      VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/',
      GOOGLE_CLOUD_PROJECT: projectId,
      SENDGRID_API_KEY: 'SG.e2e-test-key',
      SENDGRID_BASE_URL: sink.url,
      ALERT_FROM: 'alerts@example.com',
      ALERT_TO: 'ops@example.com',
      LOG_LEVEL: 'silent',
    });
    topic = config.topics.alerts;

    const r = await db().pool.query<{ id: string }>(
      `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at)
       values ('customer-e2e-42', now() - interval '4 days', 'ev-e2e', 'test', now() + interval '26 days') returning id`,
    );
    const d = await db().pool.query<{ id: string }>(
      `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_id, submitted_at)
       values ($1, 'customer-e2e-42', 'http', 'submitted', 'op-e2e-7', now() - interval '4 days') returning id`,
      [r.rows[0]!.id],
    );
    seeded = { deletionId: String(d.rows[0]!.id), customerId: 'customer-e2e-42', operationId: 'op-e2e-7' };

    const sendAlert = createSendAlert({
      config,
      pool: db().pool,
      sender: createSendgridSenderFromConfig(config),
      log: createLogger({ level: 'silent' }),
      clock: systemClock,
    });
    functions.cloudEvent(functionName, async (event: functions.CloudEvent<unknown>) => {
      const alertId = (() => {
        try {
          const data = event.data as { message: { data: string } };
          return (JSON.parse(Buffer.from(data.message.data, 'base64').toString()) as { alertId?: string }).alertId;
        } catch {
          return undefined;
        }
      })();
      try {
        await sendAlert(event);
        outcomes.push({ alertId, ok: true });
      } catch (err) {
        outcomes.push({ alertId, ok: false });
        throw err;
      }
    });
    server = getTestServer(functionName);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    admin = createPubsubAdmin({ host, projectId });
    await admin.ensureTopic(topic);
    await admin.ensurePushSubscription(topic, 'send-alert', functionsPushEndpoint(url, projectId, topic), {
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' },
    });
    publisher = createPubsubPublisher({ projectId, apiEndpoint: host });
  });

  after(async () => {
    await admin?.deleteSubscription('send-alert').catch(() => {});
    await publisher?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    await sink?.stop();
  });

  /** Writes a stale alert listing the seeded deletion, as the poller would; returns its message (the reference). */
  async function alert(): Promise<AlertMessage> {
    const now = new Date();
    const id = randomUUID();
    await recordAlert(db().pool, {
      id,
      kind: 'stale',
      vendor: 'http',
      incidentKey: 'stale:http',
      escalation: 0,
      since: new Date(now.getTime() - 4 * 86_400_000),
      raisedAt: now,
      summary: '1 deletion at http is past the expected 3 days.',
      totalItems: 1,
      incidentOpenedAt: null,
      items: [{ deletionId: seeded.deletionId, since: new Date(now.getTime() - 4 * 86_400_000) }],
    });
    return AlertMessageSchema.parse({ alertId: id });
  }

  it('delivers a published alert to sendAlert, whose one email reaches the sink naming the operation and customer', async () => {
    const m = await alert();
    // The same alert published twice, as a poller retrying its publish would.
    await publisher.publish(topic, m);
    await publisher.publish(topic, m);
    await eventually('both deliveries to be handled', () => outcomes.filter((o) => o.alertId === m.alertId && o.ok).length >= 2);

    const emails = sink.messages().filter((e) => e.customArgs['alertId'] === m.alertId);
    assert.equal(emails.length, 1);
    assert.match(emails[0]!.text!, /op-e2e-7/);
    assert.match(emails[0]!.text!, /customer-e2e-42/);
    assert.match(emails[0]!.subject, /Deletions overdue at http/);

    const events = await db().pool.query(
      "select 1 from deletion_event where kind = 'alert_sent' and vendor_deletion_id = $1 and detail->>'alertId' = $2",
      [seeded.deletionId, m.alertId],
    );
    assert.equal(events.rowCount, 1);
  });

  it('retries through Pub/Sub when SendGrid fails, and the email arrives once it recovers', async () => {
    const m = await alert();
    sink.setFault({ status: 500, times: 1 });
    await publisher.publish(topic, m);
    // The email reaches the sink a moment before the handler records it and answers, so wait for the answer.
    await eventually('the delivery after a retry to succeed', () => outcomes.some((o) => o.alertId === m.alertId && o.ok));
    const mine = outcomes.filter((o) => o.alertId === m.alertId);
    assert.deepEqual(
      mine.map((o) => o.ok),
      [false, true],
    );
    assert.equal(sink.messages().filter((e) => e.customArgs['alertId'] === m.alertId).length, 1);
  });

  it('acknowledges an invalid alert message instead of retrying it', async () => {
    await publisher.publish(topic, { alertId: 'e2e-bad', kind: 'meteor' });
    await eventually('the invalid message to be handled', () => outcomes.some((o) => o.alertId === 'e2e-bad'));
    assert.deepEqual(
      outcomes.filter((o) => o.alertId === 'e2e-bad'),
      [{ alertId: 'e2e-bad', ok: true }],
    );
    assert.equal(sink.messages().filter((e) => e.customArgs['alertId'] === 'e2e-bad').length, 0);
  });

  it('a message published by hand with made-up text sends no email with that text and writes no event; a real alert still arrives once', async () => {
    const eventsBefore = (await db().pool.query("select count(*)::int as n from deletion_event where kind = 'alert_sent'")).rows[0].n as number;
    const forgedId = randomUUID();
    const text = 'URGENT: wire the refund to account 0000 today';
    // What a party able to publish to the topic could send: an id of its own, and the old message shape with its own text.
    const forged = [
      { alertId: forgedId },
      {
        alertId: randomUUID(),
        kind: 'stale',
        vendor: 'http',
        summary: text,
        items: [{ deletionId: seeded.deletionId, customerId: seeded.customerId, vendor: 'http', operationId: 'op-forged', state: 'failed' }],
        totalItems: 1,
      },
    ];
    for (const f of forged) await publisher.publish(topic, f);
    const real = await alert();
    await publisher.publish(topic, real);
    await eventually('every message to be handled', () =>
      [forgedId, forged[1]!.alertId, real.alertId].every((id) => outcomes.some((o) => o.alertId === id && o.ok)) ? true : undefined,
    );

    assert.equal(sink.messages().filter((e) => `${e.subject}${e.text}${e.html}`.includes(text) || e.text?.includes('op-forged')).length, 0);
    assert.equal(sink.messages().filter((e) => e.customArgs['alertId'] === forgedId || e.customArgs['alertId'] === forged[1]!.alertId).length, 0);
    assert.equal(sink.messages().filter((e) => e.customArgs['alertId'] === real.alertId).length, 1, 'the real alert arrives once');
    const events = await db().pool.query<{ alert_id: string }>(
      "select detail->>'alertId' as alert_id from deletion_event where kind = 'alert_sent' order by id offset $1",
      [eventsBefore],
    );
    assert.deepEqual(events.rows.map((r) => r.alert_id), [real.alertId], 'alert_sent only for the real alert');
  });
});
