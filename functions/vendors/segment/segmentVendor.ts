import { z } from 'zod';
import { DAY, HOUR, SECOND } from '../../clock.js';
import { callVendor, sampleBody } from '../callVendor.js';
import { withPolicyOverrides, type DeletionVendor, type OperationToCheck, type StatusReport, type VendorPolicy } from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { classifySegmentRegulation, SegmentStatusWordSchema } from './status.js';
import { checkSharedJobs } from '../sharedJobs.js';

/**
 * Segment's documented limits (vendors.md A1): 5000 subjectIds per regulation, 600 create calls a minute,
 * a 30-day SLA. A regulation often sits INITIALIZED for days, so "no progress" waits 10 days.
 */
export const SEGMENT_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 5000,
  requestsPerSecond: 10,
  concurrency: 4,
  expectedDurationMs: 30 * DAY,
  noProgressMs: 10 * DAY,
  minCheckIntervalMs: 1 * HOUR,
  maxCheckIntervalMs: 24 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 30 * SECOND,
};

/** The largest batch Segment accepts in one regulation. */
export const SEGMENT_MAX_SUBJECTS = 5000;

/** `POST /regulations` → 200 `{ data: { regulateId } }`. */
const CreateResponse = z.object({ data: z.object({ regulateId: z.string().min(1) }) });

const DestinationStatus = z.object({
  name: z.string().optional(),
  id: z.string().optional(),
  status: SegmentStatusWordSchema,
  errString: z.string().nullish(),
  finishedAt: z.string().nullish(),
});

/** `GET /regulations/{regulateId}` → `{ data: { regulation: { … } } }`. */
const StatusResponse = z.object({
  data: z.object({
    regulation: z.object({
      id: z.string().min(1),
      workspaceId: z.string().optional(),
      overallStatus: SegmentStatusWordSchema,
      createdAt: z.string().optional(),
      finishedAt: z.string().nullish(),
      streamStatus: z.array(z.object({ id: z.string().optional(), destinationStatus: z.array(DestinationStatus) })).default([]),
    }),
  }),
});

/** The stored reference: the regulation, and how many customers share it (cancel is only safe for one). */
export const SegmentRefSchema = z.object({ regulateId: z.string().min(1), subjects: z.number().int().min(1) });

/** Fills the documented defaults under the operator's overrides. */
export function segmentPolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(SEGMENT_POLICY_DEFAULTS, overrides);
}

function refOf(op: OperationToCheck) {
  const ref = SegmentRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : { regulateId: op.operationId, subjects: Number.MAX_SAFE_INTEGER };
}

/** A regulation's state, classified from its destinations. */
function regulationReport(regulation: z.infer<typeof StatusResponse>['data']['regulation']): StatusReport {
  const destinations = regulation.streamStatus.flatMap((s) => s.destinationStatus);
  const verdict = classifySegmentRegulation(regulation.overallStatus, destinations);
  const report: StatusReport = { state: verdict.state, rawStatus: regulation.overallStatus, payload: regulation };
  if (verdict.detail) report.detail = verdict.detail;
  return report;
}

/**
 * Segment Public API regulations (vendors.md A1). submit() sends the whole batch (≤ 5000) as one regulation of
 * `settings.regulationType`; every customer keeps its own operation carrying the shared regulateId.
 * checkStatus() reads each distinct regulation once and classifies it from its destinations
 * (classifySegmentRegulation). A 404 (Segment forgets regulations after 90 days) is state `error`.
 * cancel() works only while INITIALIZED and only for a regulation of one customer: cancelling a shared one
 * would cancel the others' deletions too.
 */
export function createSegmentVendor(settings: VendorSettings<'segment'>, policy?: Partial<VendorPolicy>): DeletionVendor {
  const name = 'segment';
  const merged = segmentPolicy(policy);
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${settings.token}`, accept: 'application/vnd.segment.v1+json, application/json' };
  const createUrl = settings.sourceId ? `${base}/regulations/sources/${encodeURIComponent(settings.sourceId)}` : `${base}/regulations`;
  const regulationUrl = (id: string) => `${base}/regulations/${encodeURIComponent(id)}`;

  const readRegulation = async (regulateId: string): Promise<StatusReport> => {
    let body: z.infer<typeof StatusResponse>;
    try {
      ({ body } = await callVendor(name, { method: 'GET', url: regulationUrl(regulateId), headers, timeoutMs: merged.timeoutMs }, StatusResponse));
    } catch (err) {
      if (err instanceof VendorRejectedError && err.status === 404) {
        return {
          state: 'error',
          rawStatus: 'http_404',
          payload: { httpStatus: 404 },
          detail: `Segment does not know regulation ${regulateId} (404; it keeps regulations for 90 days)`,
        };
      }
      throw err;
    }
    const regulation = body.data.regulation;
    if (regulation.id !== regulateId) {
      throw new VendorContractError(
        name,
        `GET ${regulationUrl(regulateId)} answered for regulation "${regulation.id}"`,
        sampleBody(JSON.stringify(body)),
        { status: 200 },
      );
    }
    return regulationReport(regulation);
  };

  return {
    name,
    policy: merged,

    async submit(subjects) {
      if (subjects.length === 0) return [];
      if (subjects.length > SEGMENT_MAX_SUBJECTS) {
        throw new RangeError(`segment: ${subjects.length} subjects in one regulation; at most ${SEGMENT_MAX_SUBJECTS}`);
      }
      const { body } = await callVendor(
        name,
        {
          method: 'POST',
          url: createUrl,
          headers,
          json: { regulationType: settings.regulationType, subjectType: 'USER_ID', subjectIds: subjects.map((s) => s.customerId) },
          timeoutMs: merged.timeoutMs,
        },
        CreateResponse,
      );
      const regulateId = body.data.regulateId;
      return subjects.map((s) => ({ deletionId: s.deletionId, ref: { regulateId, subjects: subjects.length }, operationId: regulateId }));
    },

    jobOf: (op) => refOf(op).regulateId,

    async checkStatus(operations) {
      return checkSharedJobs(operations, (op) => refOf(op).regulateId, readRegulation);
    },

    async cancel(op) {
      const { regulateId, subjects } = refOf(op);
      if (subjects !== 1) return false;
      try {
        await callVendor(name, { method: 'DELETE', url: regulationUrl(regulateId), headers, timeoutMs: merged.timeoutMs }, null);
        return true;
      } catch (err) {
        // Segment refuses once the regulation has left INITIALIZED; it documents no particular code for it.
        if (err instanceof VendorRejectedError && err.status !== 404) return false;
        throw err;
      }
    },
  };
}
