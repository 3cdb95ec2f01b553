/**
 * Amplitude's deletion jobs as its User Privacy API answers them, the reference we keep for a customer, and how
 * a customer's state is read from the listed jobs.
 */
import { z } from 'zod';
import { DAY } from '../../clock.js';
import type { StatusReport } from '../DeletionVendor.js';
import { AMPLITUDE_MISSING, AMPLITUDE_STATUS_MAP, AmplitudeStatusWordSchema, type AmplitudeStatusWord } from './status.js';

/** Amplitude waits this long after the scrub (or the job day) for backups to clear before `done`. */
export const AMPLITUDE_DONE_AFTER_MS = 5 * DAY;
/** The longest date range one status listing may cover (the API allows six months). */
export const AMPLITUDE_MAX_WINDOW_DAYS = 180;

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
export type Entry = z.infer<typeof Entry>;

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
export type Job = z.infer<typeof Job>;

/**
 * `POST /api/2/deletions/users` → the job(s) the ids were added to: a JSON array of jobs (a real project's
 * answer, balena-io-experimental/amplitude-user-deletion) or, in the older example (2018 gist), one job object.
 */
export const CreateResponse = z.union([Job, z.array(Job).min(1, 'must list at least one job')]);
/** `GET /api/2/deletions/users?start_day&end_day` → the jobs in the range (entries never carry user_id). */
export const ListResponse = z.array(Job);
/** `DELETE /api/2/deletions/users/{amplitude_id}/{day}` → the entry removed. */
export const CancelResponse = z.object({ amplitude_id: z.number().int() }).loose();

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

export const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);
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
export function verdictOf(held: readonly Job[]): { status: AmplitudeStatusWord; expected: number; source: string } {
  let status: AmplitudeStatusWord = 'done';
  let expected = 0;
  let source = '';
  for (const job of held) {
    if (PROGRESS[job.status] < PROGRESS[status]) status = job.status;
    const done = expectedDone(job);
    if (done > expected) {
      expected = done;
      source = job.active_scrub_done_date ? `active_scrub_done_date ${job.active_scrub_done_date} + 5 days` : `job day ${job.day} + 5 days`;
    }
  }
  return { status, expected, source };
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
  const { status, expected, source } = verdictOf(held);
  const days = [...new Set(held.map((j) => j.day))].sort();
  const scrubbed = held.map((j) => j.active_scrub_done_date).filter((d): d is string => typeof d === 'string');
  return {
    state: AMPLITUDE_STATUS_MAP[status],
    rawStatus: status,
    payload: { days, statuses: held.map((j) => j.status), amplitudeIds: ids, ...(scrubbed.length > 0 ? { activeScrubDoneDates: scrubbed } : {}) },
    expectedCompletionAt: new Date(expected),
    expectedCompletionSource: source,
  };
}

