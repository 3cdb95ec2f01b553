import { z } from 'zod';
import { DAY } from '../../../functions/clock.js';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import { basicCredential, json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word the OpenDSR spec never documents, for the `unknown_status` drift. */
export const OPENDSR_UNKNOWN_STATUS = 'on_hold';

const OptionsSchema = z.strictObject({
  /** New requests (POST) accepted per sandbox day; past it 429 and a counted `daily_quota` violation. */
  dailyQuota: z.number().int().min(1).nullable().default(null),
});
type Options = z.infer<typeof OptionsSchema>;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const MParticleBody = z.object({
  regulation: z.enum(['gdpr', 'ccpa']),
  subject_request_id: z.string().regex(UUID_V4, 'must be a UUID v4'),
  subject_request_type: z.enum(['erasure', 'access', 'portability']),
  submitted_time: z.iso.datetime({ offset: true }),
  subject_identities: z.record(z.string(), z.object({ value: z.string().min(1), encoding: z.enum(['raw', 'sha1', 'md5', 'sha256']) })),
  api_version: z.string().optional(),
});

const AppsFlyerBody = z.object({
  subject_request_id: z.string().regex(UUID_V4, 'must be a UUID v4'),
  subject_request_type: z.enum(['erasure', 'access', 'portability']),
  submitted_time: z.iso.datetime({ offset: true }),
  subject_identities: z
    .array(z.object({ identity_type: z.string().min(1), identity_value: z.string().min(1), identity_format: z.string().min(1) }))
    .min(1),
  property_id: z.string().min(1),
  platform: z.string().min(1),
});

interface SubjectRequest {
  id: string;
  times: Timetable;
  cancelled: boolean;
}

/** How the two OpenDSR processors differ: their paths and their authentication. */
const FLAVOURS = {
  mparticle: { create: /^\/v3\/requests\/?$/, one: /^\/v3\/requests\/([^/]+)\/?$/, body: MParticleBody, basic: true, domain: 'opendsr.mparticle.com' },
  appsflyer: {
    create: /^\/api\/gdpr\/v1\/opendsr_requests\/?$/,
    one: /^\/api\/gdpr\/v1\/opendsr_requests\/([^/]+)\/?$/,
    body: AppsFlyerBody,
    basic: false,
    domain: 'hq1.appsflyer.com',
  },
} as const;

function statusOf(r: SubjectRequest, now: number): 'pending' | 'in_progress' | 'completed' | 'cancelled' {
  if (r.cancelled) return 'cancelled';
  const phase = phaseAt(r.times, now);
  return phase === 'waiting' ? 'pending' : phase === 'running' ? 'in_progress' : 'completed';
}

/**
 * An OpenDSR processor (vendors.md A4–A6): mParticle (`/v3/requests/`, Basic key:secret) or AppsFlyer
 * (`/api/gdpr/v1/opendsr_requests`, Bearer). Create with a controller-generated UUID v4 → 201 with
 * expected_completion_time; the same id again → 400 "Subject request already exists"; GET by id →
 * pending → in_progress → completed (the spec has no failed state, so the lifecycle's failure share is
 * not used); DELETE while pending → 202, later 400; unknown id → 404. `dailyQuota` caps new requests per
 * day (mParticle: 80,000) and counts violations; every call counts against the rate limit (1000/min).
 */
export function createOpenDsrSandbox(flavour: keyof typeof FLAVOURS): SandboxModule {
  const f = FLAVOURS[flavour];
  const requests = new Map<string, SubjectRequest>();
  const createdPerDay = new Map<string, number>();
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };

  const statusBody = (r: SubjectRequest, now: number) => ({
    controller_id: 'sandbox-controller',
    expected_completion_time: new Date(r.times.endAt).toISOString(),
    subject_request_id: r.id,
    group_id: null,
    request_status: statusOf(r, now),
    api_version: '3.0',
    results_url: null,
    extensions: null,
  });

  const create = (req: SandboxRequest, ctx: SandboxContext): SandboxReply => {
    const parsed = f.body.safeParse(req.json);
    if (!parsed.success) return json(400, { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    const id = parsed.data.subject_request_id.toLowerCase();
    if (requests.has(id)) return json(400, { error: 'Subject request already exists' });
    const now = ctx.clock.now().getTime();
    const { dailyQuota } = optionsOf(ctx);
    const day = new Date(now).toISOString().slice(0, 10);
    const today = createdPerDay.get(day) ?? 0;
    if (dailyQuota !== null && today >= dailyQuota) {
      ctx.countExceeded('daily_quota');
      const retry = Math.ceil((Date.parse(`${day}T00:00:00Z`) + DAY - now) / 1000);
      return json(429, { error: `daily quota of ${dailyQuota} new requests reached` }, { 'retry-after': String(Math.max(1, retry)) });
    }
    createdPerDay.set(day, today + 1);
    const r: SubjectRequest = { id, times: newTimetable(ctx), cancelled: false };
    requests.set(id, r);
    return json(
      201,
      {
        expected_completion_time: new Date(r.times.endAt).toISOString(),
        received_time: new Date(now).toISOString(),
        encoded_request: Buffer.from(req.text).toString('base64').slice(0, 64),
        subject_request_id: id,
        controller_id: 'sandbox-controller',
      },
      { 'x-opendsr-processor-domain': f.domain },
    );
  };

  return {
    name: flavour,
    optionsSchema: OptionsSchema,
    ...(f.basic ? { authorize: (req: SandboxRequest, credential: string) => basicCredential(req.headers.authorization) === credential } : {}),

    handle(req, ctx) {
      if (f.create.test(req.path)) return req.method === 'POST' ? create(req, ctx) : json(405, { error: 'POST only' });
      const match = f.one.exec(req.path);
      if (!match) return json(404, { error: `${req.method} ${req.path} not found` });
      const id = decodeURIComponent(match[1]!).toLowerCase();
      const r = requests.get(id);
      if (!r) return json(404, { error: `subject request ${id} not found` });
      const now = ctx.clock.now().getTime();
      if (req.method === 'GET') return json(200, statusBody(r, now));
      if (req.method === 'DELETE') {
        const status = statusOf(r, now);
        if (status !== 'pending') return json(400, { error: `subject request ${id} is ${status}; only pending requests can be cancelled` });
        r.cancelled = true;
        return json(202, statusBody(r, now));
      }
      return json(405, { error: `${req.method} not allowed` });
    },

    drift(mode: ModuleDriftMode, reply) {
      if (!reply.body || typeof reply.body !== 'object') return reply;
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
      requests.clear();
      createdPerDay.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = {};
      for (const r of requests.values()) {
        const s = statusOf(r, now);
        byStatus[s] = (byStatus[s] ?? 0) + 1;
      }
      return { requests: requests.size, byStatus };
    },
  };
}
