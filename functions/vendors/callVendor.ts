import type { z } from 'zod';
import {
  VendorAuthError,
  type VendorError,
  VendorContractError,
  VendorRateLimitedError,
  VendorRejectedError,
  VendorTransientError,
} from './errors.js';

/** One HTTP call to a vendor. Credentials go in `headers` or `url` and never into errors or logs. */
export interface VendorRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  /** Serialised as JSON when present. */
  json?: unknown;
  /** Sent form-encoded (application/x-www-form-urlencoded) when present and `json` is not. */
  form?: Record<string, string>;
  timeoutMs: number;
  /**
   * Reads a non-2xx answer the vendor documents in its own way (a rate limit announced in other headers, an
   * error code in the body) and returns the error to throw, or undefined for the usual mapping below.
   */
  readFailure?: (answer: FailedAnswer) => VendorError | undefined;
  /** The largest body read (MAX_BODY_BYTES unless given); a larger one is a contract violation. */
  maxBodyBytes?: number;
}

/** A non-2xx answer as a VendorRequest's readFailure sees it. */
export interface FailedAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface VendorResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

const SAMPLE_CHARS = 300;
const DEFAULT_RETRY_AFTER_MS = 1000;
/**
 * The largest response body read from a vendor. Every documented answer is a few kilobytes (a status page of
 * thousands of tasks well under a megabyte); a larger one is not an answer we can use, and reading it whole would
 * let one misbehaving endpoint exhaust a function instance's memory.
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * `value` as exactly one URL path segment. Percent-encoding keeps `/`, `?`, `#` and `%` inside it, but the URL
 * standard treats a segment `.` or `..` as a move within the path (so `/deletions/..` would become `/`), and no
 * encoding changes that: such a value is refused as the vendor's contract violation (it came from the vendor's
 * own answer).
 */
export function pathSegment(vendor: string, value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new VendorContractError(vendor, `an id ${JSON.stringify(value)} cannot be used as one path segment`, sampleBody(value));
  }
  return encodeURIComponent(value);
}

/** The body as text, or undefined when it is larger than `max` bytes (read no further than that). */
async function readCapped(response: Response, max: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  // As Response.text() decodes: UTF-8, a byte-order mark dropped, invalid bytes replaced.
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** A short sample of a response body for logs and alerts, with anything token-like masked. */
export function sampleBody(text: string): string {
  const masked = text.replace(/(bearer\s+|basic\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]');
  return masked.length > SAMPLE_CHARS ? `${masked.slice(0, SAMPLE_CHARS)}…` : masked;
}

/** Parses a body that may not be JSON (an error answer): undefined when it is not. */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads Retry-After (delta-seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number {
  if (!value) return DEFAULT_RETRY_AFTER_MS;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return DEFAULT_RETRY_AFTER_MS;
}

/** Formats zod issues as `path: message; …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Calls a vendor and validates a 2xx body with `schema`. Maps every failure to the vendor error tree:
 * network faults, timeouts and 5xx are transient; 429 is rate limiting (with Retry-After); 401/403 is a
 * rejected credential; other 4xx are rejections; a 2xx body that is not JSON or does not match the schema
 * is a contract violation. `schema` null means the vendor documents an empty body (e.g. 204).
 */
export async function callVendor<S extends z.ZodType>(
  vendor: string,
  request: VendorRequest,
  schema: S | null,
): Promise<VendorResponse<z.infer<S>>> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.json !== undefined) headers['content-type'] = 'application/json';
  else if (request.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const body = request.json !== undefined ? JSON.stringify(request.json) : request.form !== undefined ? new URLSearchParams(request.form).toString() : undefined;
  let response: Response;
  let text: string | undefined;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'manual',
    });
    text = await readCapped(response, request.maxBodyBytes ?? MAX_BODY_BYTES);
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    const what = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${request.timeoutMs} ms` : 'request failed';
    throw new VendorTransientError(vendor, `${request.method} ${redactUrl(request.url)} ${what}`, { cause: err });
  }
  const status = response.status;
  const where = `${request.method} ${redactUrl(request.url)}`;
  if (text === undefined) {
    throw new VendorContractError(vendor, `${where} answered ${status} with a body larger than ${request.maxBodyBytes ?? MAX_BODY_BYTES} bytes (not read)`, '', { status });
  }
  if (status >= 300 && request.readFailure) {
    const own = request.readFailure({ status, headers: response.headers, text });
    if (own) throw own;
  }
  if (status === 429) {
    throw new VendorRateLimitedError(vendor, parseRetryAfter(response.headers.get('retry-after')), { status });
  }
  if (status >= 500) {
    throw new VendorTransientError(vendor, `${where} answered ${status}: ${sampleBody(text)}`, { status });
  }
  if (status === 401 || status === 403) {
    throw new VendorAuthError(vendor, `${where} rejected the credential (${status}): ${sampleBody(text)}`, { status });
  }
  if (status >= 400) {
    throw new VendorRejectedError(vendor, `${where} answered ${status}: ${sampleBody(text)}`, { status });
  }
  if (status >= 300) {
    throw new VendorContractError(vendor, `${where} answered an undocumented redirect ${status}`, sampleBody(text), {
      status,
    });
  }
  if (schema === null) {
    return { status, body: undefined as z.infer<S>, headers: response.headers };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const type = response.headers.get('content-type') ?? 'no content-type';
    throw new VendorContractError(vendor, `${where} answered a body that is not JSON (${type})`, sampleBody(text), {
      cause: err,
      status,
      notJson: true,
    });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new VendorContractError(vendor, `${where} answered an unexpected shape: ${describeIssues(result.error)}`, sampleBody(text), {
      cause: result.error,
      status,
    });
  }
  return { status, body: result.data, headers: response.headers };
}

/** Drops query strings (some vendors take tokens there) from URLs shown in errors. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
