import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DAY, HOUR, SECOND } from '../../clock.js';
import { callVendor, sampleBody, pathSegment } from '../callVendor.js';
import {
  withPolicyOverrides,
  type DeletionSubject,
  type DeletionVendor,
  type OperationToCheck,
  type Regulation,
  type StatusReport,
  type SubmittedOperation,
  type VendorPolicy,
} from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { MIXPANEL_STATUS_DETAIL, MIXPANEL_STATUS_MAP, MixpanelStatusWordSchema } from './status.js';
import { checkSharedJobs } from '../sharedJobs.js';
import { ENGAGE_PATH, EngageResponse, readEngage } from './lookup.js';
import { splitDecision } from '../../domain/taskSplit.js';

/**
 * Mixpanel's documented limits (vendors.md A2): 1999 distinct_ids per task (the lower of the two figures
 * the docs give), 1 request a second across the GDPR APIs, up to 30 days. Tasks may wait weeks before
 * STARTED, so "no progress" waits 14 days.
 */
export const MIXPANEL_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 1999,
  requestsPerSecond: 1,
  concurrency: 1,
  expectedDurationMs: 30 * DAY,
  noProgressMs: 14 * DAY,
  minCheckIntervalMs: 1 * HOUR,
  maxCheckIntervalMs: 24 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 30 * SECOND,
};

export const MIXPANEL_MAX_DISTINCT_IDS = 1999;

const REGION_HOSTS = { US: 'https://mixpanel.com', EU: 'https://eu.mixpanel.com', IN: 'https://in.mixpanel.com' } as const;
const PATH = '/api/app/data-deletions/v3.0/';

/**
 * The create response. The OpenAPI file documents `201 { status: "ok", results: { task_id } }` (the reference
 * page's Cancel Deletion example shows the same); the reference page's create example shows
 * `{ status: "ok", results: [{ status, tracking_id, … }] }`. Both are accepted, nothing else.
 */
const CreateResponse = z.union([
  z.object({ status: z.literal('ok'), results: z.object({ task_id: z.string().min(1) }) }),
  z.object({
    status: z.literal('ok'),
    results: z
      .array(z.object({ tracking_id: z.string().min(1), status: MixpanelStatusWordSchema }).loose())
      .length(1, 'must hold exactly one task'),
  }),
]);

/**
 * `GET …/v3.0/{tracking_id}` → `{ status, results: { status, … } }`. The OpenAPI file's DeletionJobResult
 * carries tracking_id and the task's details; the reference page's example has only status, result and
 * distinct_ids. tracking_id is therefore optional, but must name the task asked for when present.
 */
const StatusResponse = z.object({
  status: z.string(),
  results: z.object({ tracking_id: z.string().min(1).optional(), status: MixpanelStatusWordSchema }).loose(),
});

/** Mixpanel spells the law in upper case (`compliance_type`: GDPR or CCPA). */
const COMPLIANCE_TYPE: Record<Regulation, 'GDPR' | 'CCPA'> = { gdpr: 'GDPR', ccpa: 'CCPA' };

/**
 * The stored reference: the task, how many customers share it (cancel is only safe for one), the customer's
 * position among the task's distinct_ids (a failed task is split by it, domain/taskSplit.ts) and the failed tasks
 * it was split from. References written before positions were kept have no `index`: such a task is resubmitted whole.
 */
export const MixpanelRefSchema = z.object({
  trackingId: z.string().min(1),
  subjects: z.number().int().min(1),
  index: z.number().int().min(0).optional(),
  splitFrom: z.array(z.string()).optional(),
  /** With callbacks: the task's subject_request_id (a UUID v4 we made), which Mixpanel echoes on each callback. */
  subjectRequestId: z.string().optional(),
});

export function mixpanelPolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(MIXPANEL_POLICY_DEFAULTS, overrides);
}

function refOf(op: OperationToCheck) {
  const ref = MixpanelRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : { trackingId: op.operationId, subjects: Number.MAX_SAFE_INTEGER };
}

/** compliance_type belongs to the task: customers under different laws go in separate tasks. */
function byLaw(subjects: DeletionSubject[], fallback: 'GDPR' | 'CCPA'): Map<'GDPR' | 'CCPA', DeletionSubject[]> {
  const groups = new Map<'GDPR' | 'CCPA', DeletionSubject[]>();
  for (const s of subjects) {
    const law = s.regulation ? COMPLIANCE_TYPE[s.regulation] : fallback;
    groups.set(law, [...(groups.get(law) ?? []), s]);
  }
  return groups;
}

/** Each customer's operation from the create call's answer: the task id, and the task's status where the answer gives it. */
function taskOperations(subjects: DeletionSubject[], results: z.infer<typeof CreateResponse>['results'], subjectRequestId?: string): SubmittedOperation[] {
  const task = Array.isArray(results) ? results[0]! : undefined;
  const trackingId = Array.isArray(results) ? task!.tracking_id : results.task_id;
  return subjects.map((s, index): SubmittedOperation => {
    const ref = { trackingId, subjects: subjects.length, index, ...(subjectRequestId ? { subjectRequestId } : {}) };
    const op: SubmittedOperation = { deletionId: s.deletionId, ref, operationId: trackingId };
    if (task) op.status = { state: MIXPANEL_STATUS_MAP[task.status], rawStatus: task.status, payload: redactTask(task) };
    return op;
  });
}

/**
 * Mixpanel GDPR API v3 deletions (vendors.md A2) on the region's host: one task per batch of distinct_ids
 * (the customer ids), the project token as the `token` query parameter, the OAuth token as Bearer (it
 * expires after a year: the 401 is a VendorAuthError the poller raises as "credential rejected"). With
 * `callbackUrls` (callbacks enabled by Mixpanel), each task gets a subject_request_id of its own and asks for signed
 * status callbacks there (`status_callback_urls`); the id is kept in the reference to find the task's rows.
 * checkStatus() reads each distinct task once. cancel() (DELETE) works until STARTED (405 after), and only
 * for a task of one customer.
 */
export function createMixpanelVendor(settings: VendorSettings<'mixpanel'>, policy?: Partial<VendorPolicy>, callbackUrls?: readonly string[]): DeletionVendor {
  const name = 'mixpanel';
  const merged = mixpanelPolicy(policy);
  const base = (settings.baseUrl ?? REGION_HOSTS[settings.region]).replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${settings.token}` };
  const query = `?token=${encodeURIComponent(settings.projectToken)}`;
  const createUrl = `${base}${PATH}${query}`;
  const taskUrl = (id: string) => `${base}${PATH}${pathSegment(name, id)}${query}`;

  const readTask = async (trackingId: string): Promise<StatusReport> => {
    const { body } = await callVendor(name, { method: 'GET', url: taskUrl(trackingId), headers, timeoutMs: merged.timeoutMs }, StatusResponse);
    if (body.results.tracking_id !== undefined && body.results.tracking_id !== trackingId) {
      throw new VendorContractError(
        name,
        `GET ${base}${PATH}${trackingId} answered for task "${body.results.tracking_id}"`,
        sampleBody(JSON.stringify(body)),
        { status: 200 },
      );
    }
    const word = body.results.status;
    const report: StatusReport = { state: MIXPANEL_STATUS_MAP[word], rawStatus: word, payload: redactTask(body.results) };
    const detail = MIXPANEL_STATUS_DETAIL[word];
    // The reference page's answer carries a `result` string: Mixpanel's own words, when it says more.
    const result = typeof body.results['result'] === 'string' ? body.results['result'].trim() : '';
    if (detail) report.detail = result ? `${detail} (result: ${result.slice(0, 300)})` : detail;
    return report;
  };

  const createTask = async (subjects: DeletionSubject[], complianceType: 'GDPR' | 'CCPA'): Promise<SubmittedOperation[]> => {
    const subjectRequestId = callbackUrls?.length ? randomUUID() : undefined;
    const callbacks = subjectRequestId ? { subject_request_id: subjectRequestId, status_callback_urls: [...callbackUrls!] } : {};
    const { body } = await callVendor(
      name,
      {
        method: 'POST',
        url: createUrl,
        headers,
        json: { distinct_ids: subjects.map((s) => s.customerId), compliance_type: complianceType, ...callbacks },
        timeoutMs: merged.timeoutMs,
      },
      CreateResponse,
    );
    return taskOperations(subjects, body.results, subjectRequestId);
  };

  return {
    name,
    policy: merged,

    async submit(subjects) {
      if (subjects.length === 0) return [];
      if (subjects.length > MIXPANEL_MAX_DISTINCT_IDS) {
        throw new RangeError(`mixpanel: ${subjects.length} distinct_ids in one task; at most ${MIXPANEL_MAX_DISTINCT_IDS}`);
      }
      const submitted: SubmittedOperation[] = [];
      for (const [law, group] of byLaw(subjects, settings.complianceType)) submitted.push(...(await createTask(group, law)));
      return submitted;
    },

    jobOf: (op) => refOf(op).trackingId,

    async checkStatus(operations, round) {
      const reports = await checkSharedJobs(operations, (op) => refOf(op).trackingId, readTask, round);
      for (const op of operations) {
        const report = reports.get(op.deletionId);
        if (report?.state === 'failed') reports.set(op.deletionId, failedTaskReport(op, report));
      }
      return reports;
    },

    ...(settings.projectId && settings.lookupServiceAccount && settings.lookupSecret
      ? {
          async verify(op: OperationToCheck) {
            const url = `${base}${ENGAGE_PATH}?project_id=${encodeURIComponent(settings.projectId!)}`;
            const auth = { authorization: `Basic ${Buffer.from(`${settings.lookupServiceAccount}:${settings.lookupSecret}`).toString('base64')}` };
            const { body } = await callVendor(name, { method: 'POST', url, headers: auth, form: { distinct_id: op.customerId }, timeoutMs: merged.timeoutMs }, EngageResponse);
            return readEngage(body, op);
          },
        }
      : {}),

    async cancel(op) {
      const { trackingId, subjects } = refOf(op);
      if (subjects !== 1) return false;
      try {
        await callVendor(name, { method: 'DELETE', url: taskUrl(trackingId), headers, timeoutMs: merged.timeoutMs }, null);
        return true;
      } catch (err) {
        if (err instanceof VendorRejectedError && err.status === 405) return false;
        throw err;
      }
    },
  };
}

/**
 * A FAILURE as it concerns one customer. One incorrect distinct_id fails the whole task (end-user data
 * management: "any incorrect identifiers … will result in inability to process the request"), so a task of many
 * is split in halves by position (domain/taskSplit.ts) instead of being sent again whole; a customer alone in a
 * failed task has the bad distinct_id: it goes to a person with Mixpanel's words. A reference without a position (written before
 * positions were kept) keeps the old rule: the task is resubmitted whole.
 */
function failedTaskReport(op: Pick<OperationToCheck, 'ref'>, report: StatusReport): StatusReport {
  const ref = MixpanelRefSchema.safeParse(op.ref);
  if (!ref.success || ref.data.index === undefined || ref.data.index >= ref.data.subjects) return report;
  const { trackingId, subjects, index, splitFrom = [] } = ref.data;
  const words = report.detail ?? 'FAILURE';
  const decision = splitDecision({ job: trackingId, index, subjects, lineage: splitFrom });
  if (decision.kind === 'alone') {
    const from = splitFrom.length ? ` (split from ${splitFrom.join(' → ')})` : '';
    // The customer is the one the row (and its alert item) names; the id itself stays out of the text, which goes
    // into the hash-chained event log where retention could not replace it.
    return { ...report, retry: decision, detail: `this customer's distinct_id failed alone in Mixpanel task ${trackingId}${from}: ${words}` };
  }
  return { ...report, retry: decision, detail: `Mixpanel task ${trackingId} of ${subjects} distinct_ids failed (${words}); resubmitted in halves` };
}

/** The task as evidence, without the list of every customer in the batch (kept per row already). */
function redactTask(task: Record<string, unknown>): Record<string, unknown> {
  const { distinct_ids: ids, ...rest } = task;
  return Array.isArray(ids) ? { ...rest, distinct_id_count: ids.length } : rest;
}
