import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { DAY, HOUR, systemClock } from '../../../functions/clock.js';
import { loadConfig, type Config } from '../../../functions/config.js';
import { silentLogger } from '../../../functions/log.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { createReceiveDeletionCallback } from '../../../functions/handlers/receiveDeletionCallback.js';
import { createPubsubPublisher, type Publisher } from '../../../functions/services/publisher.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { createPubsubAdmin, functionsPushEndpoint, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { mparticleCallbackBody, signedCallback, specCallbackBody } from '../../../local/sandbox/opendsr/callbackSigner.js';
import { startOpenDsrProcessor, type RunningOpenDsrProcessor } from '../../../local/sandbox/opendsr/processor.js';
import { createSelfSignedCertificate } from '../../../local/sandbox/opendsr/testCa.js';
import { useTestDatabase } from '../../helpers/db.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { eventually } from '../../helpers/eventually.js';
import { capturingLogger, seedDeletions } from '../poller/fixtures.js';
import { cli } from '../cli/helpers.js';

/**
 * receiveDeletionCallback end to end: a processor (local test CA) signs a callback → the Functions Framework HTTP
 * function → PostgreSQL (the evidence) and the Pub/Sub emulator (the forced poll) → pollDeletions → the mParticle
 * sandbox → the deletion completes through the poller's own status check.
 */
describe('receiveDeletionCallback: signed callbacks through the Functions Framework, PostgreSQL and the Pub/Sub emulator', function () {
  this.timeout(90_000);
  const db = useTestDatabase('callbacks');
  const projectId = uniqueProjectId('callbacks');
  const suffix = process.pid;
  const { log, lines } = capturingLogger();
  const apiKey = 'mp-key';
  const apiSecret = 'mp-secret';
  let sandbox: RunningSandbox;
  let mparticle: RunningOpenDsrProcessor;
  let appsflyer: RunningOpenDsrProcessor;
  let selfSigned: { url: string; server: Server; privateKey: import('node:crypto').KeyObject };
  let callbackServer: Server;
  let pollServer: Server;
  let admin: PubsubAdmin;
  let publisher: Publisher;
  let config: Config;
  let callbackUrl: string;
  const published: unknown[] = [];

  before(async () => {
    const host = await pubsubEmulator();
    sandbox = await startSandbox({ vendors: { mparticle: { credential: `${apiKey}:${apiSecret}`, lifecycle: { inProgressAfterMs: 0, completeAfterMs: 0 } } } });
    mparticle = await startOpenDsrProcessor({ domain: 'opendsr.mparticle.com' });
    // AppsFlyer's processor publishes a certificate that expired yesterday (issued by the same trusted root).
    appsflyer = await startOpenDsrProcessor({ domain: 'hq1.appsflyer.com', ca: mparticle.ca, validForMs: -HOUR });
    selfSigned = await startSelfSignedProcessor('callbacks.mixpanel.example');

    // The callback function's port is needed for CALLBACK_URL before its config exists: listen first.
    callbackServer = createServer();
    await new Promise<void>((ok) => callbackServer.listen(0, '127.0.0.1', ok));
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/`;
    config = loadConfig({
      DATABASE_URL: db().url,
      GOOGLE_CLOUD_PROJECT: projectId,
      LOG_LEVEL: 'silent',
      VENDORS: 'mparticle,appsflyer,mixpanel',
      VENDOR_MPARTICLE_BASE_URL: `${sandbox.url}/mparticle`,
      VENDOR_MPARTICLE_API_KEY: apiKey,
      VENDOR_MPARTICLE_API_SECRET: apiSecret,
      VENDOR_MPARTICLE_DISCOVERY_URL: mparticle.discoveryUrl,
      VENDOR_APPSFLYER_TOKEN: 'af-token',
      VENDOR_APPSFLYER_PROPERTY_ID: 'com.example.app',
      VENDOR_APPSFLYER_PLATFORM: 'android',
      VENDOR_APPSFLYER_DISCOVERY_URL: appsflyer.discoveryUrl,
      VENDOR_MIXPANEL_TOKEN: 'mx-token',
      VENDOR_MIXPANEL_PROJECT_TOKEN: 'mx-project',
      VENDOR_MIXPANEL_CALLBACKS: 'true',
      VENDOR_MIXPANEL_CALLBACK_DOMAIN: 'callbacks.mixpanel.example',
      VENDOR_MIXPANEL_DISCOVERY_URL: `${selfSigned.url}/discovery`,
      CALLBACK_URL: callbackUrl,
      CALLBACK_TEST_ROOT_PEM: mparticle.trustRootPem,
      CALLBACK_RATE_PER_MINUTE: '1000',
    });
    publisher = createPubsubPublisher({ projectId, apiEndpoint: host });
    const recording: Publisher = {
      async publish(topic, message, attributes) {
        published.push(message);
        return publisher.publish(topic, message, attributes);
      },
      close: () => publisher.close(),
    };

    const callbackName = `receiveDeletionCallback${suffix}`;
    functions.http(callbackName, createReceiveDeletionCallback({ config, pool: db().pool, publisher: recording, log, clock: systemClock }));
    const app = getTestServer(callbackName);
    callbackServer.on('request', (req, res) => app.emit('request', req, res));

    const pollName = `pollDeletionsCallbacks${suffix}`;
    const mparticleOnly = { ...config, vendors: config.vendors.filter((v) => v.name === 'mparticle') };
    functions.cloudEvent(pollName, createPollDeletions({ config: mparticleOnly, pool: db().pool, vendors: createVendors(mparticleOnly.vendors), publisher, log: silentLogger(), clock: systemClock }));
    pollServer = getTestServer(pollName);
    await new Promise<void>((ok) => pollServer.listen(0, '127.0.0.1', ok));
    admin = createPubsubAdmin({ host, projectId });
    await admin.ensureTopic(config.topics.poll);
    await admin.ensureTopic(config.topics.alerts);
    const pollUrl = `http://127.0.0.1:${(pollServer.address() as AddressInfo).port}`;
    await admin.ensurePushSubscription(config.topics.poll, 'poll-deletions', functionsPushEndpoint(pollUrl, projectId, config.topics.poll), {
      retryPolicy: { minimumBackoff: '1s', maximumBackoff: '2s' },
    });
  });

  after(async () => {
    await admin?.deleteSubscription('poll-deletions').catch(() => {});
    await publisher?.close();
    for (const s of [callbackServer, pollServer, selfSigned?.server]) {
      if (!s) continue;
      s.closeAllConnections();
      await new Promise<void>((ok) => s.close(() => ok()));
    }
    await Promise.all([sandbox?.stop(), mparticle?.stop(), appsflyer?.stop()]);
  });

  /** A deletion submitted to `vendor` under `subjectRequestId`, its next check a day away. */
  async function seedSubmitted(vendor: string, customerId: string): Promise<{ id: string; subjectRequestId: string }> {
    const subjectRequestId = randomUUID();
    const now = new Date();
    const [id] = await seedDeletions(db().pool, [{ customerId, vendor, state: 'submitted', operationId: subjectRequestId, revokedAt: now, nextCheckAt: new Date(now.getTime() + DAY) }]);
    await db().pool.query(`update vendor_deletion set idempotency_key = $2::uuid, operation_ref = jsonb_build_object('subjectRequestId', $2::text) where id = $1`, [id, subjectRequestId]);
    return { id: id!, subjectRequestId };
  }

  async function createAtMParticle(subjectRequestId: string, customerId: string): Promise<void> {
    const response = await fetch(`${sandbox.url}/mparticle/v3/requests/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        regulation: 'gdpr',
        subject_request_id: subjectRequestId,
        subject_request_type: 'erasure',
        submitted_time: new Date().toISOString(),
        subject_identities: { controller_customer_id: { value: customerId, encoding: 'raw' } },
        api_version: '3.0',
      }),
    });
    assert.equal(response.status, 201);
  }

  const completed = (subjectRequestId: string) =>
    mparticleCallbackBody({ subjectRequestId, status: 'completed', controllerId: '3622', expectedCompletionTime: new Date(), callbackUrl });

  async function post(headers: Record<string, string>, body: Buffer | string): Promise<{ status: number; json: unknown }> {
    const response = await fetch(callbackUrl, { method: 'POST', headers, body, redirect: 'manual' });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
  }

  async function snapshot(id: string) {
    const row = (await db().pool.query('select state, check_count, next_check_at, last_checked_at from vendor_deletion where id = $1', [id])).rows[0];
    const events = (await db().pool.query('select count(*)::int as n from deletion_event')).rows[0].n as number;
    const callbacks = (await db().pool.query('select count(*)::int as n from deletion_callback')).rows[0].n as number;
    return { row, events, callbacks, published: published.length };
  }

  /** The refusal's log line, found by the reason it names. */
  const refusalLogged = (reason: string) => lines.some((l) => l['event'] === 'callback_refused' && l['reason'] === reason);

  it('a valid callback completes the deletion with one status check and no scheduled poll', async () => {
    const { id, subjectRequestId } = await seedSubmitted('mparticle', 'cb-customer-1');
    await createAtMParticle(subjectRequestId, 'cb-customer-1');
    const answer = await mparticle.postCallback(callbackUrl, completed(subjectRequestId));
    assert.equal(answer.status, 202, answer.text);

    await eventually('the forced poll to complete the deletion', async () => (await snapshot(id)).row.state === 'completed');
    const after = await snapshot(id);
    assert.equal(after.row.check_count, 1, 'one status check');
    assert.equal(after.row.next_check_at, null, 'nothing more is scheduled');
    const gets = sandbox.control.calls('mparticle').filter((c) => c.method === 'GET' && c.path.includes(subjectRequestId));
    assert.equal(gets.length, 1, 'one status call to the vendor');
    assert.deepEqual(published, [{ vendors: ['mparticle'], operationIds: [subjectRequestId], reason: 'status callback: completed' }], 'only the callback\'s forced poll was published');

    const event = (await db().pool.query(`select vendor, detail from deletion_event where vendor_deletion_id = $1 and kind = 'callback_received'`, [id])).rows;
    assert.equal(event.length, 1);
    const detail = event[0].detail;
    assert.equal(detail.verified, true);
    assert.equal(detail.status, 'completed');
    assert.equal(detail.certificate.fingerprint256, mparticle.certificate.fingerprint256);
    assert.match(detail.certificate.subject, /opendsr\.mparticle\.com/);
    assert.equal(detail.headers['x-opendsr-processor-domain'], 'opendsr.mparticle.com');
    assert.ok(detail.signature && detail.body && detail.certificatePem, 'signature, raw body and certificate kept');
    assert.ok(lines.some((l) => l['event'] === 'callback_stored' && l['subjectRequestId'] === subjectRequestId));
    const compared = (await db().pool.query('select compared_at, contradicted from deletion_callback where subject_request_id = $1', [subjectRequestId])).rows;
    assert.equal(compared.length, 1);
    assert.ok(compared[0].compared_at, 'the check was compared with the callback');
    assert.equal(compared[0].contradicted, false);
  });

  it('a callback that tells nothing new (pending, as mParticle sends on creation) is kept as evidence without a check', async () => {
    const { id, subjectRequestId } = await seedSubmitted('mparticle', 'cb-customer-created');
    const before = await snapshot(id);
    const body = mparticleCallbackBody({ subjectRequestId, status: 'pending', controllerId: '3622', expectedCompletionTime: new Date(), callbackUrl });
    assert.equal((await mparticle.postCallback(callbackUrl, body)).status, 202);
    const after = await snapshot(id);
    assert.equal(after.events, before.events + 1, 'one callback_received event');
    assert.equal(after.published, before.published, 'no forced poll');
    assert.deepEqual(after.row, before.row);
  });

  it('a callback the next check contradicts leaves the state to the check and opens the contract-violation incident', async () => {
    const { id, subjectRequestId } = await seedSubmitted('mparticle', 'cb-customer-liar');
    // This request stays pending at the vendor for an hour; the callback claims it is completed.
    sandbox.control.configure('mparticle', { lifecycle: { inProgressAfterMs: HOUR, completeAfterMs: 2 * HOUR } });
    try {
      await createAtMParticle(subjectRequestId, 'cb-customer-liar');
    } finally {
      sandbox.control.configure('mparticle', { lifecycle: { inProgressAfterMs: 0, completeAfterMs: 0 } });
    }
    assert.equal((await mparticle.postCallback(callbackUrl, completed(subjectRequestId))).status, 202);
    // The comparison and the check's result are written separately: wait for both.
    await eventually('the check to be recorded and compared with the callback', async () => {
      const r = await db().pool.query('select contradicted from deletion_callback where subject_request_id = $1 and compared_at is not null', [subjectRequestId]);
      return r.rows[0] && (await snapshot(id)).row.check_count === 1;
    });
    const row = (await snapshot(id)).row;
    assert.equal(row.state, 'submitted', 'the state follows the vendor\'s answer, not the callback');
    assert.equal(row.check_count, 1);
    const callback = (await db().pool.query('select contradicted from deletion_callback where subject_request_id = $1', [subjectRequestId])).rows[0];
    assert.equal(callback.contradicted, true);
    const incident = (await db().pool.query(`select detail, closed_at from vendor_incident where vendor = 'mparticle' and kind = 'contract_violation'`)).rows[0];
    assert.ok(incident, 'the contract-violation incident is open');
    assert.match(incident.detail, new RegExp(`${subjectRequestId} was completed .* says pending`));
    await db().pool.query(`update vendor_incident set closed_at = now() where vendor = 'mparticle'`);
  });

  it('a replayed callback is answered 202 and stores nothing, publishes nothing', async () => {
    const { id, subjectRequestId } = await seedSubmitted('mparticle', 'cb-customer-2');
    await createAtMParticle(subjectRequestId, 'cb-customer-2');
    const request = signedCallback(completed(subjectRequestId), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
    const first = await post(request.headers, request.rawBody);
    assert.equal(first.status, 202, JSON.stringify([first.json, lines.filter((l) => l['event'] === 'callback_refused').at(-1)]));
    await eventually('the first copy to be checked', async () => (await snapshot(id)).row.state === 'completed');
    const before = await snapshot(id);

    const replay = await post(request.headers, request.rawBody);
    assert.equal(replay.status, 202);
    assert.deepEqual(replay.json, { result: 'duplicate' });
    assert.deepEqual(await snapshot(id), before, 'no event, no callback row, no poll, no change');
    assert.ok(lines.some((l) => l['event'] === 'callback_duplicate' && l['subjectRequestId'] === subjectRequestId && l['pollMessageId'] === null));
  });

  it('timeline, report and verify-log show each callback: signature verified, certificate subject and fingerprint', async () => {
    const env = { DATABASE_URL: db().url, VENDORS: 'mparticle', VENDOR_MPARTICLE_API_KEY: apiKey, VENDOR_MPARTICLE_API_SECRET: apiSecret, LOG_LEVEL: 'silent' };
    const fingerprint = mparticle.certificate.fingerprint256;
    const timeline = await cli(['timeline', 'cb-customer-1'], env, process.cwd());
    assert.equal(timeline.code, 0, timeline.stderr);
    assert.match(timeline.stdout, /signed callbacks: 1 received, 1 with a verified signature/);
    assert.match(timeline.stdout, new RegExp(`callback_received completed from opendsr\\.mparticle\\.com, signature RSA-SHA256 verified, certificate .*opendsr\\.mparticle\\.com.* \\(SHA-256 ${fingerprint}\\)`));
    assert.doesNotMatch(timeline.stdout, /BEGIN CERTIFICATE/, 'the text timeline summarizes the evidence');

    const report = await cli(['report', '--since', '2000-01-01', '--format', 'json'], env, process.cwd());
    assert.equal(report.code, 0, report.stderr);
    const rows = JSON.parse(report.stdout) as Array<{ customerId: string; callbacks: Array<Record<string, unknown>> }>;
    const mine = rows.find((r) => r.customerId === 'cb-customer-1')!;
    assert.equal(mine.callbacks.length, 1);
    assert.deepEqual(
      { status: mine.callbacks[0]!['status'], verified: mine.callbacks[0]!['signatureVerified'], fingerprint: mine.callbacks[0]!['certificateFingerprint'] },
      { status: 'completed', verified: true, fingerprint },
    );
    const csv = await cli(['report', '--since', '2000-01-01'], env, process.cwd());
    assert.match(csv.stdout.split('\n')[0]!, /,final_status,callbacks,callbacks_verified,last_callback,initial_deadline_at,/);

    const verified = await cli(['verify-log'], env, process.cwd());
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /signed callbacks: (\d+) checked again, \1 verify/);
  });

  describe('hostile callbacks: each refused with its status and a log line, nothing changed', () => {
    let target: { id: string; subjectRequestId: string };
    before(async () => {
      target = await seedSubmitted('mparticle', 'cb-hostile');
    });

    const cases: Array<{ name: string; status: number; reason: string; request: () => Promise<{ headers: Record<string, string>; body: Buffer | string }> }> = [
      {
        name: 'a forged signature (another key, the allow-listed domain)',
        status: 403,
        reason: 'signature_invalid',
        request: async () => {
          const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          const r = signedCallback(completed(target.subjectRequestId), { domain: 'opendsr.mparticle.com', privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'a processor domain outside the allow-list',
        status: 403,
        reason: 'processor_not_allowed',
        request: async () => {
          const r = signedCallback(completed(target.subjectRequestId), { domain: 'opendsr.evil.example', privateKey: mparticle.certificate.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'an expired certificate',
        status: 403,
        reason: 'certificate_expired',
        request: async () => {
          const r = signedCallback(completed(target.subjectRequestId), { domain: appsflyer.domain, privateKey: appsflyer.certificate.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'a self-signed certificate',
        status: 403,
        reason: 'certificate_self_signed',
        request: async () => {
          const r = signedCallback(completed(target.subjectRequestId), { domain: 'callbacks.mixpanel.example', privateKey: selfSigned.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'a genuine callback for another vendor\'s request',
        status: 403,
        reason: 'request_other_vendor',
        request: async () => {
          const other = await seedSubmitted('appsflyer', 'cb-other-vendor');
          const r = signedCallback(completed(other.subjectRequestId), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'an unknown subject_request_id',
        status: 404,
        reason: 'unknown_request',
        request: async () => {
          const r = signedCallback(completed(randomUUID()), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'an oversized body',
        status: 413,
        reason: 'body_too_large',
        request: async () => {
          const r = signedCallback(Buffer.from(JSON.stringify({ ...completed(target.subjectRequestId), padding: 'x'.repeat(70 * 1024) })), {
            domain: mparticle.domain,
            privateKey: mparticle.certificate.privateKey,
          });
          return { headers: r.headers, body: r.rawBody };
        },
      },
      {
        name: 'a body that is not JSON (text/plain)',
        status: 415,
        reason: 'unsupported_media_type',
        request: async () => {
          const r = signedCallback(Buffer.from('request_status=completed'), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
          return { headers: { ...r.headers, 'Content-Type': 'text/plain' }, body: r.rawBody };
        },
      },
      {
        name: 'a signed body that is not JSON (a +json media type the framework leaves alone)',
        status: 400,
        reason: 'body_not_json',
        request: async () => {
          const r = signedCallback(Buffer.from('{"request_status": completed'), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
          return { headers: { ...r.headers, 'Content-Type': 'application/vnd.opendsr+json' }, body: r.rawBody };
        },
      },
      {
        name: 'a signed JSON body that is not a status object',
        status: 400,
        reason: 'body_not_status_object',
        request: async () => {
          const r = signedCallback({ subject_request_id: target.subjectRequestId, request_status: 'done' }, { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
          return { headers: r.headers, body: r.rawBody };
        },
      },
    ];

    for (const c of cases) {
      it(`${c.name}: ${c.status} ${c.reason}`, async () => {
        const request = await c.request();
        const before = await snapshot(target.id);
        const answer = await post(request.headers, request.body);
        assert.equal(answer.status, c.status);
        assert.deepEqual(answer.json, { result: c.reason });
        assert.ok(refusalLogged(c.reason), `a callback_refused log line with reason ${c.reason}`);
        assert.deepEqual(await snapshot(target.id), before, 'nothing stored, published or changed');
      });
    }

    it('a method other than POST: 405 with Allow', async () => {
      const before = await snapshot(target.id);
      const response = await fetch(callbackUrl, { method: 'GET' });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'POST');
      assert.ok(refusalLogged('method_not_allowed'));
      assert.deepEqual(await snapshot(target.id), before);
    });

    it('a JSON-typed body that does not parse is refused 400 by the Functions Framework before any of our code runs', async () => {
      const before = await snapshot(target.id);
      const r = signedCallback(Buffer.from('{not json'), { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
      const response = await fetch(callbackUrl, { method: 'POST', headers: r.headers, body: r.rawBody });
      assert.equal(response.status, 400);
      assert.deepEqual(await snapshot(target.id), before);
    });

    it('a spec-shaped callback naming another callback URL than ours: 403 callback_url_mismatch', async () => {
      const before = await snapshot(target.id);
      const body = specCallbackBody({ subjectRequestId: target.subjectRequestId, status: 'completed', controllerId: '1549', expectedCompletionTime: new Date(), callbackUrl: 'https://elsewhere.example/callback' });
      const r = signedCallback(body, { domain: mparticle.domain, privateKey: mparticle.certificate.privateKey });
      const answer = await post(r.headers, r.rawBody);
      assert.equal(answer.status, 403);
      assert.ok(refusalLogged('callback_url_mismatch'));
      assert.deepEqual(await snapshot(target.id), before);
    });
  });

  /** A processor whose discovery names a self-signed certificate (OpenDSR §4.1: never acceptable). */
  async function startSelfSignedProcessor(domain: string) {
    const now = Date.now();
    const cert = await createSelfSignedCertificate({ domain, algorithm: 'rsa-2048', notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) });
    let base = '';
    const server = createServer((req, res) => {
      if (req.url === '/discovery') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ processor_certificate: `${base}/cert.pem` }));
      } else if (req.url === '/cert.pem') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert.bundlePem);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url: base, server, privateKey: cert.privateKey };
  }
});
