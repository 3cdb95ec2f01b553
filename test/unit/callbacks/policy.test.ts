import assert from 'node:assert/strict';
import fc from 'fast-check';
import { trustAnchorsFromPem } from '../../../functions/callbacks/certificateChain.js';
import { decideCallback, type CallbackContext } from '../../../functions/callbacks/decideCallback.js';
import { CallbackPolicySchema, isOurCallbackUrl, normalizeDomain } from '../../../functions/callbacks/policy.js';
import { CALLBACK_ANSWERS, logSafe } from '../../../functions/callbacks/reasons.js';
import { signedCallback } from '../../../local/sandbox/opendsr/callbackSigner.js';
import { DOMAIN, NOW, testPki } from './pki.js';

const base = { processors: [{ vendor: 'mparticle', domain: DOMAIN, discoveryUrl: 'https://opendsr.mparticle.com/v3/discovery/' }], callbackUrls: ['https://erasure.example.com/callbacks'] };

describe('callback policy', () => {
  it('normalizes processor domains and applies the defaults (64 KiB, https only, no wildcard)', () => {
    const policy = CallbackPolicySchema.parse({ ...base, processors: [{ ...base.processors[0], domain: 'OpenDSR.mParticle.com.' }] });
    assert.equal(policy.processors[0]!.domain, DOMAIN);
    assert.equal(policy.processors[0]!.allowWildcardCertificate, false);
    assert.equal(policy.maxBodyBytes, 65536);
    assert.equal(policy.allowInsecureUrls, false);
  });

  it('names every problem: a domain that is no DNS name, a domain listed twice, no processor, a bad URL', () => {
    const result = CallbackPolicySchema.safeParse({
      processors: [
        { vendor: 'a', domain: 'not a domain', discoveryUrl: 'https://a.example/discovery' },
        { vendor: 'b', domain: 'x.example', discoveryUrl: 'nope' },
        { vendor: 'c', domain: 'X.example', discoveryUrl: 'https://c.example/discovery' },
      ],
      callbackUrls: [],
    });
    assert.ok(!result.success);
    const paths = result.error.issues.map((i) => i.path.join('.')).sort();
    assert.deepEqual(paths, ['callbackUrls', 'processors.0.domain', 'processors.1.discoveryUrl']);
    const twice = CallbackPolicySchema.safeParse({ ...base, processors: [base.processors[0], { ...base.processors[0], vendor: 'other' }] });
    assert.ok(!twice.success && /listed twice/.test(twice.error.issues[0]!.message));
  });

  it('recognizes our callback URL whatever the host case or trailing slash, and nothing else', () => {
    const policy = CallbackPolicySchema.parse(base);
    assert.ok(isOurCallbackUrl(policy, 'https://Erasure.Example.com/callbacks/'));
    assert.ok(!isOurCallbackUrl(policy, 'http://erasure.example.com/callbacks'));
    assert.ok(!isOurCallbackUrl(policy, 'https://erasure.example.com/callbacks/other'));
    assert.ok(!isOurCallbackUrl(policy, 'not a url'));
  });

  it('refuses header values that are not DNS names', () => {
    for (const v of ['', ' ', 'a..b', '-a.com', 'a_b.com', 'évil.com', 'a.com/x', 'a.com, b.com', 'x'.repeat(254)]) assert.equal(normalizeDomain(v), null, v);
  });

  it('log-safe text has no control characters and is capped', () => {
    assert.equal(logSafe('a\nb\u0000c\u2028d'), 'a b c d');
    assert.equal(logSafe('x'.repeat(400)).length, 300);
  });
});

describe('decideCallback on arbitrary input', function () {
  this.timeout(60_000);
  it('never throws, always answers a status of its table, and gives no 5xx while the certificate is at hand', async () => {
    const pki = await testPki();
    const ctx: CallbackContext = { policy: CallbackPolicySchema.parse({ ...base, maxBodyBytes: 2048 }), anchors: trustAnchorsFromPem(pki.root.certificatePem), now: NOW };
    const material = { ok: true as const, pem: pki.leaf.bundlePem, url: 'https://static.mparticle.com/c.pem' };
    const genuine = signedCallback({ hello: 1 }, { domain: DOMAIN, privateKey: pki.leaf.privateKey });
    const headerValue = fc.oneof(fc.string({ maxLength: 60 }), fc.constant(DOMAIN), fc.constant(genuine.headers['X-OpenDSR-Signature']!), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }));
    const headers = fc.dictionary(
      fc.constantFrom('content-type', 'X-OpenDSR-Processor-Domain', 'x-opendsr-signature', 'X-OpenGDPR-Processor-Domain', 'x-opengdpr-signature', 'x-other'),
      headerValue,
    );
    const body = fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.json({ maxDepth: 3 }).map((j) => new TextEncoder().encode(j)));
    fc.assert(
      fc.property(fc.constantFrom('POST', 'GET', 'post', 'PUT', ''), headers, body, (method, h, b) => {
        const d = decideCallback({ method, headers: h, rawBody: Buffer.from(b) }, material, ctx);
        assert.equal(d.status, CALLBACK_ANSWERS[d.reason]);
        assert.ok(d.status < 500, d.reason);
        assert.ok(d.detail.length <= 300 && !/[\n\r]/.test(d.detail));
      }),
      { numRuns: 300, seed: 19 },
    );
  });
});
