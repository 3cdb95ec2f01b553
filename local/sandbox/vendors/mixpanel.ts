import { z } from 'zod';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import { json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word Mixpanel never documents, for the `unknown_status` drift. */
export const MIXPANEL_UNKNOWN_STATUS = 'QUEUED';

const OptionsSchema = z.strictObject({
  /** The project token the `token` query parameter must carry; null: any. */
  projectToken: z.string().min(1).nullable().default(null),
  /** Which documented create answer to give: the OpenAPI `results.task_id` or the prose `results[0].tracking_id`. */
  createShape: z.enum(['task_id', 'tracking_list']).default('task_id'),
  /** distinct_ids accepted in one task. */
  maxDistinctIds: z.number().int().min(1).default(1999),
});
type Options = z.infer<typeof OptionsSchema>;

const CreateBody = z.object({
  distinct_ids: z.array(z.string().min(1)).min(1),
  compliance_type: z.enum(['GDPR', 'CCPA']).default('GDPR'),
});

interface Task {
  id: string;
  distinctIds: string[];
  complianceType: string;
  times: Timetable;
  revoked: boolean;
}

const PREFIX = '/api/app/data-deletions/v3.0';

function statusOf(t: Task, now: number): string {
  if (t.revoked) return 'REVOKED';
  const phase = phaseAt(t.times, now);
  if (phase === 'ended') return t.times.fails ? 'FAILURE' : 'SUCCESS';
  if (phase === 'running') return 'STARTED';
  // The first half of the wait is PENDING, the second STAGING (both cancellable).
  return now < (t.times.createdAt + t.times.inProgressAt) / 2 ? 'PENDING' : 'STAGING';
}

/**
 * Mixpanel's GDPR API v3 deletions (vendors.md A2): Bearer OAuth token plus the project token as `token`
 * query parameter; `POST …/v3.0/` with ≤ maxDistinctIds distinct_ids (400 past it) → one of the two documented
 * create shapes; `GET …/v3.0/{id}` → PENDING → STAGING → STARTED → SUCCESS | FAILURE; `DELETE …/v3.0/{id}`
 * → 204 until STARTED, then 405. Every call counts against the rate limit (1/s in production).
 */
export function createMixpanelSandbox(): SandboxModule {
  const tasks = new Map<string, Task>();
  let counter = 0;
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };

  const taskBody = (t: Task, now: number) => ({
    tracking_id: t.id,
    status: statusOf(t, now),
    requesting_user: 'owner@example.com',
    compliance_type: t.complianceType,
    project_id: 1234567,
    date_requested: new Date(t.times.createdAt).toISOString(),
    distinct_ids: t.distinctIds,
  });

  const create = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) return json(400, { status: 'error', error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    if (parsed.data.distinct_ids.length > options.maxDistinctIds) {
      ctx.countExceeded('batch_size');
      return json(400, { status: 'error', error: `distinct_ids: at most ${options.maxDistinctIds} per task` });
    }
    const id = `${(++counter).toString(16).padStart(8, '0')}-mp`;
    const task: Task = { id, distinctIds: parsed.data.distinct_ids, complianceType: parsed.data.compliance_type, times: newTimetable(ctx), revoked: false };
    tasks.set(id, task);
    const now = ctx.clock.now().getTime();
    if (options.createShape === 'task_id') return json(201, { status: 'ok', results: { task_id: id } });
    const { distinct_ids: ids, ...rest } = taskBody(task, now);
    return json(200, { status: 'ok', results: [{ ...rest, distinct_id_count: ids.length }] });
  };

  return {
    name: 'mixpanel',
    optionsSchema: OptionsSchema,

    handle(req, ctx) {
      const options = optionsOf(ctx);
      if (options.projectToken !== null && req.query.get('token') !== options.projectToken) {
        return json(401, { status: 'error', error: 'invalid project token' });
      }
      const now = ctx.clock.now().getTime();
      if (req.path === PREFIX || req.path === `${PREFIX}/`) {
        return req.method === 'POST' ? create(req, ctx, options) : json(405, { status: 'error', error: 'POST only' });
      }
      const match = new RegExp(`^${PREFIX.replace(/\./g, '\\.')}/([^/]+)/?$`).exec(req.path);
      if (!match) return json(404, { status: 'error', error: `${req.path} not found` });
      const id = decodeURIComponent(match[1]!);
      const task = tasks.get(id);
      if (req.method === 'GET') {
        return json(200, { status: 'ok', results: task ? taskBody(task, now) : { tracking_id: id, status: 'NOT_FOUND' } });
      }
      if (req.method === 'DELETE') {
        if (!task) return json(404, { status: 'error', error: `task ${id} not found` });
        const status = statusOf(task, now);
        if (status !== 'PENDING' && status !== 'STAGING') return json(405, { status: 'error', error: `task ${id} is ${status}; it can no longer be cancelled` });
        task.revoked = true;
        return { status: 204 };
      }
      return json(405, { status: 'error', error: `${req.method} not allowed` });
    },

    drift(mode: ModuleDriftMode, reply, req) {
      const body = reply.body as { results?: unknown } | undefined;
      if (!body || body.results === undefined) return reply;
      const change = (r: Record<string, unknown>) => {
        const out = { ...r };
        if (mode === 'unknown_status') {
          if ('status' in out) out['status'] = MIXPANEL_UNKNOWN_STATUS;
        } else if ('task_id' in out) {
          out['taskId'] = out['task_id'];
          delete out['task_id'];
        } else if (req.method === 'POST') {
          out['trackingId'] = out['tracking_id'];
          delete out['tracking_id'];
        } else {
          out['state'] = out['status'];
          delete out['status'];
        }
        return out;
      };
      const results = Array.isArray(body.results) ? body.results.map((r) => change(r as Record<string, unknown>)) : change(body.results as Record<string, unknown>);
      return { ...reply, body: { ...body, results } };
    },

    reset() {
      tasks.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = {};
      let distinctIds = 0;
      for (const t of tasks.values()) {
        const s = statusOf(t, now);
        byStatus[s] = (byStatus[s] ?? 0) + 1;
        distinctIds += t.distinctIds.length;
      }
      return { tasks: tasks.size, distinctIds, byStatus };
    },
  };
}
