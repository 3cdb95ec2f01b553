import { parseCallbackBody, type StatusCallback } from './callbackBody.js';
import { validateProcessorCertificate, type CertificateInfo, type TrustAnchors } from './certificateChain.js';
import { bodySha256, callbackIdempotencyKey } from './idempotency.js';
import { findProcessor, isOurCallbackUrl, normalizeDomain, type CallbackPolicy, type Processor } from './policy.js';
import { CALLBACK_ANSWERS, logSafe, type CallbackReason } from './reasons.js';
import { verifyCallbackSignature, type SignatureAlgorithm } from './signature.js';

/**
 * The decision on one callback, as pure functions: the request, the certificate material and the time in, an
 * answer out, no I/O. The order is the one OpenDSR §8.8 and the guidelines give: the processor domain against the
 * allow-list, the certificate, the signature over the raw bytes, and only then is the body parsed.
 */

/** What the HTTP layer hands over: the method, the headers as Node gives them, and the body's exact bytes. */
export interface CallbackRequest {
  method: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  rawBody: Buffer;
}

/** The processor's certificate file as fetched (see certificateSource.ts), or why it could not be had. */
export type CertificateMaterial = { ok: true; pem: string; url: string } | { ok: false; detail: string; retryAfterSeconds: number };

export type HeaderStyle = 'opendsr' | 'opengdpr';

/** What is kept as evidence of an accepted callback: enough to verify the signature again later. */
export interface CallbackEvidence {
  processorDomain: string;
  vendor: string;
  headerStyle: HeaderStyle;
  signature: string;
  signatureAlgorithm: SignatureAlgorithm;
  certificate: CertificateInfo;
  certificateUrl: string;
  /** SHA-256 fingerprints from the leaf to the trusted root. */
  chain: string[];
  bodySha256: string;
  /** The body exactly as signed (it decoded as strict UTF-8). */
  rawBody: string;
  receivedAt: string;
}

export interface AcceptedCallback {
  accepted: true;
  status: 202;
  reason: 'accepted';
  detail: string;
  processor: Processor;
  callback: StatusCallback;
  evidence: CallbackEvidence;
  idempotencyKey: string;
}

export interface RefusedCallback {
  accepted: false;
  status: (typeof CALLBACK_ANSWERS)[Exclude<CallbackReason, 'accepted'>];
  reason: Exclude<CallbackReason, 'accepted'>;
  /** Log-safe: our words, the domain only when it is a DNS name, never the body or the signature. */
  detail: string;
  processorDomain: string | null;
  /** Headers the answer should carry (Allow, Retry-After). */
  headers: Record<string, string>;
}

export type CallbackDecision = AcceptedCallback | RefusedCallback;

export interface CallbackContext {
  policy: CallbackPolicy;
  anchors: TrustAnchors;
  now: Date;
}

export type Precheck =
  | { ok: true; processor: Processor; signatureHeader: string; headerStyle: HeaderStyle }
  | { ok: false; decision: RefusedCallback };

/** Builds a refusal with the status its reason carries. */
export function refuse(reason: Exclude<CallbackReason, 'accepted'>, detail: string, processorDomain: string | null = null, headers: Record<string, string> = {}): RefusedCallback {
  return { accepted: false, status: CALLBACK_ANSWERS[reason], reason, detail: logSafe(detail), processorDomain, headers };
}

/** What can be decided before the certificate is fetched: method, size, media type, headers, allow-list. */
export function precheckCallback(req: CallbackRequest, policy: CallbackPolicy): Precheck {
  const no = (d: RefusedCallback): Precheck => ({ ok: false, decision: d });
  if (req.method.toUpperCase() !== 'POST') return no(refuse('method_not_allowed', `${logSafe(req.method, 16)} is not POST`, null, { Allow: 'POST' }));
  if (req.rawBody.length > policy.maxBodyBytes) return no(refuse('body_too_large', `body of ${req.rawBody.length} bytes, above ${policy.maxBodyBytes}`));
  const contentType = header(req, 'content-type');
  if (contentType !== undefined && !isJsonMediaType(contentType)) return no(refuse('unsupported_media_type', 'Content-Type is not application/json'));
  const domainHeader = either(req, 'processor-domain');
  const signatureHeader = either(req, 'signature');
  if (domainHeader === 'conflict') return no(refuse('conflicting_headers', 'X-OpenDSR-Processor-Domain and X-OpenGDPR-Processor-Domain differ'));
  if (signatureHeader === 'conflict') return no(refuse('conflicting_headers', 'X-OpenDSR-Signature and X-OpenGDPR-Signature differ'));
  if (!domainHeader) return no(refuse('missing_processor_domain', 'no X-OpenDSR-Processor-Domain header'));
  const domain = normalizeDomain(domainHeader.value);
  if (domain === null) return no(refuse('invalid_processor_domain', 'X-OpenDSR-Processor-Domain is not a DNS name'));
  const processor = findProcessor(policy, domain);
  if (!processor) return no(refuse('processor_not_allowed', `${domain} is not an allow-listed processor`, domain));
  if (!signatureHeader) return no(refuse('missing_signature', `no X-OpenDSR-Signature header from ${domain}`, domain));
  return { ok: true, processor, signatureHeader: signatureHeader.value, headerStyle: domainHeader.style };
}

/** The whole decision: precheck, certificate, signature, body, callback URL. Deterministic for the same inputs. */
export function decideCallback(req: CallbackRequest, certificate: CertificateMaterial, ctx: CallbackContext): CallbackDecision {
  const pre = precheckCallback(req, ctx.policy);
  if (!pre.ok) return pre.decision;
  const { processor } = pre;
  const domain = processor.domain;
  if (!certificate.ok) {
    return refuse('certificate_unavailable', `certificate of ${domain}: ${certificate.detail}`, domain, { 'Retry-After': String(certificate.retryAfterSeconds) });
  }
  const cert = validateProcessorCertificate(certificate.pem, { domain, anchors: ctx.anchors, now: ctx.now, allowWildcard: processor.allowWildcardCertificate });
  if (!cert.ok) return refuse(cert.reason, cert.detail, domain);
  const sig = verifyCallbackSignature(req.rawBody, pre.signatureHeader, cert.leaf);
  if (!sig.ok) return refuse(sig.reason, `${sig.detail} (${domain}, certificate ${cert.info.fingerprint256})`, domain);
  const text = strictUtf8(req.rawBody);
  const json = text === null ? undefined : parseJson(text);
  if (json === undefined) return refuse('body_not_json', `the signed body from ${domain} is not UTF-8 JSON`, domain);
  const parsed = parseCallbackBody(json);
  if (!parsed.ok) return refuse('body_not_status_object', `not an OpenDSR status object: ${parsed.problems.join('; ')}`, domain);
  const callbackUrl = parsed.callback.body.status_callback_url;
  if (callbackUrl !== undefined && !isOurCallbackUrl(ctx.policy, callbackUrl)) {
    return refuse('callback_url_mismatch', `status_callback_url is not one of our callback URLs (${domain}, request ${parsed.callback.subjectRequestId})`, domain);
  }
  const evidence: CallbackEvidence = {
    processorDomain: domain,
    vendor: processor.vendor,
    headerStyle: pre.headerStyle,
    signature: sig.signature,
    signatureAlgorithm: sig.algorithm,
    certificate: cert.info,
    certificateUrl: certificate.url,
    chain: cert.chain.map((c) => c.fingerprint256),
    bodySha256: bodySha256(req.rawBody),
    rawBody: text!,
    receivedAt: ctx.now.toISOString(),
  };
  return {
    accepted: true,
    status: 202,
    reason: 'accepted',
    detail: logSafe(`${parsed.callback.status} for request ${parsed.callback.subjectRequestId} from ${domain}, signature ${sig.algorithm} verified`),
    processor,
    callback: parsed.callback,
    evidence,
    idempotencyKey: callbackIdempotencyKey(domain, parsed.callback.body),
  };
}

/** Fields for the handler's log line; none holds the body, the signature or a results URL. */
export function callbackLogFields(decision: CallbackDecision): Record<string, string | number | null> {
  if (!decision.accepted) {
    return { event: 'callback_refused', status: decision.status, reason: decision.reason, detail: decision.detail, processorDomain: decision.processorDomain };
  }
  return {
    event: 'callback_verified',
    status: decision.status,
    reason: decision.reason,
    detail: decision.detail,
    processorDomain: decision.evidence.processorDomain,
    vendor: decision.processor.vendor,
    subjectRequestId: decision.callback.subjectRequestId,
    requestStatus: decision.callback.status,
    certificateSubject: decision.evidence.certificate.subject,
    certificateFingerprint: decision.evidence.certificate.fingerprint256,
    idempotencyKey: decision.idempotencyKey,
  };
}

function header(req: CallbackRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() === name && v !== undefined) return typeof v === 'string' ? v : v.join(', ');
  }
  return undefined;
}

/** The OpenDSR header, or its OpenGDPR name (OpenDSR 2.0 §10.1: prior names MUST be honoured). */
function either(req: CallbackRequest, suffix: string): { value: string; style: HeaderStyle } | 'conflict' | null {
  const dsr = header(req, `x-opendsr-${suffix}`);
  const gdpr = header(req, `x-opengdpr-${suffix}`);
  if (dsr !== undefined && gdpr !== undefined && dsr.trim() !== gdpr.trim()) return 'conflict';
  if (dsr !== undefined && dsr.trim() !== '') return { value: dsr, style: 'opendsr' };
  if (gdpr !== undefined && gdpr.trim() !== '') return { value: gdpr, style: 'opengdpr' };
  return null;
}

function isJsonMediaType(value: string): boolean {
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function strictUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
