import { z } from 'zod';
import { DAY } from '../../../functions/clock.js';
import { bodyOf, fixture } from '../../../test/fixtures/vendors/contract.js';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import type { OpenDsrProcessor } from '../opendsr/processor.js';
import { createCallbackNotifier, isProcessorDocument, type CallbackNotifier } from './opendsrCallbacks.js';
import { basicCredential, json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word neither processor documents, for the `unknown_status` drift. */
export const OPENDSR_UNKNOWN_STATUS = 'on_hold';

const Forwarding = z.strictObject({
  domain: z.string().min(1),
  name: z.string().min(1),
  status: z.enum(['pending', 'skipped', 'sent', 'failed']),
  status_message: z.string().default(''),
});

const OptionsSchema = z.strictObject({
  /** New requests (POST) accepted per sandbox day; past it 429 and a counted `daily_quota` violation. */
  dailyQuota: z.number().int().min(1).nullable().default(null),
  /** mParticle: times with an offset (`…Z`, the v3 page) or without one (the v2 page's examples). */
  timestamps: z.enum(['offset', 'no-offset']).default('offset'),
  /** mParticle: the per-partner forwarding a completed request reports in `extensions` (none: null). */
  forwarding: z.array(Forwarding).default([]),
  /** AppsFlyer: its OpenAPI file's words and fields (in-progress, canceled) or the OpenDSR specification's. */
  spelling: z.enum(['appsflyer', 'opendsr']).default('appsflyer'),
  /**
   * The `expected_completion_time` reported, in days after the request was received, whatever the lifecycle (a
   * processor announcing a date past the legal deadline); null: the lifecycle's own end.
   */
  expectedCompletionAfterDays: z.number().min(0).nullable().default(null),
});
type Options = z.infer<typeof OptionsSchema>;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const Time = z.iso.datetime({ offset: true });

/** mParticle's identity keys (DSR API v3, Supported Identity Types), top level and in its extension. */
const MPARTICLE_IDENTITIES = [
  'controller_customer_id',
  'email',
  'android_advertising_id',
  'android_id',
  'fire_advertising_id',
  'ios_advertising_id',
  'ios_vendor_id',
  'microsoft_advertising_id',
  'microsoft_publisher_id',
  'roku_advertising_id',
  'roku_publishing_id',
  'roku_publisher_id',
] as const;
const MPARTICLE_EXTENSION_IDENTITIES = ['mpid', 'other', ...Array.from({ length: 9 }, (_, i) => `other${i + 2}`), 'mobile_number', 'phone_number_2', 'phone_number_3'];
const MParticleIdentity = z.strictObject({ value: z.string().min(1), encoding: z.literal('raw') });
const MParticleBody = z
  .object({
    regulation: z.enum(['gdpr', 'ccpa']),
    subject_request_id: z.string().regex(UUID_V4, 'must be a UUID v4'),
    subject_request_type: z.enum(['erasure', 'access', 'portability']),
    submitted_time: Time,
    subject_identities: z.partialRecord(z.enum(MPARTICLE_IDENTITIES), MParticleIdentity).optional(),
    api_version: z.literal('3.0').optional(),
    status_callback_urls: z.array(z.url()).optional(),
    group_id: z.string().min(1).optional(),
    extensions: z
      .object({
        'opendsr.mparticle.com': z
          .object({
            skip_waiting_period: z.boolean().optional(),
            subject_identities: z.record(z.string().refine((k) => MPARTICLE_EXTENSION_IDENTITIES.includes(k), 'not an mParticle extension identity'), MParticleIdentity).optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .refine((b) => Object.keys(b.subject_identities ?? {}).length + Object.keys(b.extensions?.['opendsr.mparticle.com']?.subject_identities ?? {}).length > 0, 'no identity');

/** AppsFlyer's Request (OpenDSR API OpenAPI); `regulation` (OpenDSR 2.0, not in AppsFlyer's schema) is tolerated. */
const APPSFLYER_IDENTITIES = ['ios_advertising_id', 'android_advertising_id', 'fire_advertising_id', 'microsoft_advertising_id', 'appsflyer_id', 'customer_user_id', 'idfv'] as const;

interface SubjectRequest {
  id: string;
  /** Identities and type, to find another open request for the same subject (mParticle 409, AppsFlyer e215). */
  key: string;
  groupId: string | null;
  times: Timetable;
  cancelled: boolean;
  /** When it was cancelled (sandbox clock), for its callback. */
  cancelledAt?: number;
}

/** The documented answers the modules replay (test/fixtures/vendors/mparticle and appsflyer). */
const MP = {
  create: fixture('mparticle', 'create-v3.json'),
  status: fixture('mparticle', 'status-v3-pending.json'),
  cancel: fixture('mparticle', 'cancel-v3.json'),
  duplicate: fixture('mparticle', 'error-400-already-exists.json'),
  discovery: fixture('opendsr', 'discovery-mparticle-v3.json'),
};
const AF = {
  create: fixture('appsflyer', 'create-openapi.json'),
  status: fixture('appsflyer', 'status-openapi-pending.json'),
  statusSpec: fixture('appsflyer', 'status-opendsr-spec-in-progress.json'),
  cancel: fixture('appsflyer', 'cancel-openapi.json'),
  discovery: fixture('appsflyer', 'discovery-openapi.json'),
  stubDiscovery: fixture('appsflyer', 'discovery-openapi-stub.json'),
  stubCreate: fixture('appsflyer', 'create-openapi-stub.json'),
  stubStatus: fixture('appsflyer', 'status-openapi-stub-pending.json'),
  stubCancel: fixture('appsflyer', 'cancel-openapi-stub.json'),
};

/** The endpoints beside the deletion API that a flavour answers (discovery, AppsFlyer's stub mode). */
type Extra = (req: SandboxRequest, ctx: SandboxContext, stubs: Map<string, SubjectRequest>) => SandboxReply | undefined;

/** mParticle's discovery document (`GET /v3/discovery/`), replayed. */
const mparticleExtra: Extra = (req) => (req.method === 'GET' && /^\/v3\/discovery\/?$/.test(req.path) ? json(200, bodyOf(MP.discovery)) : undefined);

/**
 * AppsFlyer's discovery documents and its stub endpoints (`/api/gdpr/v1/stub…`, "processes the payload in stub
 * mode"): a stub request is validated like a real one, answers the documented CreateResponse, stays pending,
 * and can be cancelled (202) once; an unknown stub id is e214.
 */
const appsflyerExtra: Extra = (req, ctx, stubs) => {
  if (req.method === 'GET' && req.path === '/api/gdpr/v1/discovery') return json(200, bodyOf(AF.discovery));
  if (req.method === 'GET' && req.path === '/api/gdpr/v1/stub/discovery') return json(200, bodyOf(AF.stubDiscovery));
  const now = ctx.clock.now().getTime();
  if (/^\/api\/gdpr\/v1\/stub\/?$/.test(req.path) && req.method === 'POST') {
    const valid = APPSFLYER.validate(req);
    if (!valid.ok) return valid.reply;
    if (stubs.has(valid.id)) return appsflyerError('e213', 'Request already exists');
    const r: SubjectRequest = { id: valid.id, key: valid.key, groupId: null, times: { createdAt: now, inProgressAt: Infinity, endAt: Infinity, fails: false }, cancelled: false };
    stubs.set(r.id, r);
    return json(AF.stubCreate.response.status, {
      ...bodyOf<Record<string, unknown>>(AF.stubCreate),
      subject_request_id: r.id,
      original_request_id: r.id,
      expected_completion_time: new Date(now + 30 * DAY).toISOString(),
      received_time: new Date(now).toISOString(),
      encoded_request: Buffer.from(r.id).toString('base64'),
    });
  }
  const one = /^\/api\/gdpr\/v1\/stub\/([^/]+)\/?$/.exec(req.path);
  if (!one || one[1] === 'discovery' || one[1] === 'certificate' || one[1] === 'batch') return undefined;
  const r = stubs.get(decodeURIComponent(one[1]!).toLowerCase());
  if (!r) return appsflyerError('e214', 'Request not found', req.method !== 'DELETE');
  if (req.method === 'GET') {
    return json(200, { ...bodyOf<Record<string, unknown>>(AF.stubStatus), subject_request_id: r.id, request_status: r.cancelled ? 'canceled' : 'pending' });
  }
  if (req.method === 'DELETE') {
    if (r.cancelled) return appsflyerError('e211', 'Unable to cancel request with invalid status', false);
    r.cancelled = true;
    return { status: AF.stubCancel.response.status, text: String(AF.stubCancel.response.body ?? ''), contentType: 'text/plain' };
  }
  return undefined;
};

/** mParticle's documented error body (`{ code, message, errors: [{ domain, reason, message }] }`) with this message. */
function mparticleError(status: number, message: string): SandboxReply {
  const body = bodyOf<{ code: number; message: string; errors: { message: string }[] }>(MP.duplicate);
  return json(status, { ...body, code: status, message, errors: [{ ...body.errors[0], message }] });
}

/** AppsFlyer's documented 400: APIErrorWrapper (create, status) or bare APIErrorData (cancel). */
const appsflyerError = (code: string, message: string, wrapped = true): SandboxReply => {
  const data = { code: 400, message, af_gdpr_code: code };
  return json(400, wrapped ? { error: data } : data);
};

type Word = 'pending' | 'in_progress' | 'completed' | 'cancelled';

function statusOf(r: SubjectRequest, now: number): Word {
  if (r.cancelled) return 'cancelled';
  const phase = phaseAt(r.times, now);
  return phase === 'waiting' ? 'pending' : phase === 'running' ? 'in_progress' : 'completed';
}

/** How the two processors differ: paths, authentication, bodies and their error words. */
interface Flavour {
  create: RegExp;
  one: RegExp;
  list?: RegExp;
  basic: boolean;
  validate(req: SandboxRequest): { ok: true; id: string; key: string; groupId: string | null; callbackUrls: string[] } | { ok: false; reply: SandboxReply };
  created(r: SubjectRequest, now: number, options: Options): SandboxReply;
  status(r: SubjectRequest, now: number, options: Options): unknown;
  cancelled(r: SubjectRequest, now: number, options: Options): SandboxReply;
  duplicate(): SandboxReply;
  openElsewhere(): SandboxReply;
  notFound(method: string): SandboxReply;
  cannotCancel(word: Word): SandboxReply;
  faultReply?: SandboxModule['faultReply'];
}
const EXTRAS: Record<'mparticle' | 'appsflyer', Extra> = { mparticle: mparticleExtra, appsflyer: appsflyerExtra };

/** The expected completion a request reports: its lifecycle's end, or the configured announcement. */
const expectedEnd = (r: SubjectRequest, options: Options) =>
  options.expectedCompletionAfterDays === null ? r.times.endAt : r.times.createdAt + options.expectedCompletionAfterDays * DAY;

const iso = (ms: number, options: Options) => {
  const text = new Date(ms).toISOString();
  return options.timestamps === 'no-offset' ? text.slice(0, -1) : text;
};

const MPARTICLE: Flavour = {
  create: /^\/v3\/requests\/?$/,
  one: /^\/v3\/requests\/([^/]+)\/?$/,
  list: /^\/v3\/requests\/?$/,
  basic: true,
  validate(req) {
    const parsed = MParticleBody.safeParse(req.json);
    if (!parsed.success) return { ok: false, reply: mparticleError(400, 'Invalid data was detected') };
    const b = parsed.data;
    const key = JSON.stringify([b.subject_request_type, b.subject_identities ?? {}, b.extensions?.['opendsr.mparticle.com']?.subject_identities ?? {}]);
    return { ok: true, id: b.subject_request_id.toLowerCase(), key, groupId: b.group_id ?? null, callbackUrls: b.status_callback_urls ?? [] };
  },
  created(r, now, options) {
    const body = bodyOf<Record<string, unknown>>(MP.create);
    return {
      status: MP.create.response.status,
      headers: { 'x-opendsr-processor-domain': 'opendsr.mparticle.com', 'x-opendsr-signature': MP.create.response.headers?.['X-OpenDSR-Signature'] ?? '' },
      body: {
        ...body,
        expected_completion_time: iso(expectedEnd(r, options), options),
        received_time: iso(now, options),
        encoded_request: Buffer.from(r.id).toString('base64'),
        subject_request_id: r.id,
      },
    };
  },
  status(r, now, options) {
    const word = statusOf(r, now);
    const partners = word === 'completed' && options.forwarding.length > 0 ? options.forwarding : null;
    return {
      ...bodyOf<Record<string, unknown>>(MP.status),
      expected_completion_time: word === 'cancelled' ? null : iso(expectedEnd(r, options), options),
      subject_request_id: r.id,
      group_id: r.groupId,
      request_status: word,
      extensions: partners,
    };
  },
  cancelled(r, now, options) {
    return json(MP.cancel.response.status, { ...bodyOf<Record<string, unknown>>(MP.cancel), received_time: iso(now, options), subject_request_id: r.id });
  },
  duplicate: () => json(400, bodyOf(MP.duplicate)),
  openElsewhere: () => ({ status: 409 }),
  notFound: () => ({ status: 404 }),
  cannotCancel: (word) => mparticleError(400, `only pending requests can be cancelled; this one is ${word}`),
  faultReply(fault, _ctx, { waitMs }) {
    return fault === 'rate_limited' ? { status: 429, headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } } : { status: 401 };
  },
};

const APPSFLYER: Flavour = {
  create: /^\/api\/gdpr\/v1\/opendsr_requests\/?$/,
  one: /^\/api\/gdpr\/v1\/opendsr_requests\/([^/]+)\/?$/,
  basic: false,
  validate(req) {
    const b = req.json as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object') return { ok: false, reply: appsflyerError('e326', 'Invalid JSON format in request body') };
    if (typeof b['api_version'] !== 'string') return { ok: false, reply: appsflyerError('e312', 'Invalid API version') };
    if (typeof b['subject_request_id'] !== 'string' || !UUID_V4.test(b['subject_request_id'])) return { ok: false, reply: appsflyerError('e313', 'Invalid subject_request_id') };
    if (!Time.safeParse(b['submitted_time']).success) return { ok: false, reply: appsflyerError('e314', 'Invalid submitted_time format') };
    if (!['access', 'portability', 'rectification', 'erasure'].includes(String(b['subject_request_type']))) return { ok: false, reply: appsflyerError('e322', 'Invalid subject_request_type') };
    const identities = z
      .array(z.strictObject({ identity_type: z.string(), identity_value: z.string().min(1), identity_format: z.literal('raw') }))
      .min(1)
      .safeParse(b['subject_identities']);
    if (!identities.success) return { ok: false, reply: appsflyerError('e323', 'Invalid subject_identities format') };
    if (!identities.data.every((i) => (APPSFLYER_IDENTITIES as readonly string[]).includes(i.identity_type))) return { ok: false, reply: appsflyerError('e318', 'Invalid identity_type') };
    if (typeof b['property_id'] !== 'string' || b['property_id'] === '' || typeof b['platform'] !== 'string') return { ok: false, reply: appsflyerError('e317', 'Invalid app_id format') };
    const key = JSON.stringify([b['subject_request_type'], b['property_id'], identities.data]);
    const urls = z.array(z.url()).safeParse(b['status_callback_urls'] ?? []);
    if (!urls.success) return { ok: false, reply: appsflyerError('e326', 'Invalid status_callback_urls') };
    return { ok: true, id: b['subject_request_id'].toLowerCase(), key, groupId: null, callbackUrls: urls.data };
  },
  created(r, now, options) {
    return json(AF.create.response.status, {
      ...bodyOf<Record<string, unknown>>(AF.create),
      subject_request_id: r.id,
      original_request_id: r.id,
      expected_completion_time: new Date(expectedEnd(r, options)).toISOString(),
      received_time: new Date(now).toISOString(),
      encoded_request: Buffer.from(r.id).toString('base64'),
    });
  },
  status(r, now, options) {
    const word = statusOf(r, now);
    const spelled = options.spelling === 'opendsr' ? word : word === 'in_progress' ? 'in-progress' : word === 'cancelled' ? 'canceled' : word;
    const template = options.spelling === 'opendsr' ? AF.statusSpec : AF.status;
    return { ...bodyOf<Record<string, unknown>>(template), subject_request_id: r.id, expected_completion_time: new Date(expectedEnd(r, options)).toISOString(), request_status: spelled };
  },
  cancelled: () => ({ status: AF.cancel.response.status, text: String(AF.cancel.response.body ?? ''), contentType: 'text/plain' }),
  duplicate: () => appsflyerError('e213', 'Request already exists'),
  openElsewhere: () => appsflyerError('e215', 'One or more subject-identities already exist in an open request'),
  notFound: (method) => appsflyerError('e214', 'Request not found', method !== 'DELETE'),
  cannotCancel: () => appsflyerError('e211', 'Unable to cancel request with invalid status', false),
};

const FLAVOURS = { mparticle: MPARTICLE, appsflyer: APPSFLYER } as const;

/**
 * An OpenDSR processor (vendors.md A4–A6), replaying each one's documented answers: mParticle (`/v3/requests/`,
 * Basic key:secret) or AppsFlyer (`/api/gdpr/v1/opendsr_requests`, Bearer). Create with a controller-generated
 * UUID v4 → 201; the same id again → mParticle 400 "Subject request already exists" / AppsFlyer 400 e213; an
 * open request for the same identities → mParticle 409 / AppsFlyer e215; GET by id → pending → in_progress →
 * completed (AppsFlyer spells in-progress, canceled unless `spelling: opendsr`; the spec has no failed state,
 * so the lifecycle's failure share is not used; mParticle reports `forwarding` in extensions once completed);
 * mParticle's `GET /v3/requests?group_id=` lists a group; DELETE while pending → 202, later mParticle 400 /
 * AppsFlyer e211; unknown id → mParticle 404 / AppsFlyer e214. `dailyQuota` caps new requests per day
 * (mParticle: 80,000) and counts violations; every call counts against the rate limit (1000/min). Beside the
 * deletion API: mParticle's discovery document, AppsFlyer's two discovery documents and its stub endpoints.
 */
export function createOpenDsrSandbox(flavour: keyof typeof FLAVOURS, callbackOptions: { processor?: OpenDsrProcessor; tickMs?: number } = {}): SandboxModule {
  const f = FLAVOURS[flavour];
  let notifier: CallbackNotifier | undefined;
  /** With a processor: discovery names its certificate, and requests asking for callbacks get them (opendsrCallbacks.ts). */
  const callbacks = (ctx: SandboxContext): CallbackNotifier | undefined => {
    if (!callbackOptions.processor) return undefined;
    notifier ??= createCallbackNotifier({ flavour, processor: callbackOptions.processor, clock: ctx.clock, ...(callbackOptions.tickMs ? { tickMs: callbackOptions.tickMs } : {}) });
    return notifier;
  };
  const extra = EXTRAS[flavour];
  const requests = new Map<string, SubjectRequest>();
  const stubs = new Map<string, SubjectRequest>();
  const createdPerDay = new Map<string, number>();
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };

  const create = (req: SandboxRequest, ctx: SandboxContext): SandboxReply => {
    const valid = f.validate(req);
    if (!valid.ok) return valid.reply;
    if (requests.has(valid.id)) return f.duplicate();
    const now = ctx.clock.now().getTime();
    const open = [...requests.values()].some((r) => r.key === valid.key && (statusOf(r, now) === 'pending' || statusOf(r, now) === 'in_progress'));
    if (open) return f.openElsewhere();
    const options = optionsOf(ctx);
    const day = new Date(now).toISOString().slice(0, 10);
    const today = createdPerDay.get(day) ?? 0;
    if (options.dailyQuota !== null && today >= options.dailyQuota) {
      ctx.countExceeded('daily_quota');
      const retry = Math.ceil((Date.parse(`${day}T00:00:00Z`) + DAY - now) / 1000);
      return { status: 429, headers: { 'retry-after': String(Math.max(1, retry)) } };
    }
    createdPerDay.set(day, today + 1);
    const r: SubjectRequest = { id: valid.id, key: valid.key, groupId: valid.groupId, times: newTimetable(ctx), cancelled: false };
    requests.set(r.id, r);
    const notify = callbacks(ctx);
    if (notify && valid.callbackUrls.length > 0) {
      notify.watch(r.id, valid.callbackUrls, () => {
        const at = ctx.clock.now().getTime();
        const status = statusOf(r, at);
        const since = status === 'cancelled' ? (r.cancelledAt ?? at) : status === 'completed' ? r.times.endAt : status === 'in_progress' ? r.times.inProgressAt : r.times.createdAt;
        const controllerId = String((f.status(r, at, optionsOf(ctx)) as Record<string, unknown>)['controller_id'] ?? 'consent-erasure');
        return { status, since, expectedAt: status === 'cancelled' ? null : r.times.endAt, controllerId };
      });
    }
    return f.created(r, now, options);
  };

  return {
    name: flavour,
    optionsSchema: OptionsSchema,
    ...(f.basic || callbackOptions.processor
      ? {
          // A processor's discovery document and certificate are public; everything else needs the credential.
          authorize: (req: SandboxRequest, credential: string) =>
            (callbackOptions.processor !== undefined && isProcessorDocument(flavour, req)) ||
            (f.basic ? basicCredential(req.headers.authorization) === credential : req.headers.authorization === `Bearer ${credential}`),
        }
      : {}),
    ...(f.faultReply ? { faultReply: f.faultReply } : {}),

    handle(req, ctx) {
      const now = ctx.clock.now().getTime();
      const options = optionsOf(ctx);
      const processorSide = callbacks(ctx)?.serve(req);
      if (processorSide) return processorSide;
      const beside = extra(req, ctx, stubs);
      if (beside) return beside;
      if (f.create.test(req.path) && req.method === 'POST') return create(req, ctx);
      if (f.list?.test(req.path) && req.method === 'GET') {
        const group = req.query.get('group_id');
        if (!group) return mparticleError(400, 'Invalid data was detected');
        return json(200, [...requests.values()].filter((r) => r.groupId === group).map((r) => f.status(r, now, options)));
      }
      const match = f.one.exec(req.path);
      if (!match) return f.notFound(req.method);
      const id = decodeURIComponent(match[1]!).toLowerCase();
      const r = requests.get(id);
      if (!r) return f.notFound(req.method);
      if (req.method === 'GET') return json(200, f.status(r, now, options));
      if (req.method === 'DELETE') {
        const status = statusOf(r, now);
        if (status !== 'pending') return f.cannotCancel(status);
        r.cancelled = true;
        r.cancelledAt = now;
        return f.cancelled(r, now, options);
      }
      return f.notFound(req.method);
    },

    drift(mode: ModuleDriftMode, reply) {
      if (!reply.body || typeof reply.body !== 'object' || Array.isArray(reply.body)) return reply;
      const body = { ...(reply.body as Record<string, unknown>) };
      if (mode === 'unknown_status') {
        if ('request_status' in body) body['request_status'] = OPENDSR_UNKNOWN_STATUS;
      } else if ('request_status' in body) {
        body['status'] = body['request_status'];
        delete body['request_status'];
      } else {
        body['subjectRequestId'] = body['subject_request_id'];
        delete body['subject_request_id'];
      }
      return { ...reply, body };
    },

    reset() {
      notifier?.reset();
      requests.clear();
      stubs.clear();
      createdPerDay.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = {};
      for (const r of requests.values()) {
        const s = statusOf(r, now);
        byStatus[s] = (byStatus[s] ?? 0) + 1;
      }
      return { requests: requests.size, byStatus, ...(notifier ? { callbacks: notifier.sent() } : {}) };
    },
  };
}
