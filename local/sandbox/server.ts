import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { systemClock } from '../../functions/clock.js';
import { BUILTIN_MODULES } from './modules.js';
import {
  CALL_OUTCOMES,
  SandboxConfigSchema,
  type CallOutcome,
  type RecordedCall,
  type RunningSandbox,
  type SandboxConfig,
  type SandboxConfigInput,
  type SandboxContext,
  type SandboxControl,
  type SandboxModule,
  type SandboxOptions,
  type SandboxReply,
  type SandboxRequest,
  type SandboxStats,
} from './types.js';

export type {
  RecordedCall,
  RunningSandbox,
  SandboxConfig,
  SandboxConfigInput,
  SandboxControl,
  SandboxModule,
  SandboxOptions,
  SandboxStats,
} from './types.js';

/** Bad sandbox configuration or control request; `problems` names every bad field. */
export class SandboxConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid sandbox configuration: ${problems.join('; ')}`);
    this.name = 'SandboxConfigError';
  }
}

/** An unknown module name given to the control API. */
export class SandboxModuleNotFoundError extends Error {
  constructor(readonly module: string) {
    super(`no sandbox module "${module}"`);
    this.name = 'SandboxModuleNotFoundError';
  }
}

const CONTROL_PREFIX = '_sandbox';
const MAX_BODY_BYTES = 1_000_000;
const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

const HTML_ERROR_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Service Temporarily Unavailable</title></head>' +
  '<body><h1>Service Temporarily Unavailable</h1><p>The server is down for maintenance. Please try again later.</p></body></html>\n';

/** A small fast seeded PRNG (mulberry32), so a run's faults can be repeated. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merges a partial config into `current` (nested objects one level deep, `null` replaces) and validates the
 * result, the module's options included. Throws SandboxConfigError naming every bad field.
 */
export function mergeSandboxConfig(current: SandboxConfig | undefined, input: unknown, module: SandboxModule): SandboxConfig {
  if (!isPlain(input)) throw new SandboxConfigError(['(root): the config must be a JSON object']);
  const merged: Record<string, unknown> = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(input)) {
    const before = merged[key];
    merged[key] = isPlain(value) && isPlain(before) ? { ...before, ...value } : value;
  }
  const parsed = SandboxConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SandboxConfigError(parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
  }
  const config = parsed.data;
  if (module.optionsSchema) {
    const options = module.optionsSchema.safeParse(config.options);
    if (!options.success) {
      throw new SandboxConfigError(options.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`));
    }
    config.options = options.data;
  }
  return config;
}

function emptyStats(): SandboxStats {
  return {
    requests: 0,
    byStatus: {},
    byOutcome: Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0])) as Record<CallOutcome, number>,
    rateLimitExceeded: 0,
    moduleLimitsExceeded: {},
    peakWindowRequests: 0,
  };
}

/** One mounted module with its config, record, counters and rate window. */
interface Mounted {
  module: SandboxModule;
  initial: SandboxConfig;
  config: SandboxConfig;
  calls: RecordedCall[];
  seq: number;
  stats: SandboxStats;
  /** Arrival times of accepted rate-limited requests still inside the window, from `head`. */
  window: number[];
  head: number;
  ctx: SandboxContext;
}

function parseQuery(req: IncomingMessage): { pathname: string; query: URLSearchParams } {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  return q === -1
    ? { pathname: raw, query: new URLSearchParams() }
    : { pathname: raw.slice(0, q), query: new URLSearchParams(raw.slice(q + 1)) };
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError(`body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: SandboxReply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

const json = (status: number, body: unknown): SandboxReply => ({ status, body });

/** A create call, unless the module says otherwise: any POST. */
function isPost(req: SandboxRequest): boolean {
  return req.method === 'POST';
}

function defaultAuthorize(req: SandboxRequest, credential: string): boolean {
  return req.headers.authorization === `Bearer ${credential}`;
}

/**
 * Starts the vendor sandbox on 127.0.0.1 (README.md in this folder): every mounted module under its
 * prefix, the common faults and limits around it, and the control API under `/_sandbox`.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const clock = options.clock ?? systemClock;
  const random = seededRandom(options.seed ?? 0x5eed);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const mounted = new Map<string, Mounted>();
  const hangs = new Set<NodeJS.Timeout>();

  for (const [name, entry] of Object.entries(options.vendors ?? { http: {} })) {
    let module: SandboxModule;
    let input: unknown;
    if (isPlain(entry) && 'module' in entry && entry['module'] && typeof entry['module'] === 'object') {
      const given = entry as { module: SandboxModule; config?: SandboxConfigInput };
      module = given.module;
      input = given.config ?? {};
    } else {
      const build = BUILTIN_MODULES[name];
      if (!build) {
        throw new SandboxConfigError([
          `vendors.${name}: no built-in sandbox module of that name (known: ${Object.keys(BUILTIN_MODULES).join(', ')})`,
        ]);
      }
      module = build();
      input = entry;
    }
    if (module.name !== name || !MODULE_NAME.test(name) || name === CONTROL_PREFIX) {
      throw new SandboxConfigError([`vendors.${name}: mounted name must equal the module's name and be a valid prefix`]);
    }
    const initial = mergeSandboxConfig(undefined, input, module);
    const m: Mounted = {
      module,
      initial,
      config: initial,
      calls: [],
      seq: 0,
      stats: emptyStats(),
      window: [],
      head: 0,
      ctx: undefined as unknown as SandboxContext,
    };
    m.ctx = {
      clock,
      random,
      get config() {
        return m.config;
      },
      countExceeded(limit: string) {
        m.stats.moduleLimitsExceeded[limit] = (m.stats.moduleLimitsExceeded[limit] ?? 0) + 1;
      },
    };
    mounted.set(name, m);
  }

  const get = (name: string): Mounted => {
    const m = mounted.get(name);
    if (!m) throw new SandboxModuleNotFoundError(name);
    return m;
  };

  const control: SandboxControl = {
    modules: () => [...mounted.keys()],
    configure(name, input) {
      const m = get(name);
      m.config = mergeSandboxConfig(m.config, input, m.module);
      return m.config;
    },
    config: (name) => get(name).config,
    calls(name, since = 0) {
      const calls = get(name).calls;
      let start = calls.length;
      while (start > 0 && calls[start - 1]!.seq > since) start -= 1;
      return calls.slice(start);
    },
    stats: (name) => structuredClone(get(name).stats),
    state: (name) => {
      const m = get(name);
      return m.module.describe ? m.module.describe(m.ctx) : {};
    },
    reset(name) {
      const m = get(name);
      m.module.reset();
      m.config = m.initial;
      m.calls = [];
      m.seq = 0;
      m.stats = emptyStats();
      m.window = [];
      m.head = 0;
    },
  };

  /** Sliding window: returns 0 when admitted, otherwise ms until a slot frees. */
  const admit = (m: Mounted, now: number, limit: { requests: number; perMs: number }): number => {
    const w = m.window;
    while (m.head < w.length && w[m.head]! <= now - limit.perMs) m.head += 1;
    if (m.head > 1024 && m.head * 2 > w.length) {
      m.window = w.slice(m.head);
      m.head = 0;
    }
    const inWindow = m.window.length - m.head;
    if (inWindow >= limit.requests) return Math.max(1, m.window[m.head + inWindow - limit.requests]! + limit.perMs - now);
    m.window.push(now);
    if (inWindow + 1 > m.stats.peakWindowRequests) m.stats.peakWindowRequests = inWindow + 1;
    return 0;
  };

  const record = (m: Mounted, call: RecordedCall): void => {
    const limit = m.config.recordLimit;
    if (limit === 0) return;
    m.calls.push(call);
    // Trim in chunks so recording stays O(1) per call.
    if (m.calls.length >= limit * 2) m.calls = m.calls.slice(m.calls.length - limit);
  };

  const count = (m: Mounted, call: RecordedCall, status: number, outcome: CallOutcome): void => {
    call.status = status;
    call.outcome = outcome;
    const key = String(status);
    m.stats.byStatus[key] = (m.stats.byStatus[key] ?? 0) + 1;
    m.stats.byOutcome[outcome] += 1;
  };

  const drifted = (m: Mounted, reply: SandboxReply, req: SandboxRequest): SandboxReply | undefined => {
    const mode = m.config.drift;
    if (mode === null || reply.status < 200 || reply.status >= 300) return undefined;
    if (reply.body === undefined && reply.text === undefined) return undefined;
    if (m.config.driftShare < 1 && random() >= m.config.driftShare) return undefined;
    switch (mode) {
      case 'html':
        return { status: 200, text: HTML_ERROR_PAGE, contentType: 'text/html; charset=utf-8' };
      case 'truncated': {
        const full = reply.text ?? JSON.stringify(reply.body);
        return { status: reply.status, text: full.slice(0, Math.floor(full.length / 2)), contentType: 'application/json' };
      }
      default:
        return m.module.drift(mode, reply, req);
    }
  };

  const serveModule = async (m: Mounted, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => {
    let text: string;
    try {
      text = await readBody(req);
    } catch (err) {
      send(res, json(413, { error: err instanceof Error ? err.message : 'bad body' }));
      return;
    }
    let body: unknown;
    let jsonError: string | undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch (err) {
        jsonError = err instanceof Error ? err.message : 'not JSON';
      }
    }
    const sreq: SandboxRequest = { method: req.method ?? 'GET', path, query, headers: req.headers, text, json: body, jsonError };
    const now = clock.now().getTime();
    const call: RecordedCall = {
      seq: ++m.seq,
      method: sreq.method,
      path,
      body: body ?? (text === '' ? undefined : text),
      status: 0,
      outcome: 'answered',
      at: new Date(now).toISOString(),
    };
    record(m, call);
    m.stats.requests += 1;
    const cfg = m.config;

    const answer = async (reply: SandboxReply, outcome: CallOutcome) => {
      count(m, call, reply.status, outcome);
      const delay = cfg.latencyMs + (cfg.latencyJitterMs > 0 ? Math.floor(random() * (cfg.latencyJitterMs + 1)) : 0);
      if (delay > 0) await sleep(delay);
      send(res, reply);
    };

    if (cfg.rateLimit && (m.module.rateLimited?.(sreq) ?? true)) {
      const waitMs = admit(m, now, cfg.rateLimit);
      if (waitMs > 0) {
        m.stats.rateLimitExceeded += 1;
        const seconds = Math.max(1, Math.ceil(waitMs / 1000));
        const own = m.module.faultReply?.('rate_limited', m.ctx, { waitMs });
        return answer(own ?? { status: 429, headers: { 'retry-after': String(seconds) }, body: { error: 'rate limit exceeded' } }, 'rate_limited');
      }
    }
    if (cfg.resetShare > 0 && random() < cfg.resetShare) {
      count(m, call, 0, 'reset');
      req.socket.destroy();
      return;
    }
    if (cfg.timeoutShare > 0 && random() < cfg.timeoutShare) {
      count(m, call, 0, 'timeout');
      const timer = setTimeout(() => {
        hangs.delete(timer);
        req.socket.destroy();
      }, cfg.hangMs);
      hangs.add(timer);
      return;
    }
    if (cfg.rejectCredentials || (cfg.credential !== null && !(m.module.authorize ?? defaultAuthorize)(sreq, cfg.credential))) {
      const own = m.module.faultReply?.('unauthorized', m.ctx, { waitMs: 0 });
      return answer(own ?? { status: 401, body: { error: 'invalid or expired credential' } }, 'unauthorized');
    }
    if (cfg.failureShare > 0 && random() < cfg.failureShare) {
      return answer({ status: cfg.failureStatus, body: { error: 'the service is temporarily unavailable' } }, 'failure');
    }
    if (cfg.refuseCreates !== null && (m.module.isCreate ?? isPost)(sreq)) {
      return answer({ status: cfg.refuseCreates.status, body: { error: cfg.refuseCreates.words } }, 'refused');
    }
    let reply: SandboxReply;
    try {
      reply = await m.module.handle(sreq, m.ctx);
    } catch (err) {
      return answer({ status: 500, body: { error: `sandbox module failed: ${err instanceof Error ? err.message : String(err)}` } }, 'failure');
    }
    const drift = drifted(m, reply, sreq);
    return drift ? answer(drift, 'drift') : answer(reply, 'answered');
  };

  const serveControl = async (req: IncomingMessage, parts: string[], query: URLSearchParams): Promise<SandboxReply> => {
    const [name, action] = parts;
    const method = req.method ?? 'GET';
    if (name === undefined || name === '') return method === 'GET' ? json(200, { modules: control.modules() }) : json(405, { error: 'GET only' });
    if (!mounted.has(name)) return json(404, { error: `no sandbox module "${name}"`, modules: control.modules() });
    const route = `${method} ${action ?? ''}`;
    switch (route) {
      case 'GET config':
        return json(200, control.config(name));
      case 'POST config': {
        const text = await readBody(req);
        let input: unknown;
        try {
          input = JSON.parse(text);
        } catch {
          return json(400, { error: 'the config must be a JSON object', problems: ['(root): body is not JSON'] });
        }
        return json(200, control.configure(name, input as SandboxConfigInput));
      }
      case 'GET calls': {
        const since = query.get('since');
        const n = since === null ? 0 : Number(since);
        if (!Number.isInteger(n) || n < 0) return json(400, { error: 'since must be a non-negative integer' });
        return json(200, { calls: control.calls(name, n) });
      }
      case 'GET stats':
        return json(200, control.stats(name));
      case 'GET state':
        return json(200, control.state(name));
      case 'POST reset':
        control.reset(name);
        return { status: 204 };
      default:
        return json(404, { error: `no control route ${route.trim()} (config, calls, stats, state, reset)` });
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname, query } = parseQuery(req);
    const parts = pathname.split('/').slice(1);
    const prefix = parts[0] ?? '';
    if (prefix === CONTROL_PREFIX) {
      try {
        send(res, await serveControl(req, parts.slice(1), query));
      } catch (err) {
        if (err instanceof SandboxConfigError) send(res, json(400, { error: err.message, problems: err.problems }));
        else throw err;
      }
      return;
    }
    const m = mounted.get(prefix);
    if (!m) {
      if (prefix === '' && req.method === 'GET') return send(res, json(200, { modules: control.modules() }));
      return send(res, json(404, { error: `no sandbox module at /${prefix}`, modules: control.modules() }));
    }
    const below = '/' + parts.slice(1).join('/');
    await serveModule(m, req, res, below, query);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      send(res, json(500, { error: `sandbox failed: ${err instanceof Error ? err.message : String(err)}` }));
    });
  });
  // Longer than any client's idle keep-alive, so a client never reuses a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);

  return {
    url: `http://${host}:${port}`,
    port,
    control,
    async stop() {
      for (const timer of hangs) clearTimeout(timer);
      hangs.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
