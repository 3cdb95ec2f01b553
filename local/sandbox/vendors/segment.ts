import { z } from 'zod';
import { bodyOf, fixture } from '../../../test/fixtures/vendors/contract.js';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import { json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word Segment never documents, for the `unknown_status` drift. */
export const SEGMENT_UNKNOWN_STATUS = 'QUEUED';

const REGULATION_TYPES = [
  'DELETE_INTERNAL',
  'DELETE_ONLY',
  'SUPPRESS_ONLY',
  'SUPPRESS_WITH_DELETE',
  'SUPPRESS_WITH_DELETE_INTERNAL',
  'UNSUPPRESS',
  'DELETE_ARCHIVE_ONLY',
] as const;

const OptionsSchema = z.strictObject({
  /** Destinations every regulation fans out to; unsupported ones report NOT_SUPPORTED (or FAILED, see below). */
  destinations: z
    .array(z.strictObject({ id: z.string().min(1), name: z.string().min(1), supported: z.boolean() }))
    .default([
      { id: 'dest_amplitude', name: 'Amplitude', supported: true },
      { id: 'dest_webhooks', name: 'Webhooks', supported: false },
    ]),
  /** How an unsupported destination reports itself at the end: Segment does not document which of the two. */
  unsupportedReports: z.enum(['NOT_SUPPORTED', 'FAILED']).default('NOT_SUPPORTED'),
  /** subjectIds accepted in one regulation. */
  maxSubjects: z.number().int().min(1).default(5000),
});
type Options = z.infer<typeof OptionsSchema>;

const CreateBody = z.object({
  regulationType: z.enum(REGULATION_TYPES),
  subjectType: z.enum(['USER_ID', 'OBJECT_ID', 'ANONYMOUS_ID']),
  subjectIds: z.array(z.string().min(1)).min(1),
});

interface Regulation {
  id: string;
  type: string;
  subjects: number;
  times: Timetable;
  destinations: Options['destinations'];
  unsupportedReports: Options['unsupportedReports'];
}

type Word = 'INITIALIZED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'NOT_SUPPORTED';

/** The documented answers the module replays (test/fixtures/vendors/segment), filled with each request's ids. */
const TEMPLATES = {
  create: fixture('segment', 'create-workspace.json'),
  status: fixture('segment', 'status-initialized.json'),
  cancel: fixture('segment', 'cancel-openapi-72.json'),
  notFound: fixture('segment', 'error-404-not-found.json'),
  validation: fixture('segment', 'error-422-validation.json'),
  rateLimited: fixture('segment', 'error-429-rate-limited.json'),
};
type ErrorBody = { errors: { type: string; message: string; field?: string; data?: Record<string, number> }[] };

/** A documented error answer with its message (and field) replaced. */
function errorReply(template: typeof TEMPLATES.notFound, message: string): SandboxReply {
  const body = bodyOf<ErrorBody>(template);
  body.errors[0]!.message = message;
  return json(template.response.status, body);
}

/**
 * Segment's Public API regulations (vendors.md A1), Bearer token, replaying the documented answers:
 * `POST /regulations` (and `/regulations/sources/{id}`) with ≤ maxSubjects subjectIds → 200
 * `{ data: { regulateId } }`; `GET /regulations/{id}` → INITIALIZED → RUNNING → FINISHED (or FAILED with the
 * supported destinations FAILED, for the lifecycle's failure share). A regulation fanning out to a destination
 * without deletion support ends overall FAILED with that destination NOT_SUPPORTED (or FAILED:
 * `unsupportedReports`), as Segment documents. `DELETE /regulations/{id}` while INITIALIZED (OpenAPI 72.1.0).
 * Only creates count against the rate limit (600/min); a 429 carries X-RateLimit-Reset (RFC 5322) and
 * errors[0].data.msBeforeNext, no Retry-After. Errors use the documented envelope `{ errors: [{ type, message }] }`.
 */
export function createSegmentSandbox(): SandboxModule {
  const regulations = new Map<string, Regulation>();
  let counter = 0;
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };

  const statusOf = (r: Regulation, now: number) => {
    const phase = phaseAt(r.times, now);
    const supported: Word = phase === 'waiting' ? 'INITIALIZED' : phase === 'running' ? 'RUNNING' : r.times.fails ? 'FAILED' : 'FINISHED';
    const ended = phase === 'ended';
    const destinations = r.destinations.map((d) => {
      const status: Word = d.supported || !ended ? supported : r.unsupportedReports;
      return {
        name: d.name,
        id: d.id,
        status,
        errString: status === 'FAILED' ? (d.supported ? 'the destination rejected the deletion' : 'destination does not support deletion') : '',
        finishedAt: ended ? new Date(r.times.endAt).toISOString() : '',
      };
    });
    let overall: Word = supported;
    if (overall === 'FINISHED' && r.destinations.some((d) => !d.supported)) overall = 'FAILED';
    return { overall, destinations, ended };
  };

  const regulationBody = (r: Regulation, now: number) => {
    const template = bodyOf<{ data: { regulation: Record<string, unknown> } }>(TEMPLATES.status).data.regulation;
    const { overall, destinations, ended } = statusOf(r, now);
    const stream = (template['streamStatus'] as { id: string }[])[0]!;
    return {
      data: {
        regulation: {
          id: r.id,
          workspaceId: template['workspaceId'],
          overallStatus: overall,
          ...(ended ? { finishedAt: new Date(r.times.endAt).toISOString() } : {}),
          createdAt: new Date(r.times.createdAt).toISOString(),
          streamStatus: [{ id: stream.id, destinationStatus: destinations }],
        },
      },
    };
  };

  const create = (req: SandboxRequest, ctx: SandboxContext): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) return errorReply(TEMPLATES.validation, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const options = optionsOf(ctx);
    if (parsed.data.subjectIds.length > options.maxSubjects) {
      ctx.countExceeded('batch_size');
      return errorReply(TEMPLATES.validation, `subjectIds: at most ${options.maxSubjects} per regulation`);
    }
    const id = `reg_${(++counter).toString(36).padStart(8, '0')}`;
    regulations.set(id, {
      id,
      type: parsed.data.regulationType,
      subjects: parsed.data.subjectIds.length,
      times: newTimetable(ctx),
      destinations: options.destinations,
      unsupportedReports: options.unsupportedReports,
    });
    const body = bodyOf<{ data: { regulateId: string } }>(TEMPLATES.create);
    body.data.regulateId = id;
    return json(TEMPLATES.create.response.status, body);
  };

  return {
    name: 'segment',
    optionsSchema: OptionsSchema,
    rateLimited: (req) => req.method === 'POST',

    faultReply(fault, ctx, { waitMs }) {
      if (fault !== 'rate_limited') return undefined;
      const limit = ctx.config.rateLimit?.requests ?? 0;
      const body = bodyOf<ErrorBody>(TEMPLATES.rateLimited);
      body.errors[0]!.data = { remainingPoints: 0, msBeforeNext: waitMs, consumedPoints: limit };
      const reset = new Date(ctx.clock.now().getTime() + waitMs).toUTCString();
      return {
        status: 429,
        headers: { 'x-ratelimit-reset': reset, 'x-ratelimit-remaining': '0', 'x-ratelimit-consumed': String(limit) },
        body,
      };
    },

    handle(req, ctx) {
      const now = ctx.clock.now().getTime();
      if (req.method === 'POST' && (req.path === '/regulations' || /^\/regulations\/(cloud)?sources\/[^/]+$/.test(req.path))) {
        return create(req, ctx);
      }
      const match = /^\/regulations\/([^/]+)$/.exec(req.path);
      if (!match) return errorReply(TEMPLATES.notFound, `${req.method} ${req.path} not found`);
      const id = decodeURIComponent(match[1]!);
      const r = regulations.get(id);
      if (!r) return errorReply(TEMPLATES.notFound, `regulation ${id} not found`);
      if (req.method === 'GET') return json(200, regulationBody(r, now));
      if (req.method === 'DELETE') {
        const { overall } = statusOf(r, now);
        if (overall !== 'INITIALIZED') return errorReply(TEMPLATES.validation, `regulation ${id} is ${overall}; only INITIALIZED can be deleted`);
        regulations.delete(id);
        return json(TEMPLATES.cancel.response.status, bodyOf(TEMPLATES.cancel));
      }
      return errorReply(TEMPLATES.notFound, `${req.method} ${req.path} not found`);
    },

    drift(mode: ModuleDriftMode, reply, req) {
      const body = reply.body as { data?: { regulateId?: string; regulation?: Record<string, unknown> } } | undefined;
      if (!body?.data) return reply;
      if (req.method === 'POST' && body.data.regulateId !== undefined) {
        if (mode === 'unknown_status') return reply;
        return { ...reply, body: { data: { regulationId: body.data.regulateId } } };
      }
      const regulation = body.data.regulation;
      if (!regulation) return reply;
      const changed = { ...regulation };
      if (mode === 'unknown_status') changed['overallStatus'] = SEGMENT_UNKNOWN_STATUS;
      else {
        changed['status'] = changed['overallStatus'];
        delete changed['overallStatus'];
      }
      return { ...reply, body: { data: { regulation: changed } } };
    },

    reset() {
      regulations.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = {};
      let subjects = 0;
      for (const r of regulations.values()) {
        const { overall } = statusOf(r, now);
        byStatus[overall] = (byStatus[overall] ?? 0) + 1;
        subjects += r.subjects;
      }
      return { regulations: regulations.size, subjects, byStatus };
    },
  };
}
