import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseCertificates,
  systemTrustAnchors,
  trustAnchorsFromPem,
  validateProcessorCertificate,
  validTo,
  type TrustAnchors,
} from '../../../functions/callbacks/certificateChain.js';
import { DOMAIN, NOW, testPki, type TestPki } from './pki.js';

const MPARTICLE_BUNDLE = readFileSync(join(import.meta.dirname, '../../fixtures/vendors/opendsr/mparticle-processor-certificate.pem'), 'utf8');

describe('processor certificate validation', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let anchors: TrustAnchors;
  before(async () => {
    pki = await testPki();
    anchors = trustAnchorsFromPem(pki.root.certificatePem);
  });

  const check = (pem: string, options: { domain?: string; now?: Date; allowWildcard?: boolean; anchors?: TrustAnchors } = {}) =>
    validateProcessorCertificate(pem, { domain: options.domain ?? DOMAIN, anchors: options.anchors ?? anchors, now: options.now ?? NOW, allowWildcard: options.allowWildcard });
  const reason = (pem: string, options?: Parameters<typeof check>[1]) => {
    const result = check(pem, options);
    return result.ok ? 'ok' : result.reason;
  };

  it('accepts a certificate issued by the trusted root, describing it for the evidence', () => {
    const result = check(pki.leaf.bundlePem);
    assert.ok(result.ok);
    assert.equal(result.info.subject, `CN=${DOMAIN}`);
    assert.equal(result.info.fingerprint256, pki.leaf.fingerprint256);
    assert.equal(result.chain.length, 2);
  });

  it('accepts a chain through an intermediate carried in the bundle, and refuses it without the intermediate', () => {
    const result = check(pki.leafViaIntermediate.bundlePem);
    assert.ok(result.ok);
    assert.equal(result.chain.length, 3);
    assert.equal(reason(pki.leafViaIntermediate.certificatePem), 'certificate_untrusted');
  });

  it('refuses every hostile certificate with its own reason', () => {
    assert.equal(reason(pki.expired.bundlePem), 'certificate_expired');
    assert.equal(reason(pki.notYetValid.bundlePem), 'certificate_not_yet_valid');
    assert.equal(reason(pki.selfSigned.bundlePem), 'certificate_self_signed');
    assert.equal(reason(pki.otherSubject.bundlePem), 'certificate_subject_mismatch');
    assert.equal(reason(pki.fromStranger.bundlePem), 'certificate_untrusted');
    assert.equal(reason(pki.leafIsCa.bundlePem), 'certificate_is_ca');
    assert.equal(reason(pki.weakKey.bundlePem), 'certificate_weak_key');
    assert.equal(reason(pki.viaExpiredIntermediate.bundlePem), 'certificate_expired');
  });

  it('a trusted root does not make its own certificate a signing certificate, nor does a stranger bundling its root', () => {
    assert.equal(reason(pki.root.certificatePem), 'certificate_is_ca');
    assert.equal(reason(`${pki.fromStranger.certificatePem}\n${pki.stranger.certificatePem}`), 'certificate_untrusted');
  });

  it('expires with the injected clock, at the certificate’s own end', () => {
    const end = validTo(parseCertificates(pki.leaf.certificatePem)[0]!);
    assert.equal(reason(pki.leaf.bundlePem, { now: end }), 'ok');
    assert.equal(reason(pki.leaf.bundlePem, { now: new Date(end.getTime() + 1000) }), 'certificate_expired');
  });

  it('takes a wildcard certificate only when the processor is configured to allow it', () => {
    assert.equal(reason(pki.wildcard.bundlePem), 'certificate_subject_mismatch');
    assert.equal(reason(pki.wildcard.bundlePem, { allowWildcard: true }), 'ok');
    assert.equal(reason(pki.wildcard.bundlePem, { domain: 'a.b.mparticle.com', allowWildcard: true }), 'certificate_subject_mismatch');
  });

  it('refuses files that are not certificates', () => {
    assert.equal(reason('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'), 'certificate_invalid');
    assert.equal(reason('<html>maintenance</html>'), 'certificate_invalid');
    assert.equal(reason(Array(11).fill(pki.leaf.certificatePem).join('\n')), 'certificate_invalid');
  });

  it('refuses configured trust anchors that are not CA certificates', () => {
    assert.throws(() => trustAnchorsFromPem(pki.leaf.certificatePem), /not a CA certificate/);
    assert.throws(() => trustAnchorsFromPem([]), /no certificate/);
  });

  describe("mParticle's published bundle against Node's root store (production trust)", () => {
    const inLifetime = new Date('2025-06-01T00:00:00Z');

    it('chains its leaf through Go Daddy Secure CA G2 to the Go Daddy Root G2 of the system store', () => {
      const result = validateProcessorCertificate(MPARTICLE_BUNDLE, { domain: 'opendsr.mparticle.com', anchors: systemTrustAnchors(), now: inLifetime });
      assert.ok(result.ok, result.ok ? '' : result.detail);
      assert.equal(result.chain.length, 3);
      assert.match(parseCertificates(result.chain.map((c) => c.toString()).join(''))[2]!.subject, /Go Daddy Root Certificate Authority - G2/);
    });

    it('matches each name of its subjectAltName, and no other', () => {
      const at = (domain: string) => validateProcessorCertificate(MPARTICLE_BUNDLE, { domain, anchors: systemTrustAnchors(), now: inLifetime });
      assert.ok(at('opengdpr.mparticle.com').ok);
      const other = at('opendsr.appsflyer.com');
      assert.ok(!other.ok && other.reason === 'certificate_subject_mismatch');
    });

    it('is expired after 2025-12-07, and untrusted when only a local test root is trusted', () => {
      const later = validateProcessorCertificate(MPARTICLE_BUNDLE, { domain: 'opendsr.mparticle.com', anchors: systemTrustAnchors(), now: new Date('2026-01-01T00:00:00Z') });
      assert.ok(!later.ok && later.reason === 'certificate_expired');
      const local = validateProcessorCertificate(MPARTICLE_BUNDLE, { domain: 'opendsr.mparticle.com', anchors, now: inLifetime });
      assert.ok(!local.ok && local.reason === 'certificate_untrusted');
    });

    it('a local test certificate is untrusted under the system store', () => {
      assert.equal(reason(pki.leaf.bundlePem, { anchors: systemTrustAnchors() }), 'certificate_untrusted');
    });
  });
});
