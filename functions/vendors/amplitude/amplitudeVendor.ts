import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor } from '../callVendor.js';
import { withPolicyOverrides, type DeletionSubject, type DeletionVendor, type OperationToCheck, type StatusReport, type SubmittedOperation, type VendorPolicy } from '../DeletionVendor.js';
import { VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { AMPLITUDE_INVALID_ID, AMPLITUDE_MISSING, AMPLITUDE_STATUS_MAP, AmplitudeStatusWordSchema } from './status.js';

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
const AmplitudeUser = z
  .object({
    amplitude_id: z.number().int(),
    requester: z.string().nullish(),
    requested_on_day: z.string().nullish(),
    user_id: z.string().nullish(),
  })
  .loose();

/** `POST /api/2/deletions/users` → the job the ids were added to. */
const CreateResponse = z
  .object({
    day: Day,
    status: AmplitudeStatusWordSchema,
    amplitude_ids: z.array(AmplitudeUser),
    app: z.unknown().optional(),
    invalid_ids: z.array(z.union([z.string(), z.number()])).optional(),
  })
  .loose();

const Job = z
  .object({
    day: Day,
    status: AmplitudeStatusWordSchema,
    amplitude_ids: z.array(AmplitudeUser),
    app: z.unknown().optional(),
    active_scrub_done_date: Day.nullish(),
  })
  .loose();
/** `GET /api/2/deletions/users?start_day&end_day` → the jobs in the range. */
const ListResponse = z.array(Job);
type Job = z.infer<typeof Job>;

/** The stored reference: Amplitude has no job id, so (project, day, customer) is the handle. */
export const AmplitudeRefSchema = z.object({
  project: z.string(),
  day: Day.nullable(),
  id: z.string().min(1),
  idType: z.enum(['user_id', 'amplitude_id']),
  amplitudeId: z.number().int().optional(),
  unknownUser: z.literal(true).optional(),
});
export type AmplitudeRef = z.infer<typeof AmplitudeRefSchema>;

export function amplitudePolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(AMPLITUDE_POLICY_DEFAULTS, overrides);
}

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

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

/** Our state of one customer from the job of its day (or from its absence). */
export function amplitudeReport(ref: AmplitudeRef, jobs: readonly Job[]): StatusReport {
  const sameDay = jobs.filter((j) => j.day === ref.day);
  if (sameDay.length === 0) {
    return {
      state: 'error',
      rawStatus: AMPLITUDE_MISSING,
      payload: { day: ref.day, jobs: jobs.length },
      detail: `Amplitude lists no deletion job for ${ref.day}`,
    };
  }
  for (const job of sameDay) {
    const user = job.amplitude_ids.find((u) =>
      ref.amplitudeId !== undefined ? u.amplitude_id === ref.amplitudeId : ref.idType === 'user_id' ? u.user_id === ref.id : String(u.amplitude_id) === ref.id,
    );
    if (!user) continue;
    const { amplitude_ids: users, ...rest } = job;
    const scrubbed = job.active_scrub_done_date ?? job.day;
    return {
      state: AMPLITUDE_STATUS_MAP[job.status],
      rawStatus: job.status,
      payload: { ...rest, user, users: users.length },
      expectedCompletionAt: new Date(dayStart(scrubbed) + AMPLITUDE_DONE_AFTER_MS),
    };
  }
  return {
    state: 'error',
    rawStatus: AMPLITUDE_MISSING,
    payload: { day: ref.day, statuses: sameDay.map((j) => j.status) },
    detail: `the customer is missing from Amplitude's deletion job of ${ref.day}`,
  };
}

function refOf(op: OperationToCheck): AmplitudeRef | undefined {
  const ref = AmplitudeRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : undefined;
}

function invalidReport(payload: unknown): StatusReport {
  return { state: 'completed', rawStatus: AMPLITUDE_INVALID_ID, payload, detail: 'Amplitude knows no such user: nothing to delete' };
}

/** The create call's body: the customers as user_ids or amplitude_ids, and the invalid-id flag unless turned off. */
function createBody(settings: VendorSettings<'amplitude'>, subjects: DeletionSubject[]): Record<string, unknown> {
  const body: Record<string, unknown> = { requester: settings.requester };
  if (settings.idType === 'user_id') {
    body['user_ids'] = subjects.map((s) => s.customerId);
  } else {
    const bad = subjects.filter((s) => !/^\d{1,16}$/.test(s.customerId));
    if (bad.length > 0) {
      throw new VendorRejectedError('amplitude', `customer ids ${bad.map((s) => `"${s.customerId}"`).join(', ')} are not Amplitude ids (integers)`);
    }
    body['amplitude_ids'] = subjects.map((s) => Number(s.customerId));
  }
  if (settings.ignoreInvalidIds) {
    // The docs spell it both ways (vendors.md §0.3); send both so either reading applies.
    body['ignore_invalid_id'] = true;
    body['ignore_invalid_ids'] = true;
  }
  return body;
}

/** Each customer's operation from the job the create call answered with (an unknown customer: nothing to delete). */
function submittedOperations(settings: VendorSettings<'amplitude'>, subjects: DeletionSubject[], job: z.infer<typeof CreateResponse>): SubmittedOperation[] {
  const invalid = new Set((job.invalid_ids ?? []).map(String));
  return subjects.map((s): SubmittedOperation => {
    const user = job.amplitude_ids.find((u) =>
      settings.idType === 'user_id' ? u.user_id === s.customerId : String(u.amplitude_id) === s.customerId,
    );
    const ref: AmplitudeRef = { project: settings.project, day: job.day, id: s.customerId, idType: settings.idType };
    if (invalid.has(s.customerId) && !user) {
      const unknown: AmplitudeRef = { ...ref, day: null, unknownUser: true };
      return {
        deletionId: s.deletionId,
        ref: unknown,
        operationId: `${settings.project}/unknown/${s.customerId}`,
        status: invalidReport({ invalid_id: s.customerId }),
      };
    }
    if (user) ref.amplitudeId = user.amplitude_id;
    const op: SubmittedOperation = { deletionId: s.deletionId, ref, operationId: `${settings.project}/${job.day}/${s.customerId}` };
    if (user) {
      op.status = {
        state: AMPLITUDE_STATUS_MAP[job.status],
        rawStatus: job.status,
        payload: { day: job.day, status: job.status, user },
        expectedCompletionAt: new Date(dayStart(job.day) + AMPLITUDE_DONE_AFTER_MS),
      };
    }
    return op;
  });
}

/**
 * Amplitude User Privacy API v1 (vendors.md A3), HTTP Basic with the project's API key and secret key.
 * submit() sends up to 100 ids (user_ids or amplitude_ids, as `settings.idType` says) with
 * ignore_invalid_ids (both documented spellings) unless turned off: a customer Amplitude does not know
 * comes back `completed` with rawStatus `invalid_id` (nothing to delete), where without it one unknown
 * customer makes Amplitude refuse the whole batch with 400 (a VendorRejectedError).
 * There is no job id: each customer's reference is { project, day, id, amplitudeId }. checkStatus() lists the
 * jobs over the operations' days (windows of at most 180 days) and finds each customer in the job of its
 * day; a customer missing from it is state `error`. cancel() removes the customer from a staging job, until
 * 3 days before the job's day.
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

  return {
    name,
    policy: merged,

    async submit(subjects) {
      if (subjects.length === 0) return [];
      if (subjects.length > AMPLITUDE_MAX_IDS) {
        throw new RangeError(`amplitude: ${subjects.length} ids in one request; at most ${AMPLITUDE_MAX_IDS}`);
      }
      const body = createBody(settings, subjects);
      const { body: job } = await callVendor(
        name,
        { method: 'POST', url: base + PATH, headers, json: body, timeoutMs: merged.timeoutMs },
        CreateResponse,
      );
      return submittedOperations(settings, subjects, job);
    },

    // One listing per batch: operations of one day are read by one call (undated ones by none).
    jobOf: (op) => refOf(op)?.day ?? 'undated',

    async checkStatus(operations) {
      const reports = new Map<string, StatusReport>();
      const dated: { op: OperationToCheck; ref: AmplitudeRef & { day: string } }[] = [];
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
          dated.push({ op, ref: { ...ref, day: ref.day } });
        }
      }
      for (const window of dayWindows(dated.map((d) => d.ref.day))) {
        const url = `${base}${PATH}?start_day=${window.start}&end_day=${window.end}`;
        const { body: jobs } = await callVendor(name, { method: 'GET', url, headers, timeoutMs: merged.timeoutMs }, ListResponse);
        for (const { op, ref } of dated) {
          if (ref.day >= window.start && ref.day <= window.end) reports.set(op.deletionId, amplitudeReport(ref, jobs));
        }
      }
      return reports;
    },

    async cancel(op) {
      const ref = refOf(op);
      if (!ref || ref.day === null || ref.amplitudeId === undefined) return false;
      if (clock.now().getTime() >= dayStart(ref.day) - AMPLITUDE_CANCEL_BEFORE_MS) return false;
      try {
        await callVendor(
          name,
          { method: 'DELETE', url: `${base}${PATH}/${ref.amplitudeId}/${ref.day}`, headers, timeoutMs: merged.timeoutMs },
          null,
        );
        return true;
      } catch (err) {
        // The job has left staging: Amplitude documents no particular code for it.
        if (err instanceof VendorRejectedError) return false;
        throw err;
      }
    },
  };
}
