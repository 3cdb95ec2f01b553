import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** A running relay between the Firestore emulator's trigger delivery and Functions Framework servers. */
export interface TriggerRelay {
  /** http://host:port; start the Firestore emulator with `--functions_emulator host:port`. */
  url: string;
  /** Forwards the events of one registered trigger (per project) to a function's URL. */
  route(projectId: string, triggerId: string, targetUrl: string): void;
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
export async function startTriggerRelay(options: { port: number; host?: string; log?: Logger }): Promise<TriggerRelay> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const routes = new Map<string, string>();
  const key = (projectId: string, triggerId: string) => `${projectId}\u0000${triggerId}`;

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
    let status = 502;
    let text = '';
    try {
      const answer = await fetch(target, { method: 'POST', headers: repaired.headers, body: repaired.body });
      status = answer.status;
      text = await answer.text();
    } catch (err) {
      text = `relay could not reach ${target}: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (status >= 300) {
      log?.warn(
        { event: 'relay_delivery_failed', projectId, triggerId, ceId: incoming['ce-id'], status, answer: text.slice(0, 300) },
        'function did not accept the trigger event (the emulator does not retry)',
      );
    } else {
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
