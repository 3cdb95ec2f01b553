import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { Clock } from '../../functions/clock.js';

/**
 * The vendor sandbox hosts one module per vendor API under a path prefix (`{url}/{module.name}`).
 * The server does everything that is the same for every vendor (latency, 5xx share, hangs, connection
 * resets, rate limiting with 429 + Retry-After, the credential check, HTML and truncated bodies, the call
 * record); a module only speaks its vendor's contract: paths, bodies, status words over time, and the two
 * drift modes that depend on the contract (a renamed field, an unknown status word).
 */

/** Contract drift modes: how a vendor's answer can break the shape it documents. */
export const DRIFT_MODES = ['rename_field', 'unknown_status', 'html', 'truncated'] as const;
export type DriftMode = (typeof DRIFT_MODES)[number];
/** The drift modes a module applies itself (the server does `html` and `truncated`). */
export type ModuleDriftMode = Extract<DriftMode, 'rename_field' | 'unknown_status'>;

const share = z.number().min(0).max(1);
const ms = z.number().int().min(0);

/**
 * The settings every module has, set at start (`startSandbox({ vendors: { http: {...} } })`) and at run
 * time (`POST {url}/_sandbox/{module}/config` with a partial object, or `control.configure`).
 */
export const SandboxConfigSchema = z.strictObject({
  /** Added before every answer (fault answers included). */
  latencyMs: ms.default(0),
  /** A uniformly random extra 0..latencyJitterMs. */
  latencyJitterMs: ms.default(0),
  /** How a new operation moves on, measured on the sandbox clock from its creation. */
  lifecycle: z
    .strictObject({
      /** pending → in_progress after this long. */
      inProgressAfterMs: ms.default(1_000),
      /** in_progress → complete (or failed) after this long (from creation; at least inProgressAfterMs). */
      completeAfterMs: ms.default(5_000),
      /** Share of new operations that end `failed` instead of complete. */
      failureShare: share.default(0),
    })
    .prefault({}),
  /** Share of requests answered with `failureStatus` (a vendor outage). */
  failureShare: share.default(0),
  failureStatus: z.number().int().min(500).max(599).default(503),
  /** Share of requests that hang for `hangMs` and then lose their connection (past the client's timeout). */
  timeoutShare: share.default(0),
  hangMs: ms.default(30_000),
  /** Share of requests whose connection is reset without an answer. */
  resetShare: share.default(0),
  /**
   * At most `requests` accepted in any window of `perMs` (a sliding window). Others get 429 with
   * Retry-After (whole seconds until a slot frees) and are counted in `stats.rateLimitExceeded`.
   */
  rateLimit: z
    .strictObject({ requests: z.number().int().min(1), perMs: z.number().int().min(1).default(1_000) })
    .nullable()
    .default(null),
  /** The credential clients must present (a bearer token unless the module says otherwise); null: none. */
  credential: z.string().min(1).nullable().default(null),
  /** Answer 401 to every request, even with the right credential (an expired or revoked key). */
  rejectCredentials: z.boolean().default(false),
  /**
   * Refuse every create call with this 4xx and these words in `{ error }` (an identity type the account does
   * not support, a project setting): the vendor says no the same way every time. null: off.
   */
  refuseCreates: z
    .strictObject({ status: z.number().int().min(400).max(499).default(400), words: z.string().min(1).max(2000) })
    .nullable()
    .default(null),
  /** Contract drift applied to successful answers; null: none. */
  drift: z.enum(DRIFT_MODES).nullable().default(null),
  /** Share of successful answers the drift applies to. */
  driftShare: share.default(1),
  /** Calls kept in the record (most recent); counters are kept for every call regardless. */
  recordLimit: z.number().int().min(0).default(10_000),
  /** Module-specific settings, validated by the module's `optionsSchema`. */
  options: z.record(z.string(), z.unknown()).default({}),
});
export type SandboxConfig = z.infer<typeof SandboxConfigSchema>;
/** What callers pass: any subset, nested objects merged one level deep. */
export type SandboxConfigInput = z.input<typeof SandboxConfigSchema>;

/** Faults the server detects before a module answers, which a module may answer in its vendor's words. */
export type SandboxFault = 'rate_limited' | 'unauthorized';

/** One request as a module sees it. */
export interface SandboxRequest {
  method: string;
  /** The path below the module's prefix, starting with `/`, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body ('' when none). */
  text: string;
  /** The body parsed as JSON; undefined when empty or not JSON (see `jsonError`). */
  json: unknown;
  /** Why the body is not JSON, when it is not empty and does not parse. */
  jsonError?: string;
}

/** One answer. `body` is sent as JSON; `text` is sent as is (with `contentType`). */
export interface SandboxReply {
  status: number;
  body?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** What the server lends a module while it handles a request. */
export interface SandboxContext {
  /** The sandbox clock: every lifecycle time is measured on it (a benchmark may pass a virtual clock). */
  clock: Clock;
  /** The sandbox's seeded random source, in [0, 1). */
  random(): number;
  /** The module's current settings; `config.options` already passed the module's `optionsSchema`. */
  config: Readonly<SandboxConfig>;
  /** Counts a request that broke a limit the module enforces itself (a daily quota, a batch limit). */
  countExceeded(limit: string): void;
}

/** A vendor API as the sandbox hosts it. One instance per sandbox; it keeps its own operations. */
export interface SandboxModule {
  /** The path prefix (`http`, `segment`, …): letters, digits, `-` and `_`. */
  readonly name: string;
  /** Validates `config.options`; errors come back to the caller of the control API as 400. */
  readonly optionsSchema?: z.ZodType<Record<string, unknown>>;
  /**
   * Whether the request carries `credential`. Default: `Authorization: Bearer <credential>`. Modules whose
   * vendor uses Basic auth or a query token check that instead.
   */
  authorize?(req: SandboxRequest, credential: string): boolean;
  /** Whether the request creates a deletion (what `refuseCreates` refuses). Default: every POST. */
  isCreate?(req: SandboxRequest): boolean;
  /** Whether the request counts against `config.rateLimit`. Default: every request. */
  rateLimited?(req: SandboxRequest): boolean;
  /** Answers one request that passed the faults, the rate limit and the credential check. */
  handle(req: SandboxRequest, ctx: SandboxContext): SandboxReply | Promise<SandboxReply>;
  /**
   * The vendor's own answer to a fault the server detects (its rate limit passed, a rejected credential), as its
   * documents show it; undefined for the server's generic answer (429 with Retry-After, 401 with a JSON error).
   * `waitMs` is how long until the rate limit admits a request again.
   */
  faultReply?(fault: SandboxFault, ctx: SandboxContext, detail: { waitMs: number }): SandboxReply | undefined;
  /** Applies a contract-dependent drift to a successful answer (e.g. renames the id field). */
  drift(mode: ModuleDriftMode, reply: SandboxReply, req: SandboxRequest): SandboxReply;
  /** Forgets every operation. */
  reset(): void;
  /** A small JSON summary of the module's state (operation counts by status, …). */
  describe?(ctx: SandboxContext): unknown;
}

/** One call as the sandbox recorded it (no headers: they carry credentials). */
export interface RecordedCall {
  /** Sequence number within the module, from 1; survives the record's trimming, cleared by reset. */
  seq: number;
  method: string;
  /** Below the module prefix, without the query string. */
  path: string;
  /** The parsed JSON body, or the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** The status answered; 0 for a reset or a hang that lost its connection. */
  status: number;
  /** What the server did: answered by the module, or which fault or limit answered instead. */
  outcome: CallOutcome;
  /** Sandbox clock time of arrival, ISO-8601. */
  at: string;
}

export const CALL_OUTCOMES = ['answered', 'drift', 'rate_limited', 'unauthorized', 'refused', 'failure', 'timeout', 'reset'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Counters kept for every call, however long the sandbox runs. */
export interface SandboxStats {
  requests: number;
  byStatus: Record<string, number>;
  byOutcome: Record<CallOutcome, number>;
  /** Requests that arrived while the rate limit was full (answered 429). */
  rateLimitExceeded: number;
  /** Requests that broke limits the module enforces itself, by limit name. */
  moduleLimitsExceeded: Record<string, number>;
  /** The most requests accepted within one rate-limit window so far (0 when no limit is set). */
  peakWindowRequests: number;
}

/** The control surface, the same programmatically as over HTTP (`{url}/_sandbox/{module}/…`). */
export interface SandboxControl {
  /** Names of the mounted modules. */
  modules(): string[];
  /** Merges a partial config (nested objects one level deep) and returns the result; throws on bad input. */
  configure(module: string, config: SandboxConfigInput): SandboxConfig;
  config(module: string): SandboxConfig;
  /** The recorded calls, oldest first; `since` keeps calls with seq > since. */
  calls(module: string, since?: number): RecordedCall[];
  stats(module: string): SandboxStats;
  /** The module's own summary (see SandboxModule.describe). */
  state(module: string): unknown;
  /** Forgets operations, calls and counters, and puts the config back to what it was at start. */
  reset(module: string): void;
}

/** A module to mount: an instance, or a built-in by name with its starting config. */
export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 or absent: a free one. */
  port?: number;
  host?: string;
  clock?: Clock;
  /** Seed of the random source behind every share (failure, timeout, drift, …); fixed for reproducible runs. */
  seed?: number;
  /**
   * Modules to mount with their starting config, by name: built-ins (see modules.ts) are created by name,
   * others are given as `{ module, config }`. Default: `{ http: {} }`.
   */
  vendors?: Record<string, SandboxConfigInput | { module: SandboxModule; config?: SandboxConfigInput }>;
  /** How latency is waited out; defaults to real timers (a benchmark on a virtual clock may pass its own). */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunningSandbox {
  /** `http://127.0.0.1:PORT`; a module is at `${url}/${name}`. */
  url: string;
  port: number;
  control: SandboxControl;
  /** Closes the server, ends hanging requests and open connections. */
  stop(): Promise<void>;
}
