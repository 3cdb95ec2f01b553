/**
 * Every answer a callback can get, with its HTTP status. Authentication failures are 403 (OpenDSR 2.0 §8.8
 * "Return 403 if validation fails"; Mixpanel). mParticle's page asks for 401 and the spec repository's
 * security_guidelines.md for 401/400; any non-2xx makes a processor retry, so the spec's code is used throughout.
 * A mistake in the request is 4xx, with the code HTTP has for it (405, 413, 415, else 400), so a log or a metric
 * tells size from shape without reading the text; 503 is kept for what the sender cannot fix by changing its
 * request: the processor's certificate could not be fetched.
 */
export const CALLBACK_ANSWERS = {
  accepted: 202,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  body_too_large: 413,
  conflicting_headers: 400,
  missing_processor_domain: 403,
  invalid_processor_domain: 403,
  processor_not_allowed: 403,
  missing_signature: 403,
  signature_malformed: 403,
  signature_invalid: 403,
  certificate_unavailable: 503,
  certificate_invalid: 403,
  certificate_is_ca: 403,
  certificate_self_signed: 403,
  certificate_weak_key: 403,
  certificate_subject_mismatch: 403,
  certificate_not_yet_valid: 403,
  certificate_expired: 403,
  certificate_untrusted: 403,
  body_not_json: 400,
  body_not_status_object: 400,
  callback_url_mismatch: 403,
  unknown_request: 404,
  request_other_vendor: 403,
  controller_mismatch: 403,
} as const;

export type CallbackReason = keyof typeof CALLBACK_ANSWERS;
export type CallbackStatusCode = (typeof CALLBACK_ANSWERS)[CallbackReason];

export const CALLBACK_REASONS = Object.keys(CALLBACK_ANSWERS) as CallbackReason[];

/** The longest reason text put in a log line or an answer. */
export const MAX_DETAIL_CHARS = 300;

/** Text safe for a log line: control characters replaced, length capped. It never holds a body or a signature. */
export function logSafe(text: string, max = MAX_DETAIL_CHARS): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
