import { z } from 'zod';
import { DAY } from '../../../functions/clock.js';
import { bodyOf, fixture } from '../../../test/fixtures/vendors/contract.js';
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
  /** The documented create answer: a job array (a real project's answer) or one job object (the 2018 example). */
  createShape: z.enum(['array', 'object']).default('array'),
  /** How many amplitude_ids each new user_id maps to (one user, several devices merged). */
  amplitudeIdsPerUser: z.number().int().min(1).max(10).default(1),
  /**
   * User ids the user search (`GET /api/2/usersearch`) still finds, whatever was deleted: data that came back or
   * was never deleted. Every other user is answered with the documented no-match.
   */
  retainedUserIds: z.array(z.string()).default([]),
});
type Options = z.infer<typeof OptionsSchema>;

/** Booleans as JSON or as the documented strings ("true", "False"). */
const flag = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False']).transform((v) => v.toLowerCase() === 'true')]);
const CreateBody = z.object({
  user_ids: z.array(z.string().min(1)).optional(),
  amplitude_ids: z.array(z.number().int()).optional(),
  requester: z.string().optional(),
  ignore_invalid_id: flag.optional(),
  ignore_invalid_ids: flag.optional(),
  include_mapped_user_ids: flag.optional(),
});

interface User {
  amplitude_id: number;
  user_id: string | null;
  requester: string;
  requested_on_day: string;
}

interface Job {
  day: string;
  times: Timetable;
  users: User[];
}

/** The documented answers the module replays (test/fixtures/vendors/amplitude). */
const TEMPLATES = {
  createArray: fixture('amplitude', 'create-balena-array.json'),
  createObject: fixture('amplitude', 'create-gist-2018-object.json'),
  cancel: fixture('amplitude', 'cancel-docs.json'),
  searchFound: fixture('amplitude', 'lookup-user-search-found.json'),
  searchNotFound: fixture('amplitude', 'lookup-user-search-not-found.json'),
};
/** The app id the create answer carries, as in the real project's answer. */
const APP = (bodyOf<{ app: string }[]>(TEMPLATES.createArray)[0]!).app;

const PATH = '/api/2/deletions/users';
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
/** Amplitude documents 400 Bad Request and 401 Unauthorized without a body. */
const badRequest = (): SandboxReply => ({ status: 400 });

function statusOf(job: Job, now: number): 'staging' | 'submitted' | 'done' {
  const phase = phaseAt(job.times, now);
  return phase === 'waiting' ? 'staging' : phase === 'running' ? 'submitted' : 'done';
}

const entry = (u: User, withUserId: boolean) => ({
  amplitude_id: u.amplitude_id,
  requested_on_day: u.requested_on_day,
  requester: u.requester,
  ...(withUserId && u.user_id !== null ? { user_id: u.user_id } : {}),
});

/**
 * Amplitude's User Privacy API v1 (vendors.md A3), HTTP Basic `apiKey:secretKey` (the sandbox credential is
 * that pair), replaying the documented answers: `POST /api/2/deletions/users` adds ≤ maxIds users to the job of
 * a day (`scheduleAfterDays` after the job's first request; a job that left staging takes no more users, the
 * next day's does) and answers the job array, entries naming their user_id only with include_mapped_user_ids
 * (or, `createShape: 'object'`, the 2018 example's single job: no user_id, no app, no invalid_ids); a user_id maps to `amplitudeIdsPerUser` amplitude_ids. Unknown users are a
 * 400 unless ignore_invalid_id(s) (then listed in invalid_ids). `GET ?start_day&end_day` lists jobs (range ≤
 * maxWindowDays; entries never carry user_id; a done job has its active_scrub_done_date); staging → submitted →
 * done on the lifecycle timetable of the job (there is no failure state). `DELETE …/{amplitude_id}/{day}`
 * removes a user from a staging job until 3 days before its day. 400 and 401 have no body, as documented.
 */
export function createAmplitudeSandbox(): SandboxModule {
  const jobs = new Map<string, Job>();
  const ids = new Map<string, number[]>();
  let nextId = 100_000_001;
  let cached: { source: unknown; options: Options } | undefined;
  const optionsOf = (ctx: SandboxContext) => {
    if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
    return cached.options;
  };
  const amplitudeIdsOf = (userId: string, options: Options) => {
    let found = ids.get(userId);
    if (found === undefined) ids.set(userId, (found = Array.from({ length: options.amplitudeIdsPerUser }, () => nextId++)));
    return found;
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

  const listed = (job: Job, now: number) => {
    const status = statusOf(job, now);
    return {
      amplitude_ids: job.users.map((u) => entry(u, false)),
      day: job.day,
      status,
      ...(status === 'done' ? { active_scrub_done_date: dayOf(job.times.endAt) } : {}),
    };
  };

  const create = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) return badRequest();
    const userIds = parsed.data.user_ids ?? [];
    const amplitudeIds = parsed.data.amplitude_ids ?? [];
    const total = userIds.length + amplitudeIds.length;
    if (total === 0) return badRequest();
    if (total > options.maxIds) {
      ctx.countExceeded('batch_size');
      return badRequest();
    }
    const unknown = new Set(options.unknownUserIds);
    const invalid = userIds.filter((u) => unknown.has(u));
    const ignore = parsed.data.ignore_invalid_id === true || parsed.data.ignore_invalid_ids === true;
    if (invalid.length > 0 && !ignore) return badRequest();
    const now = ctx.clock.now().getTime();
    const job = jobFor(ctx, options, now);
    const requested = dayOf(now);
    const requester = parsed.data.requester ?? '';
    const added: User[] = [
      ...userIds
        .filter((u) => !unknown.has(u))
        .flatMap((u) => amplitudeIdsOf(u, options).map((amplitude_id) => ({ amplitude_id, user_id: u, requester, requested_on_day: requested }))),
      ...amplitudeIds.map((a) => ({ amplitude_id: a, user_id: null, requester, requested_on_day: requested })),
    ];
    for (const user of added) if (!job.users.some((u) => u.amplitude_id === user.amplitude_id)) job.users.push(user);
    if (options.createShape === 'object') {
      // The 2018 example exactly: entries without user_id, no app, no invalid_ids.
      return json(TEMPLATES.createObject.response.status, { day: job.day, amplitude_ids: added.map((u) => entry(u, false)), status: statusOf(job, now) });
    }
    const mapped = parsed.data.include_mapped_user_ids === true;
    const answer: Record<string, unknown> = { amplitude_ids: added.map((u) => entry(u, mapped)), app: APP, day: job.day, status: statusOf(job, now) };
    if (ignore) answer['invalid_ids'] = invalid;
    return json(TEMPLATES.createArray.response.status, [answer]);
  };

  const list = (req: SandboxRequest, ctx: SandboxContext, options: Options): SandboxReply => {
    const start = req.query.get('start_day') ?? '';
    const end = req.query.get('end_day') ?? '';
    if (!DAY_RE.test(start) || !DAY_RE.test(end)) return badRequest();
    const span = (Date.parse(end) - Date.parse(start)) / DAY;
    if (span < 0 || span > options.maxWindowDays) return badRequest();
    const now = ctx.clock.now().getTime();
    return json(200, [...jobs.values()].filter((j) => j.day >= start && j.day <= end).map((j) => listed(j, now)));
  };

  /** The user search, replaying the documented match (with the user's own ids) or the documented no-match. */
  const userSearch = (req: SandboxRequest, options: Options): SandboxReply => {
    const user = req.query.get('user');
    if (req.method !== 'GET' || !user) return badRequest();
    if (!options.retainedUserIds.includes(user)) return json(TEMPLATES.searchNotFound.response.status, bodyOf(TEMPLATES.searchNotFound));
    const template = bodyOf<{ matches: Array<{ user_id: string; amplitude_id: number }>; type: string }>(TEMPLATES.searchFound);
    return json(TEMPLATES.searchFound.response.status, { ...template, matches: amplitudeIdsOf(user, options).map((amplitude_id) => ({ user_id: user, amplitude_id })) });
  };

  return {
    name: 'amplitude',
    optionsSchema: OptionsSchema,
    authorize: (req, credential) => basicCredential(req.headers.authorization) === credential,
    faultReply: (fault) => (fault === 'unauthorized' ? { status: 401 } : undefined),

    handle(req, ctx) {
      const options = optionsOf(ctx);
      if (req.path === '/api/2/usersearch') return userSearch(req, options);
      if (req.path === PATH) {
        if (req.method === 'POST') return create(req, ctx, options);
        if (req.method === 'GET') return list(req, ctx, options);
        return badRequest();
      }
      const match = /^\/api\/2\/deletions\/users\/(\d+)\/(\d{4}-\d{2}-\d{2})$/.exec(req.path);
      if (!match || req.method !== 'DELETE') return badRequest();
      const [, amplitudeId, day] = match as unknown as [string, string, string];
      const job = jobs.get(day);
      const now = ctx.clock.now().getTime();
      const index = job ? job.users.findIndex((u) => u.amplitude_id === Number(amplitudeId)) : -1;
      if (!job || index === -1) return badRequest();
      if (statusOf(job, now) !== 'staging' || now >= Date.parse(`${day}T00:00:00Z`) - 3 * DAY) return badRequest();
      const [removed] = job.users.splice(index, 1);
      return json(TEMPLATES.cancel.response.status, entry(removed!, false));
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
      if (reply.body && typeof reply.body === 'object' && 'day' in reply.body) return { ...reply, body: change(reply.body as Record<string, unknown>) };
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
