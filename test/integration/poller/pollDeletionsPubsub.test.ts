import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadConfig } from '../../../functions/config.js';
import { silentLogger } from '../../../functions/log.js';
import { systemClock } from '../../../functions/clock.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { createPubsubAdmin, functionsPushEndpoint, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { createPubsubPublisher, type Publisher } from '../../../functions/services/publisher.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { useTestDatabase } from '../../helpers/db.js';
import { seedDeletions } from './fixtures.js';
import { eventually } from '../../helpers/eventually.js';

describe('pollDeletions end to end: Pub/Sub emulator push → Functions Framework → sandbox → PostgreSQL', function () {
  this.timeout(60_000);
  const db = useTestDatabase('poller_e2e');
  const projectId = uniqueProjectId('poller');
  const functionName = `pollDeletionsE2E${process.pid}`;
  let sandbox: RunningSandbox;
  let server: Server;
  let admin: PubsubAdmin;
  let publisher: Publisher;
  let topic: string;
  const deliveries: Array<{ ok: boolean; data: unknown }> = [];

  before(async () => {
    const host = await pubsubEmulator();
    sandbox = await startSandbox({ vendors: { http: { lifecycle: { inProgressAfterMs: 0, completeAfterMs: 200 } } } });
    const config = loadConfig({
      DATABASE_URL: db().url,
      VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
      GOOGLE_CLOUD_PROJECT: projectId,
      LOG_LEVEL: 'silent',
    });
    topic = config.topics.poll;
    publisher = createPubsubPublisher({ projectId, apiEndpoint: host });
    const handler = createPollDeletions({
      config,
      pool: db().pool,
      vendors: createVendors(config.vendors),
      publisher,
      log: silentLogger(),
      clock: systemClock,
    });
    functions.cloudEvent(functionName, async (event: functions.CloudEvent<unknown>) => {
      try {
        await handler(event);
        deliveries.push({ ok: true, data: event.data });
      } catch (err) {
        deliveries.push({ ok: false, data: event.data });
        throw err;
      }
    });
    server = getTestServer(functionName);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    admin = createPubsubAdmin({ host, projectId });
    await admin.ensureTopic(topic);
    await admin.ensureTopic(config.topics.alerts);
    await admin.ensurePushSubscription(topic, 'poll-deletions', functionsPushEndpoint(url, projectId, topic), {
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' },
    });
  });

  after(async () => {
    await admin?.deleteSubscription('poll-deletions').catch(() => {});
    await publisher?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    await sandbox?.stop();
  });

  it('revoke → forced poll → the sandbox completes → the row moves from pending_deletion to completed_deletion', async () => {
    const now = new Date();
    // The revocation as the ingest leaves it for a vendor it could not submit to: queued and due.
    const [id] = await seedDeletions(db().pool, [
      { customerId: 'e2e-customer-1', vendor: 'http', state: 'queued', submittedAt: null, revokedAt: now, nextCheckAt: now },
    ]);
    const pending = async () => (await db().pool.query('select state, operation_id from pending_deletion where deletion_id = $1', [id])).rows[0];
    assert.equal((await pending()).state, 'queued');

    await publisher.publish(topic, { customerIds: ['e2e-customer-1'], reason: 'e2e: submit' });
    await eventually('the poller to submit', async () => ['submitted', 'in_progress'].includes((await pending())?.state));
    const operationId = (await pending()).operation_id as string;
    assert.ok(operationId);
    assert.ok(sandbox.control.calls('http').some((c) => c.method === 'POST'), 'the sandbox received the create call');

    // The sandbox completes 200 ms after creation; a forced poll checks now rather than in 5 minutes.
    await new Promise((r) => setTimeout(r, 300));
    await publisher.publish(topic, { customerIds: ['e2e-customer-1'], reason: 'e2e: check' });
    await eventually('the row to reach completed_deletion', async () => {
      const r = await db().pool.query('select operation_id, completed_at from completed_deletion where deletion_id = $1', [id]);
      return r.rowCount === 1;
    });
    assert.equal(await pending(), undefined, 'gone from pending_deletion');
    const done = (await db().pool.query('select operation_id, completed_at, check_count from completed_deletion where deletion_id = $1', [id])).rows[0];
    assert.equal(done.operation_id, operationId);
    assert.ok(done.check_count >= 1);
    assert.ok(deliveries.length >= 2 && deliveries.every((d) => d.ok), 'each delivery acknowledged');
  });

  it('acknowledges a bad message delivered by push instead of retrying it', async () => {
    const before = deliveries.length;
    await publisher.publish(topic, { customerIds: 'not-a-list' });
    await eventually('the bad message to be handled', () => deliveries.length > before);
    // Give a redelivery (which would follow a 500 after ~1 s) the chance to show up.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(deliveries.slice(before).map((d) => d.ok), [true]);
  });
});
