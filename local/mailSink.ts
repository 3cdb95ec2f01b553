import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A local stand-in for SendGrid's v3 Mail Send API. It answers `POST /v3/mail/send` as SendGrid does
 * (202 with X-Message-Id; 200 in sandbox mode; 400/401 with SendGrid's `{ errors: [{ message, field, help }] }`),
 * keeps every email it accepts, serves them at `GET /messages`, writes each one to a JSON file in the outbox,
 * and can be told to fail for a number of requests so tests can exercise the sender's error mapping.
 */

/** Default outbox, relative to the working directory (the repository root under `npm start`). */
export const DEFAULT_OUTBOX_DIR = '.consent-erasure/outbox';

/** One email as the sink received it. */
export interface SinkMessage {
  /** The X-Message-Id the sink answered with. */
  id: string;
  receivedAt: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  categories: string[];
  customArgs: Record<string, string>;
  /** True when the request asked for sandbox mode (answered 200, as SendGrid does). */
  sandboxMode: boolean;
  /** The outbox file, when the sink writes one. */
  file: string | undefined;
  /** The request body exactly as received, for assertions on details this summary leaves out. */
  body: unknown;
}

/** Makes the next `times` sends (default: all, until cleared) fail with `status`. */
export interface MailSinkFault {
  status: number;
  times?: number;
  /** The `errors[].message` texts of the answer; a SendGrid-like default per status otherwise. */
  messages?: string[];
}

export interface MailSink {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:9300 (SENDGRID_BASE_URL for the sender). */
  url: string;
  port: number;
  /** Absolute outbox path, or undefined when files are off. */
  outboxDir: string | undefined;
  /** Every email accepted so far, oldest first. */
  messages(): SinkMessage[];
  /** Forgets the emails kept in memory (files stay). */
  clear(): void;
  /** Sets or (with null) clears a fault. */
  setFault(fault: MailSinkFault | null): void;
  /** Number of `POST /v3/mail/send` requests seen, accepted or not. */
  requestCount(): number;
  stop(): Promise<void>;
}

const Address = z.object({ email: z.string(), name: z.string().optional() });
const Personalization = z.object({
  to: z.array(Address).min(1),
  cc: z.array(Address).optional(),
  bcc: z.array(Address).optional(),
  subject: z.string().optional(),
});
const Content = z.object({ type: z.string().min(1), value: z.string().min(1) });
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_BODY = 20 * 1024 * 1024;

interface SendGridError {
  message: string;
  field: string | null;
  help: string | null;
}

const FAULT_DEFAULT_MESSAGE: Record<number, string> = {
  400: 'Bad Request',
  401: 'The provided authorization grant is invalid, expired, or revoked',
  403: 'access forbidden',
  413: 'request entity too large',
  429: 'too many requests',
  500: 'internal error',
  502: 'bad gateway',
  503: 'service unavailable',
};

/** Checks the body the way SendGrid's first validation pass does; returns its errors (empty when valid). */
export function validateMailSend(body: unknown): SendGridError[] {
  const errors: SendGridError[] = [];
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const from = Address.safeParse(b['from']);
  if (!from.success || !EMAIL.test(from.data.email)) {
    errors.push({
      message: 'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.',
      field: 'from',
      help: null,
    });
  }
  const pers = z.array(Personalization).min(1).safeParse(b['personalizations']);
  if (!pers.success) {
    errors.push({
      message: 'The personalizations field is required and must have at least one personalization, each with at least one recipient in `to`.',
      field: 'personalizations',
      help: null,
    });
  } else {
    pers.data.forEach((p, i) =>
      [...p.to, ...(p.cc ?? []), ...(p.bcc ?? [])].forEach((a) => {
        if (!EMAIL.test(a.email)) {
          errors.push({ message: 'Does not contain a valid address.', field: `personalizations.${i}.to`, help: null });
        }
      }),
    );
  }
  const everyHasSubject = pers.success && pers.data.every((p) => typeof p.subject === 'string' && p.subject !== '');
  if (!(typeof b['subject'] === 'string' && b['subject'] !== '') && !everyHasSubject) {
    errors.push({
      message: 'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
      field: 'subject',
      help: null,
    });
  }
  if (!z.array(Content).min(1).safeParse(b['content']).success && typeof b['template_id'] !== 'string') {
    errors.push({
      message: 'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.',
      field: 'content',
      help: null,
    });
  }
  return errors;
}

function summarize(id: string, receivedAt: string, body: Record<string, unknown>): Omit<SinkMessage, 'file'> {
  const pers = z.array(Personalization).parse(body['personalizations']);
  const content = z.array(Content).safeParse(body['content']);
  const part = (type: string) => (content.success ? content.data.find((c) => c.type === type)?.value : undefined);
  const emails = (k: 'to' | 'cc' | 'bcc') => pers.flatMap((p) => (p[k] ?? []).map((a) => a.email));
  const mailSettings = body['mail_settings'] as { sandbox_mode?: { enable?: unknown } } | undefined;
  return {
    id,
    receivedAt,
    from: Address.parse(body['from']).email,
    to: emails('to'),
    cc: emails('cc'),
    bcc: emails('bcc'),
    subject: typeof body['subject'] === 'string' ? body['subject'] : (pers[0]?.subject ?? ''),
    text: part('text/plain'),
    html: part('text/html'),
    categories: z.array(z.string()).catch([]).parse(body['categories']),
    customArgs: z.record(z.string(), z.string()).catch({}).parse(body['custom_args'] ?? {}),
    sandboxMode: mailSettings?.sandbox_mode?.enable === true,
    body,
  };
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = payload === undefined ? '' : JSON.stringify(payload);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const FaultSchema = z.object({
  status: z.number().int().min(400).max(599),
  times: z.number().int().positive().optional(),
  messages: z.array(z.string()).optional(),
});

/**
 * Starts the sink on 127.0.0.1 (`port` 0 or absent: a free port). `outboxDir: false` keeps emails in memory only.
 * Besides the SendGrid route it serves `GET /messages`, `DELETE /messages`, `PUT /fault` (body: a MailSinkFault)
 * and `DELETE /fault`, so a person or a script can inspect and steer it over HTTP.
 */
export async function startMailSink(options: { port?: number; host?: string; outboxDir?: string | false } = {}): Promise<MailSink> {
  const outboxDir = options.outboxDir === false ? undefined : resolve(options.outboxDir ?? DEFAULT_OUTBOX_DIR);
  if (outboxDir) await mkdir(outboxDir, { recursive: true });
  const kept: SinkMessage[] = [];
  let fault: (MailSinkFault & { remaining: number }) | null = null;
  let requests = 0;

  function setFault(f: MailSinkFault | null): void {
    if (f === null) {
      fault = null;
      return;
    }
    const parsed = FaultSchema.parse(f);
    fault = { ...parsed, remaining: parsed.times ?? Number.POSITIVE_INFINITY };
  }

  async function mailSend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests += 1;
    if (fault && fault.remaining > 0) {
      const f = fault;
      f.remaining -= 1;
      if (f.remaining <= 0) fault = null;
      const messages = f.messages ?? [FAULT_DEFAULT_MESSAGE[f.status] ?? `error ${f.status}`];
      const headers: Record<string, string> =
        f.status === 429
          ? { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1) }
          : {};
      await readBody(req);
      return sendJson(res, f.status, { errors: messages.map((message) => ({ message, field: null, help: null })) }, headers);
    }
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      await readBody(req);
      return sendJson(res, 401, {
        errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked', field: null, help: null }],
      });
    }
    const raw = await readBody(req);
    if (raw === 'too-large') {
      return sendJson(res, 413, { errors: [{ message: 'request entity too large', field: null, help: null }] });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'Bad Request: the body is not valid JSON', field: null, help: null }] });
    }
    const errors = validateMailSend(body);
    if (errors.length > 0) return sendJson(res, 400, { errors });

    const id = randomBytes(16).toString('base64url');
    const receivedAt = new Date().toISOString();
    const message: SinkMessage = { ...summarize(id, receivedAt, body as Record<string, unknown>), file: undefined };
    if (outboxDir) {
      message.file = join(outboxDir, `${receivedAt.replace(/[:.]/g, '-')}-${id}.json`);
      await writeFile(message.file, `${JSON.stringify(message, null, 2)}\n`);
    }
    kept.push(message);
    // SendGrid answers 200 instead of 202 in sandbox mode: the request is valid and nothing is sent.
    sendJson(res, message.sandboxMode ? 200 : 202, undefined, { 'x-message-id': id });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://sink').pathname;
    if (req.method === 'POST' && path === '/v3/mail/send') return mailSend(req, res);
    if (req.method === 'GET' && path === '/messages') return sendJson(res, 200, kept);
    if (req.method === 'DELETE' && path === '/messages') {
      kept.length = 0;
      return sendJson(res, 204, undefined);
    }
    if (req.method === 'PUT' && path === '/fault') {
      const raw = await readBody(req);
      try {
        setFault(raw === 'too-large' ? null : (JSON.parse(raw.toString('utf8')) as MailSinkFault));
      } catch (err) {
        return sendJson(res, 400, { errors: [{ message: `invalid fault: ${(err as Error).message}`, field: null, help: null }] });
      }
      return sendJson(res, 204, undefined);
    }
    if (req.method === 'DELETE' && path === '/fault') {
      fault = null;
      return sendJson(res, 204, undefined);
    }
    if (req.method === 'GET' && path === '/') return sendJson(res, 200, { ok: true, messages: kept.length });
    return sendJson(res, 404, { errors: [{ message: `no route ${req.method} ${path}`, field: null, help: null }] });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: `mail sink failure: ${(err as Error).message}`, field: null, help: null }] });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new Error(`mail sink: port ${options.port} on ${host} is already in use; choose another port or stop what holds it`, { cause: err })
          : err,
      ),
    );
    server.listen(options.port ?? 0, host, () => {
      server.removeAllListeners('error');
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    outboxDir,
    messages: () => [...kept],
    clear: () => {
      kept.length = 0;
    },
    setFault,
    requestCount: () => requests,
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
