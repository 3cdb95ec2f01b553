import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { trustAnchorsFromPem, type TrustAnchors } from '../../../functions/callbacks/certificateChain.js';
import {
  callbackLogFields,
  decideCallback,
  type CallbackContext,
  type CallbackDecision,
  type CallbackRequest,
  type CertificateMaterial,
} from '../../../functions/callbacks/decideCallback.js';
import { decideForOperation } from '../../../functions/callbacks/matchOperation.js';
import { CallbackPolicySchema } from '../../../functions/callbacks/policy.js';
import { CALLBACK_ANSWERS } from '../../../functions/callbacks/reasons.js';
import { signedCallback } from '../../../local/sandbox/opendsr/callbackSigner.js';
import type { ProcessorCertificate } from '../../../local/sandbox/opendsr/testCa.js';
import { DOMAIN, NOW, testPki, type TestPki } from './pki.js';

const OUR_URL = 'https://erasure.example.com/callbacks';
const REQUEST_ID = 'a7551968-d5d6-44b2-9831-815ac9017798';
const policy = CallbackPolicySchema.parse({
  processors: [
    { vendor: 'mparticle', domain: DOMAIN, discoveryUrl: 'https://opendsr.mparticle.com/v3/discovery/' },
    { vendor: 'appsflyer', domain: 'hq1.appsflyer.com', discoveryUrl: 'https://hq1.appsflyer.com/api/gdpr/v1/discovery' },
  ],
  callbackUrls: [OUR_URL],
  maxBodyBytes: 4096,
});
const status = (overrides: Record<string, unknown> = {}) => ({
  controller_id: '3622',
  expected_completion_time: '2026-06-20T00:00:00Z',
  status_callback_url: OUR_URL,
  subject_request_id: REQUEST_ID,
  request_status: 'completed',
  ...overrides,
});

describe('decideCallback: every hostile case has its answer', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let ctx: CallbackContext;
  let material: (cert: ProcessorCertificate) => CertificateMaterial;
  before(async () => {
    pki = await testPki();
    const anchors: TrustAnchors = trustAnchorsFromPem(pki.root.certificatePem);
    ctx = { policy, anchors, now: NOW };
    material = (cert) => ({ ok: true, pem: cert.bundlePem, url: 'https://static.mparticle.com/dsr/opendsr_cert.pem' });
  });

  const signed = (body: unknown, cert: ProcessorCertificate = pki.leaf, extra: Record<string, string> = {}): CallbackRequest => {
    const req = signedCallback(body, { domain: DOMAIN, privateKey: cert.privateKey });
    return { method: 'POST', headers: { ...req.headers, ...extra }, rawBody: req.rawBody };
  };
  const decide = (req: CallbackRequest, cert: ProcessorCertificate = pki.leaf) => decideCallback(req, material(cert), ctx);
  const answer = (d: CallbackDecision) => `${d.status} ${d.reason}`;

  it('202 for a valid callback, with the evidence and the parsed status', () => {
    const d = decide(signed(status()));
    assert.ok(d.accepted, d.detail);
    assert.equal(d.callback.status, 'completed');
    assert.equal(d.evidence.processorDomain, DOMAIN);
    assert.equal(d.evidence.vendor, 'mparticle');
    assert.equal(d.evidence.signatureAlgorithm, 'RSA-SHA256');
    assert.equal(d.evidence.certificate.fingerprint256, pki.leaf.fingerprint256);
    assert.equal(d.evidence.rawBody, JSON.stringify(status()));
    assert.equal(d.evidence.receivedAt, NOW.toISOString());
    assert.match(d.idempotencyKey, /^[0-9a-f]{64}$/);
  });

  it('accepts the OpenGDPR header names, a JSON media type with charset, and no Content-Type at all', () => {
    const legacy = signedCallback(status(), { domain: DOMAIN, privateKey: pki.leaf.privateKey, headerStyle: 'opengdpr' });
    const d = decide({ method: 'POST', headers: legacy.headers, rawBody: legacy.rawBody });
    assert.ok(d.accepted && d.evidence.headerStyle === 'opengdpr');
    assert.ok(decide(signed(status(), pki.leaf, { 'Content-Type': 'application/json; charset=utf-8' })).accepted);
    const bare = signed(status());
    delete (bare.headers as Record<string, string>)['Content-Type'];
    assert.ok(decide(bare).accepted);
  });

  it('403 for a forged signature, a missing or malformed one, and a domain outside the allow-list', () => {
    const forged = signedCallback(status(), { domain: DOMAIN, privateKey: pki.otherSubject.privateKey });
    assert.equal(answer(decide({ method: 'POST', headers: forged.headers, rawBody: forged.rawBody })), '403 signature_invalid');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenDSR-Signature': '' }))), '403 missing_signature');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenDSR-Signature': '[signature block]' }))), '403 signature_malformed');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenDSR-Processor-Domain': 'opendsr.attacker.example' }))), '403 processor_not_allowed');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenDSR-Processor-Domain': '' }))), '403 missing_processor_domain');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenDSR-Processor-Domain': `${DOMAIN}, evil.example` }))), '403 invalid_processor_domain');
  });

  it('403 for an expired, not yet valid, self-signed, untrusted or other-subject certificate, even with a matching signature', () => {
    const cases: Array<[ProcessorCertificate, string]> = [
      [pki.expired, '403 certificate_expired'],
      [pki.notYetValid, '403 certificate_not_yet_valid'],
      [pki.selfSigned, '403 certificate_self_signed'],
      [pki.fromStranger, '403 certificate_untrusted'],
      [pki.otherSubject, '403 certificate_subject_mismatch'],
      [pki.leafIsCa, '403 certificate_is_ca'],
      [pki.weakKey, '403 certificate_weak_key'],
    ];
    for (const [cert, expected] of cases) assert.equal(answer(decide(signed(status(), cert), cert)), expected, cert.domain);
  });

  it('503 with Retry-After when the certificate cannot be had (not the sender’s mistake)', () => {
    const d = decideCallback(signed(status()), { ok: false, detail: 'discovery answered HTTP 503', retryAfterSeconds: 42 }, ctx);
    assert.equal(answer(d), '503 certificate_unavailable');
    assert.equal(!d.accepted && d.headers['Retry-After'], '42');
  });

  it('checks the signature before reading the body: an unsigned non-JSON body is 403, a signed one 400', () => {
    const junk = Buffer.from('<html>not json</html>');
    assert.equal(answer(decide({ method: 'POST', headers: signed(status()).headers, rawBody: junk })), '403 signature_invalid');
    assert.equal(answer(decide(signed(junk))), '400 body_not_json');
    assert.equal(answer(decide(signed(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))), '400 body_not_json');
    assert.equal(answer(decide(signed({ hello: 'world' }))), '400 body_not_status_object');
    assert.equal(answer(decide(signed(status({ request_status: 'failed' })))), '400 body_not_status_object');
  });

  it('405, 413 and 415 before any cryptography', () => {
    const get = decide({ ...signed(status()), method: 'GET' });
    assert.equal(answer(get), '405 method_not_allowed');
    assert.equal(!get.accepted && get.headers['Allow'], 'POST');
    assert.equal(answer(decide(signed({ ...status(), padding: 'x'.repeat(5000) }))), '413 body_too_large');
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'Content-Type': 'text/plain' }))), '415 unsupported_media_type');
  });

  it('400 when the OpenDSR and OpenGDPR headers disagree', () => {
    assert.equal(answer(decide(signed(status(), pki.leaf, { 'X-OpenGDPR-Processor-Domain': 'hq1.appsflyer.com' }))), '400 conflicting_headers');
  });

  it('403 when status_callback_url is not one of ours (OpenDSR §8.8 step 6); a trailing slash or case of host does not matter', () => {
    assert.equal(answer(decide(signed(status({ status_callback_url: 'https://other-controller.example/cb' })))), '403 callback_url_mismatch');
    assert.ok(decide(signed(status({ status_callback_url: 'https://ERASURE.example.com/callbacks/' }))).accepted);
  });

  it('a replayed or re-signed callback gets the same idempotency key; another status gets another', () => {
    const key = (d: CallbackDecision) => (d.accepted ? d.idempotencyKey : d.reason);
    const first = key(decide(signed(status())));
    assert.equal(key(decide(signed(status()))), first);
    const reordered = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(status()).reverse()), null, 2));
    assert.equal(key(decide(signed(reordered))), first);
    const ec = pki.leafViaIntermediate;
    const twice = [0, 1].map(() => {
      const raw = Buffer.from(JSON.stringify(status()));
      return sign('sha256', raw, ec.privateKey).toString('base64');
    });
    assert.notEqual(twice[0], twice[1], 'ECDSA signatures differ each time');
    assert.equal(key(decide(signed(status(), ec), ec)), first);
    assert.notEqual(key(decide(signed(status({ request_status: 'in_progress' })))), first);
  });

  it('is deterministic and every status it gives is the table’s', () => {
    const req = signed(status());
    assert.deepEqual(decide(req), decide(req));
    const d = decide(signed(status(), pki.leaf, { 'X-OpenDSR-Processor-Domain': 'opendsr.attacker.example' }));
    assert.equal(d.status, CALLBACK_ANSWERS[d.reason]);
  });

  it('log fields and details never hold the body, the signature or a results URL, and are capped', () => {
    const body = status({ results_url: 'https://processor.example/secret-results-link' });
    const req = signed(body);
    const refused = decide(signed({ ...body, x: 1 }));
    assert.equal(answer(refused), '400 body_not_status_object');
    for (const d of [decide(req), refused]) {
      const line = JSON.stringify(callbackLogFields(d));
      assert.ok(!line.includes('secret-results-link'), line);
      assert.ok(!line.includes(String(req.headers['X-OpenDSR-Signature']).slice(0, 40)), line);
    }
    const odd = decide({ ...req, method: `GET\r\nX-Injected: 1${'A'.repeat(500)}` });
    assert.ok(!odd.detail.includes('\n') && odd.detail.length <= 300);
  });
});

describe('decideForOperation: the request the callback names', function () {
  this.timeout(30_000);
  it('202 for our own deletion at that vendor, 404 for an unknown id, 403 for another vendor’s request or controller', async () => {
    const pki = await testPki();
    const req = signedCallback(status(), { domain: DOMAIN, privateKey: pki.leaf.privateKey });
    const d = decideCallback({ method: 'POST', headers: req.headers, rawBody: req.rawBody }, { ok: true, pem: pki.leaf.bundlePem, url: 'https://x.example/c.pem' }, {
      policy,
      anchors: trustAnchorsFromPem(pki.root.certificatePem),
      now: NOW,
    });
    assert.ok(d.accepted);
    const answer = (op: Parameters<typeof decideForOperation>[1]) => {
      const r = decideForOperation(d, op);
      return `${r.status} ${r.reason}`;
    };
    assert.equal(answer({ vendor: 'mparticle', controllerId: '3622' }), '202 accepted');
    assert.equal(answer({ vendor: 'appsflyer', controllerId: null }), '403 request_other_vendor');
    assert.equal(answer(null), '404 unknown_request');
    assert.equal(answer({ vendor: 'mparticle', controllerId: '9999' }), '403 controller_mismatch');
    assert.equal(answer({ vendor: 'mparticle' }), '202 accepted');
  });
});
