import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor, pathSegment } from '../callVendor.js';
import { withPolicyOverrides, type DeletionSubject, type DeletionVendor, type OperationToCheck, type StatusReport, type SubmittedOperation, type VendorPolicy } from '../DeletionVendor.js';
import { VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { AMPLITUDE_INVALID_ID, AMPLITUDE_MISSING, AMPLITUDE_STATUS_MAP } from './status.js';
import {
  amplitudeIdsOf,
  amplitudeReport,
  AmplitudeRefSchema,
  CancelResponse,
  CreateResponse,
  dayStart,
  dayWindows,
  ListResponse,
  verdictOf,
  type AmplitudeRef,
  type Entry,
  type Job,
} from './jobs.js';

import { readUserSearch, USER_SEARCH_PATH, UserSearchResponse } from './lookup.js';

export { AMPLITUDE_DONE_AFTER_MS, AMPLITUDE_MAX_WINDOW_DAYS, amplitudeIdsOf, amplitudeReport, AmplitudeRefSchema, dayWindows, type AmplitudeRef } from './jobs.js';

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
/** A job can be changed until this long before its day. */
export const AMPLITUDE_CANCEL_BEFORE_MS = 3 * DAY;

const REGION_HOSTS = { US: 'https://amplitude.com', EU: 'https://analytics.eu.amplitude.com' } as const;
const PATH = '/api/2/deletions/users';

export function amplitudePolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(AMPLITUDE_POLICY_DEFAULTS, overrides);
}

function refOf(op: OperationToCheck): AmplitudeRef | undefined {
  const ref = AmplitudeRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : undefined;
}

function invalidReport(payload: unknown): StatusReport {
  return { state: 'completed', rawStatus: AMPLITUDE_INVALID_ID, payload, detail: 'Amplitude knows no such user: nothing to delete' };
}

/**
 * The create call's body: the customers as user_ids or amplitude_ids, include_mapped_user_ids so each answered
 * entry names its user_id, and the invalid-id flag unless turned off.
 */
function createBody(settings: VendorSettings<'amplitude'>, subjects: DeletionSubject[]): Record<string, unknown> {
  const body: Record<string, unknown> = { requester: settings.requester, include_mapped_user_ids: true };
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

type JobEntry = { entry: Entry; job: Job };

/** The create call's answer for a batch: its jobs, every entry with its job, the ids named invalid, the customers not. */
interface CreateAnswer {
  jobs: Job[];
  entries: JobEntry[];
  invalid: Set<string>;
  known: DeletionSubject[];
  /** Every entry names its user_id (include_mapped_user_ids was honoured). */
  named: boolean;
}

function readAnswer(answer: Job | Job[], subjects: DeletionSubject[]): CreateAnswer {
  const jobs = Array.isArray(answer) ? answer : [answer];
  const entries = jobs.flatMap((job) => job.amplitude_ids.map((entry) => ({ entry, job })));
  const invalid = new Set(jobs.flatMap((j) => j.invalid_ids ?? []).map(String));
  const known = subjects.filter((s) => !invalid.has(s.customerId));
  const named = entries.length > 0 && entries.every(({ entry }) => entry.user_id !== undefined && entry.user_id !== null);
  return { jobs, entries, invalid, known, named };
}

/** The entries that are one customer's, and whether they are the batch's rather than its own (`shared`). */
function entriesOf(settings: VendorSettings<'amplitude'>, s: DeletionSubject, a: CreateAnswer): { mine: JobEntry[]; shared: boolean } {
  if (settings.idType === 'amplitude_id') return { mine: a.entries.filter(({ entry }) => String(entry.amplitude_id) === s.customerId), shared: false };
  if (a.named) return { mine: a.entries.filter(({ entry }) => String(entry.user_id) === s.customerId), shared: false };
  if (a.invalid.has(s.customerId)) return { mine: [], shared: false };
  // No user_id in the answer: the ids are this customer's only if it is the one known customer sent.
  return { mine: a.entries, shared: a.known.length > 1 };
}

/** One customer's operation from the create call's answer (an unknown customer: nothing to delete). */
function operationFor(settings: VendorSettings<'amplitude'>, s: DeletionSubject, a: CreateAnswer): SubmittedOperation {
  const { mine, shared } = entriesOf(settings, s, a);
  if (mine.length === 0 && a.invalid.has(s.customerId)) {
    const ref: AmplitudeRef = { project: settings.project, day: null, id: s.customerId, idType: settings.idType, unknownUser: true };
    return { deletionId: s.deletionId, ref, operationId: `${settings.project}/unknown/${s.customerId}`, status: invalidReport({ invalid_id: s.customerId }) };
  }
  const days = [...new Set((mine.length > 0 ? mine : a.entries.length > 0 ? a.entries : a.jobs.map((job) => ({ job }))).map(({ job }) => job.day))].sort();
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
      payload: { days, invalid_ids: [...a.invalid] },
      detail: "Amplitude's answer lists no amplitude_id for the customer, nor names it invalid",
    };
    return op;
  }
  const { status, expected, source } = verdictOf(mine.map(({ job }) => job));
  op.status = {
    state: AMPLITUDE_STATUS_MAP[status],
    rawStatus: status,
    payload: { days, status, entries: mine.map(({ entry }) => entry), ...(shared ? { sharedWithBatch: a.known.length } : {}) },
    expectedCompletionAt: new Date(expected),
    expectedCompletionSource: source,
  };
  return op;
}

/** Splits operations into those answered without a call (unreadable, unknown user) and those to look up in the jobs. */
function sortOperations(operations: OperationToCheck[]): { reports: Map<string, StatusReport>; dated: { op: OperationToCheck; ref: AmplitudeRef }[] } {
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
  return { reports, dated };
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

  /** Removes one id from the job of `day`; false when Amplitude refuses (the job has left staging). */
  async function removeId(id: number, day: string, removed: readonly number[]): Promise<boolean> {
    try {
      await callVendor(name, { method: 'DELETE', url: `${base}${PATH}/${id}/${pathSegment(name, day)}`, headers, timeoutMs: merged.timeoutMs }, CancelResponse);
      return true;
    } catch (err) {
      // The job has left staging: Amplitude documents no particular code for it.
      if (!(err instanceof VendorRejectedError)) throw err;
      if (removed.length === 0) return false;
      throw new VendorRejectedError(name, `removed amplitude_id ${removed.join(', ')} from the job of ${day}, then Amplitude refused ${id}: ${err.message}`, {
        cause: err,
        ...(err.status === undefined ? {} : { status: err.status }),
      });
    }
  }

  return {
    name,
    policy: merged,

    async submit(subjects) {
      if (subjects.length === 0) return [];
      if (subjects.length > AMPLITUDE_MAX_IDS) {
        throw new RangeError(`amplitude: ${subjects.length} ids in one request; at most ${AMPLITUDE_MAX_IDS}`);
      }
      const body = createBody(settings, subjects);
      const { body: answer } = await callVendor(name, { method: 'POST', url: base + PATH, headers, json: body, timeoutMs: merged.timeoutMs }, CreateResponse);
      const read = readAnswer(answer, subjects);
      return subjects.map((s) => operationFor(settings, s, read));
    },

    // One listing per batch: operations of one day are read by one call (undated ones by none).
    jobOf: (op) => refOf(op)?.day ?? 'undated',

    async checkStatus(operations, round) {
      const { reports, dated } = sortOperations(operations);
      if (dated.length === 0) return reports;
      const jobs: Job[] = [];
      for (const window of dayWindows(dated.flatMap(({ ref }) => [ref.day!, ...(ref.firstDay ? [ref.firstDay] : [])]))) {
        const url = `${base}${PATH}?start_day=${window.start}&end_day=${window.end}`;
        const list = async () => (await callVendor(name, { method: 'GET', url, headers, timeoutMs: merged.timeoutMs }, ListResponse)).body;
        // A one-day window is that day's job (jobOf), read once per check round.
        const key = window.start === window.end ? window.start : `${window.start}..${window.end}`;
        jobs.push(...(await (round ? round.read(key, list) : list())));
      }
      for (const { op, ref } of dated) reports.set(op.deletionId, amplitudeReport(ref, jobs));
      return reports;
    },

    ...(settings.verify
      ? {
          async verify(op: OperationToCheck) {
            const url = `${base}${USER_SEARCH_PATH}?user=${encodeURIComponent(op.customerId)}`;
            const { body } = await callVendor(name, { method: 'GET', url, headers, timeoutMs: merged.timeoutMs }, UserSearchResponse);
            return readUserSearch(body, op, settings.idType);
          },
        }
      : {}),

    async cancel(op) {
      const ref = refOf(op);
      const ids = ref ? amplitudeIdsOf(ref) : [];
      if (!ref || ref.day === null || ref.shared || ref.firstDay !== undefined || ids.length === 0) return false;
      if (clock.now().getTime() >= dayStart(ref.day) - AMPLITUDE_CANCEL_BEFORE_MS) return false;
      const removed: number[] = [];
      for (const id of ids) {
        if (!(await removeId(id, ref.day, removed))) return false;
        removed.push(id);
      }
      return true;
    },
  };
}
