import { constants, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { parseCertificates } from './certificateChain.js';

/**
 * `X-OpenDSR-Signature`: base64 of a signature over the SHA-256 digest of the raw request body, made with the key
 * of the processor's certificate (OpenDSR §4.2, §8.6, §8.8 step 4; security_guidelines.md; mParticle: "SHA256
 * RSA"). FIPS 186-4, which §4.2 names, allows RSA with PKCS#1 v1.5 or PSS padding and ECDSA; no document says which
 * padding or which ECDSA encoding, so RSA keys are tried with PKCS#1 v1.5 then PSS, EC keys with DER then IEEE P1363.
 */

export type SignatureAlgorithm = 'RSA-SHA256' | 'RSA-PSS-SHA256' | 'ECDSA-SHA256';

export type SignatureCheck =
  | { ok: true; algorithm: SignatureAlgorithm; signature: string }
  | { ok: false; reason: 'signature_malformed' | 'signature_invalid'; detail: string };

/** The longest signature accepted: RSA-8192 is 1024 bytes. */
const MAX_SIGNATURE_BYTES = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The signature bytes of a header value. Whitespace is dropped (the spec prints the value wrapped over lines);
 * anything but standard base64 is refused, as is an empty or oversized value.
 */
export function decodeSignatureHeader(value: string): Buffer | null {
  const compact = value.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || compact.length > (MAX_SIGNATURE_BYTES * 4) / 3 + 4) return null;
  if (!BASE64.test(compact)) return null;
  const bytes = Buffer.from(compact, 'base64');
  return bytes.length > 0 && bytes.length <= MAX_SIGNATURE_BYTES ? bytes : null;
}

/** Verifies `signatureHeader` over `rawBody` with the public key of the certificate (PEM: its first certificate is the leaf). */
export function verifyCallbackSignature(rawBody: Buffer, signatureHeader: string, certificate: string | X509Certificate): SignatureCheck {
  const signature = decodeSignatureHeader(signatureHeader);
  if (!signature) return { ok: false, reason: 'signature_malformed', detail: 'the signature header is not a base64 value of at most 1024 bytes' };
  let leaf: X509Certificate;
  try {
    leaf = typeof certificate === 'string' ? parseCertificates(certificate)[0]! : certificate;
  } catch (err) {
    return { ok: false, reason: 'signature_invalid', detail: `no certificate to verify with: ${(err as Error).message}` };
  }
  const algorithm = verifyWithKey(rawBody, signature, leaf.publicKey);
  if (!algorithm) return { ok: false, reason: 'signature_invalid', detail: 'the signature does not verify over the raw body with the processor certificate (SHA-256)' };
  return { ok: true, algorithm, signature: signature.toString('base64') };
}

function verifyWithKey(data: Buffer, signature: Buffer, key: KeyObject): SignatureAlgorithm | null {
  const attempt = (options: Parameters<typeof verify>[2]): boolean => {
    try {
      return verify('sha256', data, options, signature);
    } catch {
      return false;
    }
  };
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if (attempt({ key, padding: constants.RSA_PKCS1_PADDING })) return 'RSA-SHA256';
      if (attempt({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO })) return 'RSA-PSS-SHA256';
      return null;
    case 'rsa-pss':
      return attempt({ key, saltLength: constants.RSA_PSS_SALTLEN_AUTO }) ? 'RSA-PSS-SHA256' : null;
    case 'ec':
      return attempt({ key, dsaEncoding: 'der' }) || attempt({ key, dsaEncoding: 'ieee-p1363' }) ? 'ECDSA-SHA256' : null;
    default:
      return null;
  }
}
