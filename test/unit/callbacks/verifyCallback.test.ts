import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trustAnchorsFromPem } from '../../../functions/callbacks/certificateChain.js';
import { createCertificateSource } from '../../../functions/callbacks/certificateSource.js';
import type { CallbackDecision } from '../../../functions/callbacks/decideCallback.js';
import { CallbackPolicySchema } from '../../../functions/callbacks/policy.js';
import { createCallbackVerifier, type CallbackVerifier } from '../../../functions/callbacks/verifyCallback.js';
import { createFakeClock, HOUR, MINUTE } from '../../../functions/clock.js';
import { mparticleCallbackBody, signedCallback, specCallbackBody, type StatusChange } from '../../../local/sandbox/opendsr/callbackSigner.js';
import { startOpenDsrProcessor, type RunningOpenDsrProcessor } from '../../../local/sandbox/opendsr/processor.js';

const DOMAIN = 'opendsr.mparticle.com';

/** A stand-in for the HTTP function: raw body in, the verifier's status out. */
async function startReceiver(verifier: () => CallbackVerifier): Promise<{ url: string; decisions: CallbackDecision[]; server: Server }> {
  const decisions: CallbackDecision[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void verifier()
        .verify({ method: req.method ?? 'GET', headers: req.headers, rawBody: Buffer.concat(chunks) })
        .then((d) => {
          decisions.push(d);
          res.writeHead(d.status, d.accepted ? {} : d.headers);
          res.end(d.accepted ? '' : d.reason);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/opendsr/callbacks`, decisions, server };
}

describe('sandbox processor → verifier round trip over HTTP', function () {
  this.timeout(60_000);
  let processor: RunningOpenDsrProcessor;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let clock: ReturnType<typeof createFakeClock>;
  let verifier: CallbackVerifier;

  const change = (overrides: Partial<StatusChange> = {}): StatusChange => ({
    subjectRequestId: 'a7551968-d5d6-44b2-9831-815ac9017798',
    status: 'completed',
    controllerId: '3622',
    expectedCompletionTime: new Date('2026-12-20T00:00:00Z'),
    callbackUrl: receiver.url,
    ...overrides,
  });

  before(async () => {
    processor = await startOpenDsrProcessor({ domain: DOMAIN });
    receiver = await startReceiver(() => verifier);
  });
  beforeEach(() => {
    clock = createFakeClock(new Date());
    const policy = CallbackPolicySchema.parse({
      processors: [{ vendor: 'mparticle', domain: DOMAIN, discoveryUrl: processor.discoveryUrl }],
      callbackUrls: [receiver.url],
      allowInsecureUrls: true,
    });
    const certificates = createCertificateSource({ fetch, clock, allowInsecureUrls: true });
    verifier = createCallbackVerifier({ policy, anchors: trustAnchorsFromPem(processor.trustRootPem), certificates, clock });
    receiver.decisions.length = 0;
  });
  after(async () => {
    await processor.stop();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });

  it('a callback signed by the sandbox verifies: 202, with the processor certificate in the evidence', async () => {
    const answer = await processor.postCallback(receiver.url, specCallbackBody(change()));
    assert.equal(answer.status, 202);
    const d = receiver.decisions[0]!;
    assert.ok(d.accepted);
    assert.equal(d.evidence.certificate.fingerprint256, processor.certificate.fingerprint256);
    assert.equal(d.evidence.certificateUrl, processor.certificateUrl);
  });

  it('mParticle-shaped bodies and the OpenGDPR header names verify too', async () => {
    assert.equal((await processor.postCallback(receiver.url, mparticleCallbackBody(change({ status: 'cancelled' })))).status, 202);
    assert.equal((await processor.postCallback(receiver.url, specCallbackBody(change()), { headerStyle: 'opengdpr' })).status, 202);
  });

  it('a body changed after signing is refused with 403', async () => {
    const req = signedCallback(specCallbackBody(change()), { domain: DOMAIN, privateKey: processor.certificate.privateKey });
    const tampered = Buffer.from(req.rawBody.toString().replace('"completed"', '"cancelled"'));
    const response = await fetch(receiver.url, { method: 'POST', headers: req.headers, body: tampered });
    assert.equal(response.status, 403);
    assert.equal(await response.text(), 'signature_invalid');
  });

  it('a replayed callback verifies again with the same idempotency key (storing it once is the store’s job)', async () => {
    const req = signedCallback(specCallbackBody(change()), { domain: DOMAIN, privateKey: processor.certificate.privateKey });
    for (let i = 0; i < 2; i++) await fetch(receiver.url, { method: 'POST', headers: req.headers, body: req.rawBody });
    const [a, b] = receiver.decisions;
    assert.ok(a?.accepted && b?.accepted && a.idempotencyKey === b.idempotencyKey);
  });

  it('after a key rotation, refetches the certificate (at most every 5 minutes) and verifies again', async () => {
    assert.equal((await processor.postCallback(receiver.url, specCallbackBody(change()))).status, 202);
    const old = processor.certificate.fingerprint256;
    await processor.rotate();
    clock.advance(MINUTE);
    assert.equal((await processor.postCallback(receiver.url, specCallbackBody(change({ status: 'in_progress' })))).status, 403);
    clock.advance(5 * MINUTE);
    assert.equal((await processor.postCallback(receiver.url, specCallbackBody(change({ status: 'pending' })))).status, 202);
    const last = receiver.decisions.at(-1)!;
    assert.ok(last.accepted && last.evidence.certificate.fingerprint256 !== old);
  });

  it('an expired processor certificate is refused with 403 once time has passed its end', async () => {
    clock.advance(400 * 24 * HOUR);
    const answer = await processor.postCallback(receiver.url, specCallbackBody(change()));
    assert.equal(answer.status, 403);
    assert.equal(answer.text, 'certificate_expired');
  });

  it('answers 503 with Retry-After when the processor’s discovery cannot be reached', async () => {
    const gone = CallbackPolicySchema.parse({
      processors: [{ vendor: 'mparticle', domain: DOMAIN, discoveryUrl: 'http://127.0.0.1:9/discovery' }],
      callbackUrls: [receiver.url],
      allowInsecureUrls: true,
    });
    verifier = createCallbackVerifier({
      policy: gone,
      anchors: trustAnchorsFromPem(processor.trustRootPem),
      certificates: createCertificateSource({ fetch, clock, allowInsecureUrls: true }),
      clock,
    });
    const req = signedCallback(specCallbackBody(change()), { domain: DOMAIN, privateKey: processor.certificate.privateKey });
    const response = await fetch(receiver.url, { method: 'POST', headers: req.headers, body: req.rawBody });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '60');
  });
});
