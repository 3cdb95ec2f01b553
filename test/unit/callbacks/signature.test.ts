import assert from 'node:assert/strict';
import { constants, sign } from 'node:crypto';
import { decodeSignatureHeader, verifyCallbackSignature } from '../../../functions/callbacks/signature.js';
import { signCallbackBody } from '../../../local/sandbox/opendsr/callbackSigner.js';
import { testPki, type TestPki } from './pki.js';

const body = Buffer.from('{"controller_id":"3622","subject_request_id":"a7551968-d5d6-44b2-9831-815ac9017798","request_status":"completed","expected_completion_time":"2026-06-01T00:00:00Z"}');

describe('callback signature', function () {
  this.timeout(30_000);
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  it('verifies the sandbox signer’s RSA signature (PKCS#1 v1.5, SHA-256) over the raw bytes', () => {
    const result = verifyCallbackSignature(body, signCallbackBody(body, pki.leaf.privateKey), pki.leaf.bundlePem);
    assert.deepEqual(result.ok && result.algorithm, 'RSA-SHA256');
  });

  it('verifies ECDSA in DER and in IEEE P1363 encoding, and RSA-PSS', () => {
    const ec = pki.leafViaIntermediate;
    const der = sign('sha256', body, ec.privateKey).toString('base64');
    const p1363 = sign('sha256', body, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
    const pss = sign('sha256', body, { key: pki.leaf.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64');
    for (const [sig, cert, algorithm] of [
      [der, ec.bundlePem, 'ECDSA-SHA256'],
      [p1363, ec.bundlePem, 'ECDSA-SHA256'],
      [pss, pki.leaf.bundlePem, 'RSA-PSS-SHA256'],
    ] as const) {
      const result = verifyCallbackSignature(body, sig, cert);
      assert.equal(result.ok && result.algorithm, algorithm);
    }
  });

  it('fails for a tampered body, another key, or another hash', () => {
    const signature = signCallbackBody(body, pki.leaf.privateKey);
    const tampered = Buffer.from(body.toString().replace('completed', 'cancelled'));
    assert.equal(verifyCallbackSignature(tampered, signature, pki.leaf.bundlePem).ok, false);
    assert.equal(verifyCallbackSignature(Buffer.concat([body, Buffer.from(' ')]), signature, pki.leaf.bundlePem).ok, false);
    assert.equal(verifyCallbackSignature(body, signature, pki.otherSubject.bundlePem).ok, false);
    const sha1 = sign('sha1', body, pki.leaf.privateKey).toString('base64');
    const result = verifyCallbackSignature(body, sha1, pki.leaf.bundlePem);
    assert.ok(!result.ok && result.reason === 'signature_invalid');
  });

  it('accepts the value wrapped over lines as the spec prints it', () => {
    const signature = signCallbackBody(body, pki.leaf.privateKey);
    const wrapped = signature.match(/.{1,80}/g)!.join('\n ');
    assert.equal(verifyCallbackSignature(body, wrapped, pki.leaf.bundlePem).ok, true);
  });

  it('refuses values that are not base64 of a plausible signature as malformed', () => {
    for (const value of ['', '   ', '[signature block]', 'abc', 'ab-_cd==', '====', 'A'.repeat(2000)]) {
      assert.equal(decodeSignatureHeader(value), null, value.slice(0, 20));
      const result = verifyCallbackSignature(body, value, pki.leaf.bundlePem);
      assert.ok(!result.ok && result.reason === 'signature_malformed', value.slice(0, 20));
    }
  });
});
