import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** One trigger event as the relay forwards it (repaired: bytes, ce-* headers). */
export interface RelayDelivery {
  projectId: string;
  triggerId: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Eventarc's part with retries on (`--retry`): the relay accepts the emulator's event at once and owns its
 * delivery, redelivering the same CloudEvent with backoff while the function answers 5xx or cannot be
 * reached, up to `attempts`; then it is dropped with an ERROR line (production: the dead-letter topic).
 */
export interface RelayRetry {
  attempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Deliveries in flight at once (1 keeps the emulator's order). */
  concurrency?: number;
}

/** What a fault test does to a delivery: pass it, drop it, or hand it to the function `n` times. */
export type RelayFault = (delivery: RelayDelivery) => 'pass' | 'drop' | { copies: number };

/** Counts of what the relay received and did, for a fault table's denominators. */
export interface RelayStats {
  /** Events the emulator posted. */
  received: number;
  /** Deliveries the function accepted (2xx). */
  accepted: number;
  /** Attempts after a failed one. */
  retries: number;
  /** Deliveries given up after every attempt failed. */
  abandoned: number;
  /** Events a fault dropped. */
  dropped: number;
  /** Extra copies a fault delivered. */
  duplicated: number;
}

/** A running relay between the Firestore emulator's trigger delivery and Functions Framework servers. */
export interface TriggerRelay {
  /** http://host:port; start the Firestore emulator with `--functions_emulator host:port`. */
  url: string;
  /** Forwards the events of one registered trigger (per project) to a function's URL. */
  route(projectId: string, triggerId: string, targetUrl: string): void;
  /** Sets (or with null clears) the fault applied to every event from now on. */
  setFault(fault: RelayFault | null): void;
  /** Delivers an event again (a dropped one, late), with the retry policy when one is set. */
  redeliver(delivery: RelayDelivery): Promise<void>;
  stats(): RelayStats;
  /** Resolves once no delivery is queued or in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const PATH = /^\/functions\/projects\/([^/]+)\/triggers\/(.+)$/;
const FORWARDED = new Set(['content-type', 'traceparent', 'tracestate']);
const BASE64_TEXT = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;
const MAX_BODY_BYTES = 11 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The production shape of an emulator delivery: the emulator posts a protobuf body as base64 TEXT (Eventarc
 * sends the bytes) and doubles `projects/` in ce-source. Other bodies pass through unchanged.
 */
export function repairDelivery(
  headers: Record<string, string>,
  body: Buffer,
): { headers: Record<string, string>; body: Buffer } {
  const out = { ...headers };
  if (out['ce-source']) out['ce-source'] = out['ce-source'].replace('/projects/projects/', '/projects/');
  const type = out['content-type'] ?? '';
  let bytes = body;
  if (/application\/(x-)?protobuf/i.test(type)) {
    const text = body.toString('latin1');
    if (BASE64_TEXT.test(text)) bytes = Buffer.from(text, 'base64');
  }
  return { headers: out, body: bytes };
}

/**
 * Starts the relay the local stack and the end-to-end tests put between Google's Firestore emulator and
 * the functions: it receives `POST /functions/projects/{project}/triggers/{trigger}` (a binary-mode
 * CloudEvent), repairs it (repairDelivery) and forwards it with its ce-* headers to the registered target,
 * answering with the target's status. The emulator does not retry, so a failure is logged here.
 */
export async function startTriggerRelay(options: { port: number; host?: string; log?: Logger; retry?: RelayRetry }): Promise<TriggerRelay> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const routes = new Map<string, string>();
  const key = (projectId: string, triggerId: string) => `${projectId}\u0000${triggerId}`;
  const retry = options.retry;
  const counts: RelayStats = { received: 0, accepted: 0, retries: 0, abandoned: 0, dropped: 0, duplicated: 0 };
  let fault: RelayFault | null = null;
  let stopped = false;
  const queue: Array<() => Promise<void>> = [];
  let active = 0;
  const idleWaiters: Array<() => void> = [];
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

  function pump(): void {
    const limit = retry?.concurrency ?? 1;
    while (active < limit && queue.length > 0) {
      const job = queue.shift()!;
      active += 1;
      void job().finally(() => {
        active -= 1;
        pump();
      });
    }
    if (active === 0 && queue.length === 0) for (const w of idleWaiters.splice(0)) w();
  }

  /** One attempt: the function's status and answer (502 when it cannot be reached). */
  async function attempt(target: string, d: RelayDelivery): Promise<{ status: number; text: string }> {
    try {
      const answer = await fetch(target, { method: 'POST', headers: d.headers, body: d.body });
      return { status: answer.status, text: await answer.text() };
    } catch (err) {
      return { status: 502, text: `relay could not reach ${target}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** Delivers with the retry policy: until 2xx, a 4xx (not retried by Eventarc either), or the last attempt. */
  async function deliverWithRetry(target: string, d: RelayDelivery): Promise<void> {
    const policy = retry!;
    for (let n = 1; ; n += 1) {
      const { status, text } = await attempt(target, d);
      if (status < 300) {
        counts.accepted += 1;
        return;
      }
      const retryable = status >= 500 || status === 429 || status === 408;
      if (!retryable || n >= policy.attempts || stopped) {
        counts.abandoned += 1;
        log?.error(
          { event: 'relay_delivery_abandoned', projectId: d.projectId, triggerId: d.triggerId, ceId: d.headers['ce-id'], status, attempts: n, answer: text.slice(0, 300) },
          'trigger event given up after its last attempt',
        );
        return;
      }
      counts.retries += 1;
      log?.warn(
        { event: 'relay_delivery_retry', projectId: d.projectId, triggerId: d.triggerId, ceId: d.headers['ce-id'], status, attempt: n },
        'function did not accept the trigger event; redelivering',
      );
      await sleep(Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** (n - 1)));
    }
  }

  function enqueue(target: string, d: RelayDelivery): Promise<void> {
    return new Promise<void>((resolve) => {
      queue.push(() => deliverWithRetry(target, d).finally(resolve));
      pump();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = req.method === 'POST' ? PATH.exec((req.url ?? '').split('?')[0] ?? '') : null;
    if (!match) {
      res.writeHead(req.method === 'GET' ? 200 : 404, { 'content-type': 'text/plain' }).end(req.method === 'GET' ? 'Ok' : 'not found');
      return;
    }
    const projectId = decodeURIComponent(match[1]!);
    const triggerId = decodeURIComponent(match[2]!);
    const target = routes.get(key(projectId, triggerId));
    const body = await readBody(req);
    if (!target) {
      log?.warn({ event: 'relay_no_route', projectId, triggerId }, 'trigger event for an unregistered route; dropped');
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${projectId}/${triggerId}`);
      return;
    }
    const incoming: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value !== 'string') continue;
      if (name.startsWith('ce-') || FORWARDED.has(name)) incoming[name] = value;
    }
    const repaired = repairDelivery(incoming, body);
    const delivery: RelayDelivery = { projectId, triggerId, headers: repaired.headers, body: repaired.body };
    counts.received += 1;
    const decision = fault ? fault(delivery) : 'pass';
    if (decision === 'drop') {
      counts.dropped += 1;
      res.writeHead(204).end();
      return;
    }
    const copies = decision === 'pass' ? 1 : Math.max(1, decision.copies);
    counts.duplicated += copies - 1;
    if (retry) {
      // Accepted: the relay owns the delivery from here, as Eventarc's subscription does.
      for (let i = 0; i < copies; i += 1) void enqueue(target, delivery);
      res.writeHead(204).end();
      return;
    }
    let status = 502;
    let text = '';
    for (let i = 0; i < copies; i += 1) ({ status, text } = await attempt(target, delivery));
    if (status >= 300) {
      log?.warn(
        { event: 'relay_delivery_failed', projectId, triggerId, ceId: incoming['ce-id'], status, answer: text.slice(0, 300) },
        'function did not accept the trigger event (the emulator does not retry)',
      );
    } else {
      counts.accepted += 1;
      log?.debug({ event: 'relay_delivered', projectId, triggerId, ceId: incoming['ce-id'], status }, 'trigger event delivered');
    }
    res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.error({ event: 'relay_error', err }, 'trigger relay failed on a request');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    route(projectId, triggerId, targetUrl) {
      routes.set(key(projectId, triggerId), targetUrl);
    },
    setFault(f) {
      fault = f;
    },
    async redeliver(d) {
      const target = routes.get(key(d.projectId, d.triggerId));
      if (!target) throw new Error(`no route for ${d.projectId}/${d.triggerId}`);
      if (retry) return enqueue(target, d);
      const { status } = await attempt(target, d);
      if (status < 300) counts.accepted += 1;
    },
    stats: () => ({ ...counts }),
    idle: () =>
      new Promise<void>((resolve) => {
        if (active === 0 && queue.length === 0) resolve();
        else idleWaiters.push(resolve);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
