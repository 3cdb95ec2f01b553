import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor } from '../callVendor.js';
import { withPolicyOverrides, type DeletionVendor, type OperationToCheck, type StatusReport, type SubmittedOperation, type VendorPolicy } from '../DeletionVendor.js';
import { VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { AMPLITUDE_INVALID_ID, AMPLITUDE_MISSING, AMPLITUDE_STATUS_MAP, AmplitudeStatusWordSchema, type AmplitudeStatusWord } from './status.js';

/**
 * Amplitude's documented limits (vendors.md A3): 100 ids per request, 1 request a second, "within 30 days".
 * Jobs are scheduled 10–13 days after the first request of a batch and stay `staging` until then, so "no
 * progress" waits 16 days; the job day itself gives the expected completion (day + 5 days).
 */
export const AMPLITUDE_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 100,
  requestsPerSecond: 1,
  concurrency: 1,
  expectedDurationMs: 30 * DAY,
  noProgressMs: 16 * DAY,
  minCheckIntervalMs: 6 * HOUR,
  maxCheckIntervalMs: 24 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 30 * SECOND,
};

export const AMPLITUDE_MAX_IDS = 100;
/** Amplitude waits this long after the scrub (or the job day) for backups to clear before `done`. */
export const AMPLITUDE_DONE_AFTER_MS = 5 * DAY;
/** A job can be changed until this long before its day. */
export const AMPLITUDE_CANCEL_BEFORE_MS = 3 * DAY;
/** The longest date range one status listing may cover (the API allows six months). */
export const AMPLITUDE_MAX_WINDOW_DAYS = 180;

const REGION_HOSTS = { US: 'https://amplitude.com', EU: 'https://analytics.eu.amplitude.com' } as const;
const PATH = '/api/2/deletions/users';

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

/** One entry of a job's `amplitude_ids`; `user_id` only in create answers to include_mapped_user_ids. */
const Entry = z
  .object({
    amplitude_id: z.number().int(),
    requester: z.string().nullish(),
    requested_on_day: z.string().nullish(),
    user_id: z.union([z.string(), z.number()]).nullish(),
  })
  .loose();
type Entry = z.infer<typeof Entry>;

/** A deletion job: `app` is shown as a string ("000000") in the one real answer published. */
const Job = z
  .object({
    day: Day,
    status: AmplitudeStatusWordSchema,
    amplitude_ids: z.array(Entry),
    app: z.union([z.string(), z.number()]).optional(),
    active_scrub_done_date: z.string().nullish(),
    invalid_ids: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .loose();
type Job = z.infer<typeof Job>;

/**
 * `POST /api/2/deletions/users` → the job(s) the ids were added to: a JSON array of jobs (a real project's
 * answer, balena-io-experimental/amplitude-user-deletion) or, in the older example (2018 gist), one job object.
 */
const CreateResponse = z.union([Job, z.array(Job).min(1, 'must list at least one job')]);
/** `GET /api/2/deletions/users?start_day&end_day` → the jobs in the range (entries never carry user_id). */
const ListResponse = z.array(Job);
/** `DELETE /api/2/deletions/users/{amplitude_id}/{day}` → the entry removed. */
const CancelResponse = z.object({ amplitude_id: z.number().int() }).loose();

/**
 * The stored reference. Amplitude has no job id: the handle is (project, job day, amplitude ids), and one
 * user_id can map to several amplitude_ids, every one of which is kept and matched. `day` is the (latest) job
 * day holding them, `firstDay` the earliest when they sit in jobs of different days. `shared`: Amplitude's
 * answer did not say which ids belong to which customer (entries without user_id for a batch of several), so
 * the ids are the batch's. `amplitudeId` is the single id references written before several were kept.
 */
export const AmplitudeRefSchema = z.object({
  project: z.string(),
  day: Day.nullable(),
  firstDay: Day.optional(),
  id: z.string().min(1),
  idType: z.enum(['user_id', 'amplitude_id']),
  amplitudeIds: z.array(z.number().int()).optional(),
  amplitudeId: z.number().int().optional(),
  shared: z.literal(true).optional(),
  unknownUser: z.literal(true).optional(),
});
export type AmplitudeRef = z.infer<typeof AmplitudeRefSchema>;

/** The amplitude_ids a reference tracks (one for references written before several were kept). */
export const amplitudeIdsOf = (ref: AmplitudeRef): number[] => ref.amplitudeIds ?? (ref.amplitudeId === undefined ? [] : [ref.amplitudeId]);

export function amplitudePolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(AMPLITUDE_POLICY_DEFAULTS, overrides);
}

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);
const PROGRESS: Record<AmplitudeStatusWord, number> = { staging: 0, submitted: 1, done: 2 };

/** When a job is expected done: its scrub date (when readable) or its day, plus the 5 days for backups. */
function expectedDone(job: Job): number {
  const scrub = job.active_scrub_done_date ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(job.active_scrub_done_date) ? `${job.active_scrub_done_date}T00:00:00Z` : job.active_scrub_done_date) : Number.NaN;
  return (Number.isFinite(scrub) ? scrub : dayStart(job.day)) + AMPLITUDE_DONE_AFTER_MS;
}

/** Splits sorted distinct days into ranges no longer than AMPLITUDE_MAX_WINDOW_DAYS. */
export function dayWindows(days: readonly string[]): { start: string; end: string }[] {
  const sorted = [...new Set(days)].sort();
  const windows: { start: string; end: string }[] = [];
  for (const day of sorted) {
    const last = windows.at(-1);
    if (last && dayStart(day) - dayStart(last.start) <= AMPLITUDE_MAX_WINDOW_DAYS * DAY) last.end = day;
    else windows.push({ start: day, end: day });
  }
  return windows;
}

/** The least advanced of the jobs holding a customer's ids, with the latest expected completion among them. */
function verdictOf(held: readonly Job[]): { status: AmplitudeStatusWord; expected: number } {
  let status: AmplitudeStatusWord = 'done';
  let expected = 0;
  for (const job of held) {
    if (PROGRESS[job.status] < PROGRESS[status]) status = job.status;
    expected = Math.max(expected, expectedDone(job));
  }
  return { status, expected };
}

/**
 * Our state of one customer from the listed jobs: each of its amplitude_ids is looked up in the jobs of its
 * days (the GET list carries amplitude_id only, never user_id). An id found in several jobs counts in its most
 * advanced one; the customer is as far as its least advanced id. An id missing from every job is an error.
 */
export function amplitudeReport(ref: AmplitudeRef, jobs: readonly Job[]): StatusReport {
  const ids = amplitudeIdsOf(ref);
  const from = ref.firstDay ?? ref.day;
  const inRange = jobs.filter((j) => ref.day !== null && from !== null && j.day >= from && j.day <= ref.day);
  if (ids.length === 0) {
    return { state: 'error', rawStatus: AMPLITUDE_MISSING, payload: { day: ref.day }, detail: 'the reference holds no Amplitude id to look for' };
  }
  if (inRange.length === 0) {
    return {
      state: 'error',
      rawStatus: AMPLITUDE_MISSING,
      payload: { day: ref.day, jobs: jobs.length },
      detail: `Amplitude lists no deletion job for ${from === ref.day ? ref.day : `${from} to ${ref.day}`}`,
    };
  }
  const held: Job[] = [];
  const missing: number[] = [];
  for (const id of ids) {
    const holding = inRange.filter((j) => j.amplitude_ids.some((e) => e.amplitude_id === id));
    if (holding.length === 0) missing.push(id);
    else held.push(holding.reduce((best, j) => (PROGRESS[j.status] > PROGRESS[best.status] ? j : best)));
  }
  if (missing.length > 0) {
    return {
      state: 'error',
      rawStatus: AMPLITUDE_MISSING,
      payload: { day: ref.day, statuses: inRange.map((j) => j.status), missing },
      detail: `amplitude_id ${missing.join(', ')} of the customer ${missing.length === 1 ? 'is' : 'are'} missing from Amplitude's deletion jobs of ${ref.day}`,
    };
  }
  const { status, expected } = verdictOf(held);
  const days = [...new Set(held.map((j) => j.day))].sort();
  const scrubbed = held.map((j) => j.active_scrub_done_date).filter((d): d is string => typeof d === 'string');
  return {
    state: AMPLITUDE_STATUS_MAP[status],
    rawStatus: status,
    payload: { days, statuses: held.map((j) => j.status), amplitudeIds: ids, ...(scrubbed.length > 0 ? { activeScrubDoneDates: scrubbed } : {}) },
    expectedCompletionAt: new Date(expected),
  };
}

/**
 * Amplitude User Privacy API v1 (vendors.md A3 and its corrections), HTTP Basic with the project's API key
 * and secret key. submit() sends up to 100 ids (user_ids or amplitude_ids, as `settings.idType` says) with
 * include_mapped_user_ids, so each answered entry names its user_id, and ignore_invalid_ids (both documented
 * spellings) unless turned off. It accepts the answer as a job array or a single job, and keeps every
 * amplitude_id mapped to a customer. When the entries carry no user_id, the ids are the customer's if it is
 * the only known one in the batch, else the batch's (`shared`). A customer Amplitude does not know comes back
 * `completed` with rawStatus `invalid_id` (nothing to delete); without ignore_invalid_ids one unknown customer
 * makes Amplitude refuse the whole batch with 400 (a VendorRejectedError).
 * checkStatus() lists the jobs over the operations' days (windows of at most 180 days) and finds each
 * customer's amplitude_ids there (amplitudeReport). cancel() removes each of the customer's ids from its
 * staging job, until 3 days before the job's day; never for `shared` ids.
 */
export function createAmplitudeVendor(
  settings: VendorSettings<'amplitude'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
): DeletionVendor {
  const name = 'amplitude';
  const merged = amplitudePolicy(policy);
  const base = (settings.baseUrl ?? REGION_HOSTS[settings.region]).replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${settings.apiKey}:${settings.secretKey}`).toString('base64')}` };

  const refOf = (op: OperationToCheck): AmplitudeRef | undefined => {
    const ref = AmplitudeRefSchema.safeParse(op.ref);
    return ref.success ? ref.data : undefined;
  };

  const invalidReport = (payload: unknown): StatusReport => ({
    state: 'completed',
    rawStatus: AMPLITUDE_INVALID_ID,
    payload,
    detail: 'Amplitude knows no such user: nothing to delete',
  });

  return {
    name,
    policy: merged,

    async submit(subjects) {
      if (subjects.length === 0) return [];
      if (subjects.length > AMPLITUDE_MAX_IDS) {
        throw new RangeError(`amplitude: ${subjects.length} ids in one request; at most ${AMPLITUDE_MAX_IDS}`);
      }
      const body: Record<string, unknown> = { requester: settings.requester, include_mapped_user_ids: true };
      if (settings.idType === 'user_id') {
        body['user_ids'] = subjects.map((s) => s.customerId);
      } else {
        const bad = subjects.filter((s) => !/^\d{1,16}$/.test(s.customerId));
        if (bad.length > 0) {
          throw new VendorRejectedError(name, `customer ids ${bad.map((s) => `"${s.customerId}"`).join(', ')} are not Amplitude ids (integers)`);
        }
        body['amplitude_ids'] = subjects.map((s) => Number(s.customerId));
      }
      if (settings.ignoreInvalidIds) {
        // The docs spell it both ways (vendors.md §0.3); send both so either reading applies.
        body['ignore_invalid_id'] = true;
        body['ignore_invalid_ids'] = true;
      }
      const { body: answer } = await callVendor(
        name,
        { method: 'POST', url: base + PATH, headers, json: body, timeoutMs: merged.timeoutMs },
        CreateResponse,
      );
      const jobs = Array.isArray(answer) ? answer : [answer];
      const entries = jobs.flatMap((job) => job.amplitude_ids.map((entry) => ({ entry, job })));
      const invalid = new Set(jobs.flatMap((j) => j.invalid_ids ?? []).map(String));
      const known = subjects.filter((s) => !invalid.has(s.customerId));
      const named = entries.length > 0 && entries.every(({ entry }) => entry.user_id !== undefined && entry.user_id !== null);

      return subjects.map((s): SubmittedOperation => {
        let mine: { entry: Entry; job: Job }[];
        let shared = false;
        if (settings.idType === 'amplitude_id') mine = entries.filter(({ entry }) => String(entry.amplitude_id) === s.customerId);
        else if (named) mine = entries.filter(({ entry }) => String(entry.user_id) === s.customerId);
        else if (invalid.has(s.customerId)) mine = [];
        else {
          // No user_id in the answer: the ids are this customer's only if it is the one known customer sent.
          mine = entries;
          shared = known.length > 1;
        }
        if (mine.length === 0 && invalid.has(s.customerId)) {
          const ref: AmplitudeRef = { project: settings.project, day: null, id: s.customerId, idType: settings.idType, unknownUser: true };
          return { deletionId: s.deletionId, ref, operationId: `${settings.project}/unknown/${s.customerId}`, status: invalidReport({ invalid_id: s.customerId }) };
        }
        const days = [...new Set((mine.length > 0 ? mine : entries.length > 0 ? entries : jobs.map((job) => ({ job }))).map(({ job }) => job.day))].sort();
        const day = days.at(-1)!;
        const ref: AmplitudeRef = {
          project: settings.project,
          day,
          id: s.customerId,
          idType: settings.idType,
          amplitudeIds: [...new Set(mine.map(({ entry }) => entry.amplitude_id))],
        };
        if (days.length > 1) ref.firstDay = days[0]!;
        if (shared) ref.shared = true;
        const op: SubmittedOperation = { deletionId: s.deletionId, ref, operationId: `${settings.project}/${day}/${s.customerId}` };
        if (mine.length === 0) {
          op.status = {
            state: 'error',
            rawStatus: AMPLITUDE_MISSING,
            payload: { days, invalid_ids: [...invalid] },
            detail: "Amplitude's answer lists no amplitude_id for the customer, nor names it invalid",
          };
          return op;
        }
        const { status, expected } = verdictOf(mine.map(({ job }) => job));
        op.status = {
          state: AMPLITUDE_STATUS_MAP[status],
          rawStatus: status,
          payload: { days, status, entries: mine.map(({ entry }) => entry), ...(shared ? { sharedWithBatch: known.length } : {}) },
          expectedCompletionAt: new Date(expected),
        };
        return op;
      });
    },

    // One listing per batch: operations of one day are read by one call (undated ones by none).
    jobOf: (op) => refOf(op)?.day ?? 'undated',

    async checkStatus(operations) {
      const reports = new Map<string, StatusReport>();
      const dated: { op: OperationToCheck; ref: AmplitudeRef }[] = [];
      for (const op of operations) {
        const ref = refOf(op);
        if (!ref) {
          reports.set(op.deletionId, {
            state: 'error',
            rawStatus: 'unreadable_ref',
            payload: { ref: op.ref },
            detail: 'the stored reference is not an Amplitude { project, day, id } reference',
          });
        } else if (ref.unknownUser || ref.day === null) {
          reports.set(op.deletionId, invalidReport({ invalid_id: ref.id }));
        } else {
          dated.push({ op, ref });
        }
      }
      if (dated.length === 0) return reports;
      const jobs: Job[] = [];
      for (const window of dayWindows(dated.flatMap(({ ref }) => [ref.day!, ...(ref.firstDay ? [ref.firstDay] : [])]))) {
        const url = `${base}${PATH}?start_day=${window.start}&end_day=${window.end}`;
        const { body } = await callVendor(name, { method: 'GET', url, headers, timeoutMs: merged.timeoutMs }, ListResponse);
        jobs.push(...body);
      }
      for (const { op, ref } of dated) reports.set(op.deletionId, amplitudeReport(ref, jobs));
      return reports;
    },

    async cancel(op) {
      const ref = refOf(op);
      const ids = ref ? amplitudeIdsOf(ref) : [];
      if (!ref || ref.day === null || ref.shared || ref.firstDay !== undefined || ids.length === 0) return false;
      if (clock.now().getTime() >= dayStart(ref.day) - AMPLITUDE_CANCEL_BEFORE_MS) return false;
      const removed: number[] = [];
      for (const id of ids) {
        try {
          await callVendor(name, { method: 'DELETE', url: `${base}${PATH}/${id}/${ref.day}`, headers, timeoutMs: merged.timeoutMs }, CancelResponse);
          removed.push(id);
        } catch (err) {
          // The job has left staging: Amplitude documents no particular code for it.
          if (!(err instanceof VendorRejectedError)) throw err;
          if (removed.length === 0) return false;
          throw new VendorRejectedError(
            name,
            `removed amplitude_id ${removed.join(', ')} from the job of ${ref.day}, then Amplitude refused ${id}: ${err.message}`,
            { cause: err, ...(err.status === undefined ? {} : { status: err.status }) },
          );
        }
      }
      return true;
    },
  };
}
