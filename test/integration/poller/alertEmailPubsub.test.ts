import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadConfig } from '../../../functions/config.js';
import { silentLogger } from '../../../functions/log.js';
import { DAY, systemClock } from '../../../functions/clock.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { createSendgridSenderFromConfig } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { createPubsubAdmin, functionsPushEndpoint, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';
import { createPubsubPublisher, type Publisher } from '../../../functions/services/publisher.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { useTestDatabase } from '../../helpers/db.js';
import { seedDeletions } from './fixtures.js';
import { eventually } from '../../helpers/eventually.js';

/** Serves a CloudEvent function under the Functions Framework on a free port; returns its URL and a closer. */
async function serve(name: string, fn: (e: functions.CloudEvent<unknown>) => Promise<void>): Promise<{ url: string; server: Server }> {
  functions.cloudEvent(name, fn);
  const server = getTestServer(name);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('poller alerts end to end: pollDeletions → deletion-alerts → sendAlert → mail sink (Pub/Sub emulator)', function () {
  this.timeout(90_000);
  const db = useTestDatabase('poller_alert_e2e');
  const projectId = uniqueProjectId('pollalert');
  let sandbox: RunningSandbox;
  let sink: MailSink;
  let admin: PubsubAdmin;
  let publisher: Publisher;
  let pollTopic: string;
  const servers: Server[] = [];
  let polls = 0;
  let alertDeliveries = 0;

  before(async () => {
    const host = await pubsubEmulator();
    sandbox = await startSandbox({ vendors: { http: { lifecycle: { inProgressAfterMs: 0, completeAfterMs: 60 * DAY } } } });
    sink = await startMailSink({ outboxDir: false });
    const config = loadConfig({
      DATABASE_URL: db().url,
      VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
      GOOGLE_CLOUD_PROJECT: projectId,
      SENDGRID_API_KEY: 'SG.poller-e2e-key',
      SENDGRID_BASE_URL: sink.url,
      ALERT_FROM: 'alerts@example.com',
      ALERT_TO: 'ops@example.com',
      LOG_LEVEL: 'silent',
    });
    pollTopic = config.topics.poll;
    publisher = createPubsubPublisher({ projectId, apiEndpoint: host });
    const poll = createPollDeletions({ config, pool: db().pool, vendors: createVendors(config.vendors), publisher, log: silentLogger(), clock: systemClock });
    const send = createSendAlert({ config, pool: db().pool, sender: createSendgridSenderFromConfig(config), log: silentLogger(), clock: systemClock });
    const p = await serve(`pollAlertsE2EPoll${process.pid}`, async (e) => {
      await poll(e);
      polls += 1;
    });
    const s = await serve(`pollAlertsE2ESend${process.pid}`, async (e) => {
      await send(e);
      alertDeliveries += 1;
    });
    servers.push(p.server, s.server);
    admin = createPubsubAdmin({ host, projectId });
    for (const topic of [config.topics.poll, config.topics.alerts]) await admin.ensureTopic(topic);
    const retryPolicy = { minimumBackoff: '1s', maximumBackoff: '2s' };
    await admin.ensurePushSubscription(config.topics.poll, 'poll-e2e', functionsPushEndpoint(p.url, projectId, config.topics.poll), { retryPolicy });
    await admin.ensurePushSubscription(config.topics.alerts, 'alerts-e2e', functionsPushEndpoint(s.url, projectId, config.topics.alerts), { retryPolicy });
  });

  after(async () => {
    await admin?.deleteSubscription('poll-e2e').catch(() => {});
    await admin?.deleteSubscription('alerts-e2e').catch(() => {});
    await publisher?.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    await sandbox?.stop();
    await sink?.stop();
  });

  /** Publishes a poll message and waits until the poller has handled it and the alert pipeline is quiet. */
  async function pollOnce(message: unknown): Promise<void> {
    const before = polls;
    await publisher.publish(pollTopic, message);
    await eventually('the poll to be handled', () => polls > before);
    // Let any alert it published reach the sink before counting emails.
    await new Promise((r) => setTimeout(r, 1500));
  }

  it('a deletion left pending past its staleness produces exactly one email naming the operation and the customer', async () => {
    const now = new Date();
    await seedDeletions(db().pool, [
      {
        customerId: 'stale-customer-9',
        vendor: 'http',
        operationId: 'op-stale-9',
        revokedAt: new Date(now.getTime() - 4 * DAY),
        nextCheckAt: new Date(now.getTime() + DAY),
      },
    ]);
    await pollOnce({});
    await eventually('the stale email', () => sink.messages().length >= 1);
    await pollOnce({ reason: 'a second tick raises nothing new' });
    const emails = sink.messages();
    assert.equal(emails.length, 1);
    assert.match(emails[0]!.text ?? '', /op-stale-9/);
    assert.match(emails[0]!.text ?? '', /stale-customer-9/);
    assert.equal(alertDeliveries, 1);
  });

  it('a drifted sandbox produces one contract-violation email, listing the deletion whose check met the drift', async () => {
    const vendor = createVendors(loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` }).vendors)[0]!;
    const [op] = await vendor.submit([{ deletionId: 'x', customerId: 'drift-customer', idempotencyKey: randomUUID() }]);
    const now = new Date();
    await seedDeletions(db().pool, [{ customerId: 'drift-customer', vendor: 'http', operationId: op!.operationId, revokedAt: now, nextCheckAt: now }]);
    sandbox.control.configure('http', { drift: 'unknown_status' });
    const before = sink.messages().length;
    await pollOnce({ customerIds: ['drift-customer'] });
    await eventually('the contract-violation email', () => sink.messages().length > before);
    await pollOnce({ customerIds: ['drift-customer'] });
    const emails = sink.messages().slice(before);
    assert.equal(emails.length, 1);
    assert.deepEqual(emails[0]!.categories, ['consent-erasure', 'alert-contract_violation']);
    const text = emails[0]!.text ?? '';
    assert.match(text, /Affected deletions: 1\b/);
    assert.match(text, new RegExp(`- customer drift-customer \\| vendor http \\| operation ${op!.operationId} \\| .*met by a status check`));
    const state = await db().pool.query("select state, raw_status, last_error_kind from vendor_deletion where customer_id = 'drift-customer'");
    assert.deepEqual(state.rows[0], { state: 'submitted', raw_status: null, last_error_kind: 'contract_violation' }, 'kept its last good state');
  });
});
