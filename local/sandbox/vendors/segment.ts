import { z } from 'zod';
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
  /** Destinations every regulation fans out to; unsupported ones report NOT_SUPPORTED. */
  destinations: z
    .array(z.strictObject({ id: z.string().min(1), name: z.string().min(1), supported: z.boolean() }))
    .default([
      { id: 'dest_amplitude', name: 'Amplitude', supported: true },
      { id: 'dest_webhooks', name: 'Webhooks', supported: false },
    ]),
  /** subjectIds accepted in one regulation. */
  maxSubjects: z.number().int().min(1).default(5000),
});
type Options = z.infer<typeof OptionsSchema>;

const CreateBody = z.object({
  regulationType: z.enum(REGULATION_TYPES),
  subjectType: z.enum(['USER_ID', 'OBJECT_ID']),
  subjectIds: z.array(z.string().min(1)).min(1),
});

interface Regulation {
  id: string;
  type: string;
  subjects: number;
  times: Timetable;
  destinations: Options['destinations'];
}

type Word = 'INITIALIZED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'NOT_SUPPORTED';

/**
 * Segment's Public API regulations (vendors.md A1), Bearer token: `POST /regulations` (and
 * `/regulations/sources/{id}`) with ≤ maxSubjects subjectIds → 200 `{ data: { regulateId } }`;
 * `GET /regulations/{id}` → INITIALIZED → RUNNING → FINISHED (or FAILED with the supported destinations
 * FAILED, for the lifecycle's failure share). A regulation fanning out to a destination without deletion
 * support ends overall FAILED with that destination NOT_SUPPORTED, as Segment documents.
 * `DELETE /regulations/{id}` while INITIALIZED. Only creates count against the rate limit (600/min).
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
    const destinations = r.destinations.map((d) => ({
      id: d.id,
      name: d.name,
      status: d.supported ? supported : phase === 'ended' ? 'NOT_SUPPORTED' : supported,
      errString: d.supported ? (supported === 'FAILED' ? 'the destination rejected the deletion' : '') : phase === 'ended' ? 'destination does not support deletion' : '',
      finishedAt: phase === 'ended' ? new Date(r.times.endAt).toISOString() : null,
    }));
    let overall: Word = supported;
    if (overall === 'FINISHED' && r.destinations.some((d) => !d.supported)) overall = 'FAILED';
    return { overall, destinations };
  };

  const create = (req: SandboxRequest, ctx: SandboxContext): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) {
      return json(422, { errors: [{ type: 'validation', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }] });
    }
    const options = optionsOf(ctx);
    if (parsed.data.subjectIds.length > options.maxSubjects) {
      ctx.countExceeded('batch_size');
      return json(422, { errors: [{ type: 'validation', message: `subjectIds: at most ${options.maxSubjects} per regulation` }] });
    }
    const id = `reg_${(++counter).toString(36).padStart(8, '0')}`;
    regulations.set(id, { id, type: parsed.data.regulationType, subjects: parsed.data.subjectIds.length, times: newTimetable(ctx), destinations: options.destinations });
    return json(200, { data: { regulateId: id } });
  };

  return {
    name: 'segment',
    optionsSchema: OptionsSchema,
    rateLimited: (req) => req.method === 'POST',

    handle(req, ctx) {
      const now = ctx.clock.now().getTime();
      if (req.method === 'POST' && (req.path === '/regulations' || /^\/regulations\/(cloud)?sources\/[^/]+$/.test(req.path))) {
        return create(req, ctx);
      }
      const match = /^\/regulations\/([^/]+)$/.exec(req.path);
      if (!match) return json(404, { errors: [{ type: 'not-found', message: `${req.method} ${req.path} not found` }] });
      const id = decodeURIComponent(match[1]!);
      const r = regulations.get(id);
      if (!r) return json(404, { errors: [{ type: 'not-found', message: `regulation ${id} not found` }] });
      const { overall, destinations } = statusOf(r, now);
      if (req.method === 'GET') {
        return json(200, {
          data: {
            regulation: {
              id: r.id,
              workspaceId: 'ws_sandbox',
              overallStatus: overall,
              createdAt: new Date(r.times.createdAt).toISOString(),
              finishedAt: phaseAt(r.times, now) === 'ended' ? new Date(r.times.endAt).toISOString() : null,
              streamStatus: [{ id: 'stream_1', destinationStatus: destinations }],
            },
          },
        });
      }
      if (req.method === 'DELETE') {
        if (overall !== 'INITIALIZED') return json(400, { errors: [{ type: 'bad-request', message: `regulation ${id} is ${overall}; only INITIALIZED can be cancelled` }] });
        regulations.delete(id);
        return json(200, { data: { status: 'SUCCESS' } });
      }
      return json(405, { errors: [{ type: 'method', message: `${req.method} not allowed` }] });
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
