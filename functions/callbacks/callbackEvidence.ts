import { createHash, X509Certificate } from 'node:crypto';
import { CallbackEventDetailSchema } from '../domain/callbackSummary.js';
import { verifyCallbackSignature } from './signature.js';

/** A stored callback verified again by `verify-log`. */
export type RecheckResult = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a stored callback again, offline: the body kept is the one whose SHA-256 was recorded, the signature
 * verifies over it with the certificate kept, and that certificate is the one whose fingerprint was recorded. The
 * chain is not walked again (its validity was judged at the time received, as the evidence records).
 */
export function recheckCallback(detail: unknown): RecheckResult {
  const d = CallbackEventDetailSchema.safeParse(detail);
  if (!d.success) return { ok: false, reason: 'not a callback evidence record' };
  const e = d.data;
  if (e.body === undefined || e.signature === undefined) return { ok: false, reason: 'the body or the signature was not kept' };
  const body = Buffer.from(e.body, 'utf8');
  if (createHash('sha256').update(body).digest('hex') !== e.bodySha256) return { ok: false, reason: 'the body kept is not the one whose SHA-256 was recorded' };
  if (!e.certificatePem) return { ok: false, reason: 'no certificate was kept with it' };
  let sig;
  try {
    const certificate = new X509Certificate(e.certificatePem);
    if (certificate.fingerprint256 !== e.certificate.fingerprint256) return { ok: false, reason: 'the certificate kept is not the one whose fingerprint was recorded' };
    sig = verifyCallbackSignature(body, e.signature, certificate);
  } catch {
    return { ok: false, reason: 'the certificate kept does not parse' };
  }
  if (!sig.ok) return { ok: false, reason: `the signature does not verify over the body kept (${sig.reason})` };
  return { ok: true };
}
