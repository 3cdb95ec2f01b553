import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { recheckCallback } from '../../../functions/callbacks/callbackEvidence.js';
import { describeCallback, summarizeCallback } from '../../../functions/domain/callbackSummary.js';
import { signedCallback } from '../../../local/sandbox/opendsr/callbackSigner.js';
import { createOpenDsrProcessor, type OpenDsrProcessor } from '../../../local/sandbox/opendsr/processor.js';

describe('callback evidence: summarized for the timeline and the report, verified again by verify-log', function () {
  this.timeout(20_000);
  let processor: OpenDsrProcessor;
  let other: OpenDsrProcessor;
  let detail: Record<string, unknown>;

  before(async () => {
    processor = await createOpenDsrProcessor({ domain: 'opendsr.mparticle.com' });
    other = await createOpenDsrProcessor({ domain: 'opendsr.mparticle.com', ca: processor.ca });
    const request = signedCallback({ subject_request_id: '0b4f1c7e-3f0a-4d5e-9a44-6a5f0f7b1c2d', request_status: 'completed' }, { domain: processor.domain, privateKey: processor.certificate.privateKey });
    const body = request.rawBody.toString('utf8');
    detail = {
      verified: true,
      status: 'completed',
      requestStatus: 'completed',
      subjectRequestId: '0b4f1c7e-3f0a-4d5e-9a44-6a5f0f7b1c2d',
      processorDomain: processor.domain,
      signature: request.headers['X-OpenDSR-Signature'],
      signatureAlgorithm: 'RSA-SHA256',
      certificate: { subject: 'CN=opendsr.mparticle.com', issuer: 'CN=root', fingerprint256: processor.certificate.fingerprint256, validFrom: 'a', validTo: 'b' },
      certificatePem: processor.certificate.certificatePem,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      body,
      receivedAt: '2026-11-29T10:00:00.000Z',
    };
  });

  it('verifies a callback as it was kept', () => {
    assert.deepEqual(recheckCallback(detail), { ok: true });
  });

  const tampered: Array<[string, (d: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
    ['a changed body', (d) => ({ ...d, body: String(d['body']).replace('completed', 'cancelled') }), /SHA-256/],
    ['a changed body with its hash recomputed', (d) => {
      const body = String(d['body']).replace('completed', 'cancelled');
      return { ...d, body, bodySha256: createHash('sha256').update(body).digest('hex') };
    }, /signature does not verify/],
    ['another certificate put in its place', (d) => ({ ...d, certificatePem: other.certificate.certificatePem }), /fingerprint/],
    ['another certificate and its fingerprint', (d) => ({ ...d, certificatePem: other.certificate.certificatePem, certificate: { ...(d['certificate'] as object), fingerprint256: other.certificate.fingerprint256 } }), /signature does not verify/],
    ['no certificate kept', (d) => ({ ...d, certificatePem: null }), /no certificate/],
    ['not an evidence record', () => ({ kind: 'something else' }), /not a callback evidence record/],
  ];
  for (const [what, change, reason] of tampered) {
    it(`refuses ${what}`, () => {
      const result = recheckCallback(change(detail));
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, reason);
    });
  }

  it('summarizes status, processor, signature and certificate in one line', () => {
    const s = summarizeCallback(detail)!;
    assert.equal(describeCallback(s), `completed from opendsr.mparticle.com, signature RSA-SHA256 verified, certificate CN=opendsr.mparticle.com (SHA-256 ${processor.certificate.fingerprint256})`);
    assert.equal(summarizeCallback({ status: 'x' }), null);
  });
});
