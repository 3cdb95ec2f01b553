import { z } from 'zod';
import { DAY } from '../../../functions/clock.js';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from '../types.js';
import { basicCredential, json, newTimetable, phaseAt, type Timetable } from './timetable.js';

/** A word Amplitude never documents, for the `unknown_status` drift. */
export const AMPLITUDE_UNKNOWN_STATUS = 'queued';

const OptionsSchema = z.strictObject({
  /** User ids Amplitude does not know (400, or listed in invalid_ids with ignore_invalid_ids). */
  unknownUserIds: z.array(z.string()).default([]),
  /** Days between a job's first request and the job's `day`. */
  scheduleAfterDays: z.number().int().min(0).default(10),
  /** ids (user_ids + amplitude_ids) accepted in one request. */
  maxIds: z.number().int().min(1).default(100),
  /** The longest range a listing may cover, in days. */
  maxWindowDays: z.number().int().min(1).default(183),
});
type Options = z.infer<typeof OptionsSchema>;

const CreateBody = z.object({
  user_ids: z.array(z.string().min(1)).optional(),
  amplitude_ids: z.array(z.number().int()).optional(),
  requester: z.string().optional(),
  ignore_invalid_id: z.boolean().optional(),
  ignore_invalid_ids: z.boolean().optional(),
});

interface User {
  amplitude_id: number;
  user_id: string | null;
  requester: string | null;
  requested_on_day: string;
}

interface Job {
  day: string;
  times: Timetable;
  users: User[];
}

const PATH = '/api/2/deletions/users';
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);

function statusOf(job: Job, now: number): 'staging' | 'submitted' | 'done' {
  const phase = phaseAt(job.times, now);
  return phase === 'waiting' ? 'staging' : phase === 'running' ? 'submitted' : 'done';
}

/**
 * Amplitude's User Privacy API v1 (vendors.md A3), HTTP Basic `apiKey:secretKey` (the sandbox credential is
 * that pair): `POST /api/2/deletions/users` adds ≤ maxIds users to the job of a day (`scheduleAfterDays` after
 * the job's first request; a job that left staging takes no more users, the next day's does); unknown users
 * are a 400 unless ignore_invalid_id(s); `GET ?start_day&end_day` lists jobs (range ≤ maxWindowDays);
 * staging → submitted → done on the lifecycle timetable of the job (there is no failure state);
 * `DELETE /api/2/deletions/users/{amplitude_id}/{day}` removes a user from a staging job until 3 days before
 * its day.
 */
export function createAmplitudeSandbox(): SandboxModule {
  const jobs = new Map<string, Job>();
  const ids = new Map<string, number>();
  let nextId = 100_000_001;
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };
  const amplitudeIdOf = (userId: string) => {
    let id = ids.get(userId);
    if (id === undefined) ids.set(userId, (id = nextId++));
    return id;
  };

  const jobFor = (ctx: SandboxContext, options: Options, now: number): Job => {
    for (let offset = options.scheduleAfterDays; ; offset++) {
      const day = dayOf(now + offset * DAY);
      const job = jobs.get(day);
      if (!job) {
        const created: Job = { day, times: newTimetable(ctx), users: [] };
        jobs.set(day, created);
        return created;
      }
      if (statusOf(job, now) === 'staging') return job;
    }
  };

  const jobBody = (job: Job, now: number) => {
    const status = statusOf(job, now);
    return {
      day: job.day,
      status,
      amplitude_ids: job.users,
      app: '123456',
      active_scrub_done_date: status === 'done' ? dayOf(job.times.endAt) : null,
    };
  };

  const create = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) return json(400, { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    const userIds = parsed.data.user_ids ?? [];
    const amplitudeIds = parsed.data.amplitude_ids ?? [];
    const total = userIds.length + amplitudeIds.length;
    if (total === 0) return json(400, { error: 'give user_ids or amplitude_ids' });
    if (total > options.maxIds) {
      ctx.countExceeded('batch_size');
      return json(400, { error: `at most ${options.maxIds} ids per request` });
    }
    const unknown = new Set(options.unknownUserIds);
    const invalid = userIds.filter((u) => unknown.has(u));
    const ignore = parsed.data.ignore_invalid_id === true || parsed.data.ignore_invalid_ids === true;
    if (invalid.length > 0 && !ignore) return json(400, { error: 'invalid ids', invalid_ids: invalid });
    const now = ctx.clock.now().getTime();
    const job = jobFor(ctx, options, now);
    const requested = dayOf(now);
    const requester = parsed.data.requester ?? null;
    const added: User[] = [
      ...userIds.filter((u) => !unknown.has(u)).map((u) => ({ amplitude_id: amplitudeIdOf(u), user_id: u, requester, requested_on_day: requested })),
      ...amplitudeIds.map((a) => ({ amplitude_id: a, user_id: null, requester, requested_on_day: requested })),
    ];
    for (const user of added) if (!job.users.some((u) => u.amplitude_id === user.amplitude_id)) job.users.push(user);
    const body: Record<string, unknown> = { day: job.day, status: statusOf(job, now), amplitude_ids: added, app: '123456' };
    if (ignore) body['invalid_ids'] = invalid;
    return json(200, body);
  };

  const list = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const start = req.query.get('start_day') ?? '';
    const end = req.query.get('end_day') ?? '';
    if (!DAY_RE.test(start) || !DAY_RE.test(end)) return json(400, { error: 'start_day and end_day must be YYYY-MM-DD' });
    const span = (Date.parse(end) - Date.parse(start)) / DAY;
    if (span < 0) return json(400, { error: 'end_day is before start_day' });
    if (span > options.maxWindowDays) return json(400, { error: `the range may cover at most ${options.maxWindowDays} days` });
    const now = ctx.clock.now().getTime();
    return json(200, [...jobs.values()].filter((j) => j.day >= start && j.day <= end).map((j) => jobBody(j, now)));
  };

  return {
    name: 'amplitude',
    optionsSchema: OptionsSchema,
    authorize: (req, credential) => basicCredential(req.headers.authorization) === credential,

    handle(req, ctx) {
      const options = optionsOf(ctx);
      if (req.path === PATH) {
        if (req.method === 'POST') return create(req, ctx, options);
        if (req.method === 'GET') return list(req, ctx, options);
        return json(405, { error: `${req.method} not allowed` });
      }
      const match = /^\/api\/2\/deletions\/users\/(\d+)\/(\d{4}-\d{2}-\d{2})$/.exec(req.path);
      if (!match || req.method !== 'DELETE') return json(404, { error: `${req.method} ${req.path} not found` });
      const [, amplitudeId, day] = match as unknown as [string, string, string];
      const job = jobs.get(day);
      const now = ctx.clock.now().getTime();
      const index = job ? job.users.findIndex((u) => u.amplitude_id === Number(amplitudeId)) : -1;
      if (!job || index === -1) return json(404, { error: `no user ${amplitudeId} in the job of ${day}` });
      if (statusOf(job, now) !== 'staging' || now >= Date.parse(`${day}T00:00:00Z`) - 3 * DAY) {
        return json(400, { error: `the job of ${day} can no longer be changed` });
      }
      job.users.splice(index, 1);
      return json(200, jobBody(job, now));
    },

    drift(mode: ModuleDriftMode, reply) {
      const change = (job: Record<string, unknown>) => {
        const out = { ...job };
        if (mode === 'unknown_status') out['status'] = AMPLITUDE_UNKNOWN_STATUS;
        else {
          out['amplitudeIds'] = out['amplitude_ids'];
          delete out['amplitude_ids'];
        }
        return out;
      };
      if (Array.isArray(reply.body)) return { ...reply, body: reply.body.map((j) => change(j as Record<string, unknown>)) };
      if (reply.body && typeof reply.body === 'object') return { ...reply, body: change(reply.body as Record<string, unknown>) };
      return reply;
    },

    reset() {
      jobs.clear();
      ids.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = {};
      let users = 0;
      for (const j of jobs.values()) {
        const s = statusOf(j, now);
        byStatus[s] = (byStatus[s] ?? 0) + 1;
        users += j.users.length;
      }
      return { jobs: jobs.size, users, byStatus };
    },
  };
}
