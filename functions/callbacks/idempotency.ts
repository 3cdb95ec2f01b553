import { createHash } from 'node:crypto';

/**
 * A callback's identity for storing it once. Callbacks carry no nonce or timestamp (none is documented), and a
 * processor retries a failed delivery, so the same status change may arrive many times, possibly re-serialized or
 * re-signed (ECDSA signatures differ each time). The key is therefore the processor domain and the body's content
 * in canonical JSON (object keys sorted), not the raw bytes and not the signature: the same fact gives the same
 * key, a different status or time gives another.
 */
export function callbackIdempotencyKey(processorDomain: string, body: unknown): string {
  return createHash('sha256').update(`opendsr-callback/v1\n${processorDomain.toLowerCase()}\n${canonicalJson(body)}`).digest('hex');
}

/** SHA-256 of the raw body as received, hex: the evidence of exactly which bytes were signed. */
export function bodySha256(rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex');
}

/** JSON with object keys sorted at every depth; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
