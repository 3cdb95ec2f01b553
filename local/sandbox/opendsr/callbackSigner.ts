import { sign, type KeyObject } from 'node:crypto';

/**
 * The processor's side of the signature (OpenDSR 2.0 §8.6, security_guidelines.md): the raw body's bytes are
 * signed with SHA-256 by the key of the processor's certificate (RSA: PKCS#1 v1.5, mParticle's "SHA256 RSA";
 * EC: ECDSA, DER-encoded), and the signature goes base64-encoded into `X-OpenDSR-Signature`.
 */
export function signCallbackBody(rawBody: Buffer, privateKey: KeyObject): string {
  return sign('sha256', rawBody, privateKey).toString('base64');
}

export type HeaderStyle = 'opendsr' | 'opengdpr';

export interface SignedCallback {
  method: 'POST';
  headers: Record<string, string>;
  rawBody: Buffer;
}

/** A callback request ready to send: the body serialized once, signed over exactly those bytes. */
export function signedCallback(
  body: unknown,
  options: { domain: string; privateKey: KeyObject; headerStyle?: HeaderStyle },
): SignedCallback {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body), 'utf8');
  const prefix = options.headerStyle === 'opengdpr' ? 'X-OpenGDPR' : 'X-OpenDSR';
  return {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      [`${prefix}-Processor-Domain`]: options.domain,
      [`${prefix}-Signature`]: signCallbackBody(rawBody, options.privateKey),
    },
    rawBody,
  };
}

export interface StatusChange {
  subjectRequestId: string;
  status: 'pending' | 'in_progress' | 'completed' | 'cancelled';
  controllerId: string;
  expectedCompletionTime: Date | null;
  /** The URL the callback is sent to, echoed as `status_callback_url` (spec 2.0 §8.6). */
  callbackUrl: string;
}

/** The callback body as OpenDSR 2.0 §8.6 lists it. */
export function specCallbackBody(change: StatusChange): Record<string, unknown> {
  return {
    controller_id: change.controllerId,
    expected_completion_time: change.expectedCompletionTime?.toISOString() ?? null,
    status_callback_url: change.callbackUrl,
    subject_request_id: change.subjectRequestId,
    request_status: change.status,
  };
}

/** The callback body as mParticle's DSR API v3 example shows it: no status_callback_url, times without offset. */
export function mparticleCallbackBody(change: StatusChange): Record<string, unknown> {
  return {
    controller_id: change.controllerId,
    expected_completion_time: change.status === 'cancelled' ? null : change.expectedCompletionTime?.toISOString().replace(/Z$/, '') ?? null,
    subject_request_id: change.subjectRequestId,
    request_status: change.status,
    api_version: '3.0',
    results_url: null,
    extensions: null,
  };
}
