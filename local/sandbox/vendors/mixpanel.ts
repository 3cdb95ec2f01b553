import { z } from 'zod';
import { bodyOf, fixture } from '../../../test/fixtures/vendors/contract.js';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import { basicCredential, json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word Mixpanel never documents, for the `unknown_status` drift. */
export const MIXPANEL_UNKNOWN_STATUS = 'QUEUED';

const OptionsSchema = z.strictObject({
  /** The project token the `token` query parameter must carry; null: any. */
  projectToken: z.string().min(1).nullable().default(null),
  /** Which documented create answer to give: the OpenAPI `results.task_id` or the reference page's `results[0].tracking_id`. */
  createShape: z.enum(['task_id', 'tracking_list']).default('task_id'),
  /** Which documented status answer to give: the OpenAPI DeletionJobResult, or the reference page's (no tracking_id). */
  statusShape: z.enum(['openapi', 'reference']).default('openapi'),
  /** distinct_ids accepted in one task. */
  maxDistinctIds: z.number().int().min(1).default(1999),
  /**
   * distinct_ids Mixpanel cannot process: a task holding any of them ends FAILURE (one incorrect identifier fails
   * the whole task, end-user-data-management.mdx), answered with the composed FAILURE fixture's body.
   */
  failDistinctIds: z.array(z.string().min(1)).default([]),
  /** The service account (`username:secret`, HTTP Basic) the Engage query must carry; null: any Basic credential. */
  lookupCredential: z.string().min(1).nullable().default(null),
  /** distinct_ids whose profile the Engage query still finds (data that came back or was never deleted); others: none. */
  retainedDistinctIds: z.array(z.string().min(1)).default([]),
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

/** The documented answers the module replays (test/fixtures/vendors/mixpanel), filled with each task. */
const TEMPLATES = {
  createTaskId: fixture('mixpanel', 'create-openapi-task-id.json'),
  createTrackingList: fixture('mixpanel', 'create-reference-tracking-list.json'),
  statusOpenApi: fixture('mixpanel', 'status-openapi.json'),
  statusReference: fixture('mixpanel', 'status-reference.json'),
  statusFailure: fixture('mixpanel', 'status-return-key-failure.json'),
  unauthorized: fixture('mixpanel', 'error-401.json'),
  engageFound: fixture('mixpanel', 'lookup-engage-found.json'),
};

/** The documented error body (`{ error, status: "error" }`, 401/403 in the OpenAPI file) with this text. */
const failure = (status: number, error: string): SandboxReply => json(status, { ...bodyOf<Record<string, unknown>>(TEMPLATES.unauthorized), error });

const PREFIX = '/api/app/data-deletions/v3.0';
const ENGAGE = '/api/query/engage';

/**
 * The Engage query, replaying the documented found answer with the profile's own distinct_id; no data is not
 * documented, so it is the found answer emptied (results [], total 0), as LOOKUPS.md reads the schema.
 */
function engage(req: SandboxRequest, options: Options): SandboxReply {
  if (req.method !== 'POST') return { status: 405 };
  if (options.lookupCredential !== null && basicCredential(req.headers.authorization) !== options.lookupCredential) return failure(401, 'invalid service account');
  if (!req.query.get('project_id')) return failure(400, 'project_id is required');
  const id = new URLSearchParams(req.text).get('distinct_id');
  if (!id) return failure(400, 'distinct_id is required');
  const template = bodyOf<{ results: Array<Record<string, unknown>> } & Record<string, unknown>>(TEMPLATES.engageFound);
  const results = options.retainedDistinctIds.includes(id) ? template.results.map((r) => ({ ...r, $distinct_id: id })) : [];
  return json(TEMPLATES.engageFound.response.status, { ...template, results, total: results.length });
}

function statusOf(t: Task, now: number): string {
  if (t.revoked) return 'REVOKED';
  const phase = phaseAt(t.times, now);
  if (phase === 'ended') return t.times.fails ? 'FAILURE' : 'SUCCESS';
  if (phase === 'running') return 'STARTED';
  // The first half of the wait is PENDING, the second STAGING (both cancellable).
  return now < (t.times.createdAt + t.times.inProgressAt) / 2 ? 'PENDING' : 'STAGING';
}

/**
 * Mixpanel's GDPR API v3 deletions (vendors.md A2), replaying the documented answers: Bearer OAuth token plus
 * the project token as `token` query parameter; `POST …/v3.0/` with ≤ maxDistinctIds distinct_ids → 201 in one
 * of the two documented create shapes; `GET …/v3.0/{id}` → PENDING → STAGING → STARTED → SUCCESS | FAILURE in
 * one of the two documented status shapes (NOT_FOUND for a task it does not know; FAILURE for a task holding one of
 * `failDistinctIds`, or by the lifecycle's failure share); `DELETE …/v3.0/{id}` → 204
 * until STARTED, then 405 (no bodies). A 429 has no header and no body, as documented. Every call counts
 * against the rate limit (1/s in production).
 */
export function createMixpanelSandbox(): SandboxModule {
  const tasks = new Map<string, Task>();
  let counter = 0;
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };

  const statusBody = (options: Options, id: string, t: Task | undefined, now: number) => {
    const word = t ? statusOf(t, now) : 'NOT_FOUND';
    if (options.statusShape === 'reference') {
      const body = bodyOf<{ results: Record<string, unknown> }>(word === 'FAILURE' ? TEMPLATES.statusFailure : TEMPLATES.statusReference);
      body.results = { ...body.results, status: word, distinct_ids: t?.distinctIds ?? [] };
      return body;
    }
    const body = bodyOf<{ results: Record<string, unknown> }>(TEMPLATES.statusOpenApi);
    body.results = {
      ...body.results,
      tracking_id: id,
      status: word,
      compliance_type: t?.complianceType ?? body.results['compliance_type'],
      date_requested: new Date(t?.times.createdAt ?? now).toISOString(),
      distinct_ids: t?.distinctIds ?? [],
    };
    return body;
  };

  const create = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) return failure(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (parsed.data.distinct_ids.length > options.maxDistinctIds) {
      ctx.countExceeded('batch_size');
      return failure(400, `distinct_ids: at most ${options.maxDistinctIds} per task`);
    }
    const id = `${(++counter).toString(16).padStart(8, '0')}-mp`;
    const times = newTimetable(ctx);
    if (parsed.data.distinct_ids.some((d) => options.failDistinctIds.includes(d))) times.fails = true;
    const task: Task = { id, distinctIds: parsed.data.distinct_ids, complianceType: parsed.data.compliance_type, times, revoked: false };
    tasks.set(id, task);
    const now = ctx.clock.now().getTime();
    if (options.createShape === 'task_id') {
      const body = bodyOf<{ results: { task_id: string } }>(TEMPLATES.createTaskId);
      body.results.task_id = id;
      return json(TEMPLATES.createTaskId.response.status, body);
    }
    const body = bodyOf<{ results: Record<string, unknown>[] }>(TEMPLATES.createTrackingList);
    body.results = [
      {
        ...body.results[0],
        status: statusOf(task, now),
        date_requested: new Date(now).toISOString(),
        tracking_id: id,
        compliance_type: task.complianceType.toLowerCase(),
        distinct_id_count: task.distinctIds.length,
      },
    ];
    return json(TEMPLATES.createTrackingList.response.status, body);
  };

  return {
    name: 'mixpanel',
    optionsSchema: OptionsSchema,

    faultReply(fault) {
      if (fault === 'rate_limited') return { status: 429 };
      return failure(401, 'invalid or expired OAuth token');
    },

    // The GDPR API takes the OAuth token (Bearer); the Engage query a service account (Basic, checked in engage()).
    authorize: (req, credential) => (req.path === ENGAGE ? basicCredential(req.headers.authorization) !== undefined : req.headers.authorization === `Bearer ${credential}`),

    handle(req, ctx) {
      const options = optionsOf(ctx);
      if (req.path === ENGAGE) return engage(req, options);
      if (options.projectToken !== null && req.query.get('token') !== options.projectToken) return failure(401, 'invalid project token');
      const now = ctx.clock.now().getTime();
      if (req.path === PREFIX || req.path === `${PREFIX}/`) {
        return req.method === 'POST' ? create(req, ctx, options) : { status: 405 };
      }
      const match = new RegExp(`^${PREFIX.replace(/\./g, '\\.')}/([^/]+)/?$`).exec(req.path);
      if (!match) return { status: 404 };
      const id = decodeURIComponent(match[1]!);
      const task = tasks.get(id);
      if (req.method === 'GET') return json(200, statusBody(options, id, task, now));
      if (req.method === 'DELETE') {
        if (!task) return { status: 404 };
        const status = statusOf(task, now);
        if (status !== 'PENDING' && status !== 'STAGING') return { status: 405 };
        task.revoked = true;
        return { status: 204 };
      }
      return { status: 405 };
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
