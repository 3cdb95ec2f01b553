import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPubsubAdmin, functionsPushEndpoint, PubsubAdminError, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';

describe('pubsubAdmin (real Pub/Sub emulator)', function () {
  this.timeout(60_000);
  let admin: PubsubAdmin;
  let host: string;
  const projectId = uniqueProjectId('psadmin');

  before(async () => {
    host = await pubsubEmulator();
    admin = createPubsubAdmin({ host, projectId });
  });

  async function subscription(name: string): Promise<Record<string, unknown>> {
    const res = await fetch(`http://${host}/v1/projects/${projectId}/subscriptions/${name}`);
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  it('creates topics idempotently, publishes and pulls (acknowledging) messages', async () => {
    await admin.ensureTopic('admin-topic');
    await admin.ensureTopic('admin-topic');
    await admin.ensurePullSubscription('admin-topic', 'admin-pull');
    await admin.ensurePullSubscription('admin-topic', 'admin-pull');
    const ids = await admin.publish('admin-topic', [{ data: { a: 1 } }, { data: 'plain', attributes: { k: 'v' } }]);
    assert.equal(ids.length, 2);
    const got = await admin.pull('admin-pull', { maxMessages: 10 });
    assert.deepEqual(
      got.map((m) => [m.data, m.attributes]).sort(),
      [['plain', { k: 'v' }], ['{"a":1}', {}]],
    );
    assert.deepEqual(await admin.pull('admin-pull'), [], 'acknowledged messages are not pulled again');
  });

  it('creates a push subscription with its retry and dead-letter policies, and updates it in place', async () => {
    await admin.ensureTopic('push-topic');
    await admin.ensureTopic('push-dead');
    const endpoint = functionsPushEndpoint('http://127.0.0.1:9/', projectId, 'push-topic');
    assert.equal(endpoint, `http://127.0.0.1:9/projects/${projectId}/topics/push-topic`);
    await admin.ensurePushSubscription('push-topic', 'push-sub', endpoint, {
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '10s' },
      deadLetterTopic: 'push-dead',
      maxDeliveryAttempts: 5,
    });
    let sub = await subscription('push-sub');
    assert.deepEqual(sub['pushConfig'], { pushEndpoint: endpoint });
    assert.deepEqual(sub['retryPolicy'], { minimumBackoff: '1s', maximumBackoff: '10s' });
    assert.deepEqual(sub['deadLetterPolicy'], { deadLetterTopic: `projects/${projectId}/topics/push-dead`, maxDeliveryAttempts: 5 });

    const moved = functionsPushEndpoint('http://127.0.0.1:10', projectId, 'push-topic');
    await admin.ensurePushSubscription('push-topic', 'push-sub', moved, { retryPolicy: { minimumBackoff: '2s', maximumBackoff: '20s' } });
    sub = await subscription('push-sub');
    assert.deepEqual(sub['pushConfig'], { pushEndpoint: moved });
    assert.deepEqual(sub['retryPolicy'], { minimumBackoff: '2s', maximumBackoff: '20s' });

    await admin.deleteSubscription('push-sub');
    await admin.deleteSubscription('push-sub');
    const gone = await fetch(`http://${host}/v1/projects/${projectId}/subscriptions/push-sub`);
    assert.equal(gone.status, 404);
  });

  it('pushes published messages to the endpoint in the shape the Functions Framework converts', async () => {
    const bodies: Array<{ path: string; body: { message: { data: string; messageId: string }; subscription: string } }> = [];
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body: JSON.parse(raw) as (typeof bodies)[number]['body'] });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await admin.ensureTopic('pushed-topic');
      await admin.ensurePushSubscription('pushed-topic', 'pushed-sub', functionsPushEndpoint(url, projectId, 'pushed-topic'), {
        retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' },
      });
      await admin.publish('pushed-topic', [{ data: { hello: 'world' } }]);
      const until = Date.now() + 20_000;
      while (bodies.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal(bodies.length, 1);
      assert.equal(bodies[0]!.path, `/projects/${projectId}/topics/pushed-topic`);
      assert.equal(Buffer.from(bodies[0]!.body.message.data, 'base64').toString(), '{"hello":"world"}');
      await admin.deleteSubscription('pushed-sub');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('refuses what would silently misbehave: no retry policy, a path the framework cannot convert, bad ids', async () => {
    await assert.rejects(
      admin.ensurePushSubscription('push-topic', 'x-sub', 'http://127.0.0.1:9/', { retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' } }),
      /must end in \/projects\/P\/topics\/T/,
    );
    await assert.rejects(
      admin.ensurePushSubscription('push-topic', 'x-sub', functionsPushEndpoint('http://127.0.0.1:9', projectId, 'push-topic'), {} as never),
      /needs a retryPolicy/,
    );
    await assert.rejects(admin.ensureTopic('t'), (err: unknown) => err instanceof PubsubAdminError && /invalid topic id/.test(err.message));
    await assert.rejects(admin.pull('no-such-sub'), (err: unknown) => err instanceof PubsubAdminError && err.status === 404);
  });
});
