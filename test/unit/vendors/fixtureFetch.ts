import sinon from 'sinon';
import type { Fixture } from '../../fixtures/vendors/contract.js';

/** A response as a fixture documents it: status, headers and (maybe) a body. */
export type Answer = Fixture['response'];

/** One request an adapter made, as the stubbed fetch saw it. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The JSON body sent, if any. */
  json: unknown;
  /** The body as sent (a form-encoded body is not JSON). */
  text?: string;
}

/** The Response a server answering exactly as `answer` documents would send. */
export function responseOf(answer: Answer): Response {
  const headers = new Headers(answer.headers ?? {});
  const noBody = answer.status === 204 || answer.status === 304 || answer.body === undefined;
  if (noBody) return new Response(null, { status: answer.status, headers });
  if (typeof answer.body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain');
    return new Response(answer.body, { status: answer.status, headers });
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
}

/**
 * Replaces the global fetch (which callVendor uses) with a stub that answers each call with the next of the
 * given answers, in order, and records what was asked. No server is involved. `restore()` puts fetch back.
 */
export function stubFetch(...answers: Answer[]): { seen: SeenRequest[]; restore(): void } {
  const queue = [...answers];
  const seen: SeenRequest[] = [];
  const stub = sinon.stub(globalThis, 'fetch').callsFake((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const isJson = (headers['content-type'] ?? '').includes('json');
    const body = text !== undefined && isJson ? (JSON.parse(text) as unknown) : undefined;
    seen.push({ method: init?.method ?? 'GET', url, headers, json: body, ...(text !== undefined ? { text } : {}) });
    const next = queue.shift();
    if (!next) return Promise.reject(new Error(`unexpected call ${init?.method ?? 'GET'} ${url.pathname}: no answer left`));
    return Promise.resolve(responseOf(next));
  });
  return { seen, restore: () => stub.restore() };
}

/** Runs `work` with fetch answering `answers` in order; returns its result and what was asked. */
export async function withAnswers<T>(answers: Answer[], work: () => Promise<T>): Promise<{ result: T; seen: SeenRequest[] }> {
  const fetch = stubFetch(...answers);
  try {
    return { result: await work(), seen: fetch.seen };
  } finally {
    fetch.restore();
  }
}

/** The JSON keys of a documented request body, at the top level. */
export const keysOf = (body: unknown): string[] => (body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).sort() : []);
