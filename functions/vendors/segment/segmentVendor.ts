import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor, jsonOf, sampleBody, type FailedAnswer, pathSegment } from '../callVendor.js';
import { withPolicyOverrides, type DeletionVendor, type OperationToCheck, type StatusReport, type VendorPolicy } from '../DeletionVendor.js';
import { VendorContractError, VendorRateLimitedError, VendorRejectedError } from '../errors.js';
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
  // "limited to 110,000 users every calendar month" per regulation category (segment-docs, PR #7685).
  monthlySubjectQuota: 110_000,
  quotaAlertShare: 0.8,
};

/** The largest batch Segment accepts in one regulation. */
export const SEGMENT_MAX_SUBJECTS = 5000;
/** The shortest pause a 429 causes, whatever it announces (a reset already past, a tiny msBeforeNext). */
export const SEGMENT_MIN_RATE_LIMIT_PAUSE_MS = 1000;

/** `POST /regulations` (and `/regulations/sources/{id}`) → 200 `{ data: { regulateId } }` (OpenAPI 73.2.0). */
const CreateResponse = z.object({ data: z.object({ regulateId: z.string().min(1) }) });

/** DestinationStatusV1: name, id, status, errString, finishedAt (the adapter needs id or name, and status). */
const DestinationStatus = z.object({
  name: z.string().optional(),
  id: z.string().optional(),
  status: SegmentStatusWordSchema,
  errString: z.string().nullish(),
  finishedAt: z.string().nullish(),
});

/** `GET /regulations/{regulateId}` → `{ data: { regulation: Regulation } }`; streamStatus is required. */
const StatusResponse = z.object({
  data: z.object({
    regulation: z.object({
      id: z.string().min(1),
      workspaceId: z.string(),
      overallStatus: SegmentStatusWordSchema,
      createdAt: z.string(),
      finishedAt: z.string().nullish(),
      streamStatus: z.array(z.object({ id: z.string(), destinationStatus: z.array(DestinationStatus) })),
    }),
  }),
});

/** `DELETE /regulations/{regulateId}` → 200 `{ data: { status: 'SUCCESS' } }` (OpenAPI 72.1.0; gone from 73.x). */
const CancelResponse = z.object({ data: z.object({ status: z.literal('SUCCESS') }) });

/** The 429 body (docs.segmentapis.com, Rate Limits): `{ errors: [{ type, message, data: { msBeforeNext, … } }] }`. */
const RateLimitBody = z.object({
  errors: z.array(z.object({ data: z.object({ msBeforeNext: z.number().min(0) }).loose() }).loose()).min(1),
});

/**
 * How long a Segment 429 asks to wait. Segment sends no Retry-After: the body's `errors[0].data.msBeforeNext`
 * ("a number of milliseconds before the rate limit is lifted") is preferred, being relative and so immune to
 * clock skew; without it, `X-RateLimit-Reset` ("a timestamp, in RFC 5322 format, denoting when the limit will
 * be reset", e.g. `Tue, 31 Dec 2024 23:59:59 GMT`, one-second resolution) minus now. Undefined when neither is
 * readable. Never less than SEGMENT_MIN_RATE_LIMIT_PAUSE_MS.
 */
export function segmentRateLimitPauseMs(headers: Headers, text: string, nowMs: number): number | undefined {
  const parsed = RateLimitBody.safeParse(jsonOf(text));
  if (parsed.success) return Math.max(SEGMENT_MIN_RATE_LIMIT_PAUSE_MS, Math.ceil(parsed.data.errors[0]!.data.msBeforeNext));
  const reset = headers.get('x-ratelimit-reset');
  const at = reset === null ? Number.NaN : Date.parse(reset);
  if (Number.isFinite(at)) return Math.max(SEGMENT_MIN_RATE_LIMIT_PAUSE_MS, at - nowMs);
  return undefined;
}

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

/** A 429 is read for its pause (segmentRateLimitPauseMs); other failures take callVendor's usual mapping. */
function rateLimitReader(clock: Clock) {
  return (answer: FailedAnswer): VendorRateLimitedError | undefined => {
    if (answer.status !== 429) return undefined;
    const pauseMs = segmentRateLimitPauseMs(answer.headers, answer.text, clock.now().getTime());
    return pauseMs === undefined ? undefined : new VendorRateLimitedError('segment', pauseMs, { status: 429 });
  };
}

/** A regulation Segment no longer knows (404): an error for a person. */
function unknownRegulation(regulateId: string): StatusReport {
  return {
    state: 'error',
    rawStatus: 'http_404',
    payload: { httpStatus: 404 },
    detail: `Segment does not know regulation ${regulateId} (404; it keeps regulations for 90 days)`,
  };
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
 * A 429 pauses for what its body or X-RateLimit-Reset says (segmentRateLimitPauseMs).
 * cancel() works only while INITIALIZED and only for a regulation of one customer (cancelling a shared one
 * would cancel the others' deletions); the endpoint is deprecated and gone from OpenAPI 73.x, so a 404 is
 * "cannot cancel", like any other refusal.
 */
export function createSegmentVendor(settings: VendorSettings<'segment'>, policy?: Partial<VendorPolicy>, clock: Clock = systemClock): DeletionVendor {
  const name = 'segment';
  const merged = segmentPolicy(policy);
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${settings.token}`, accept: 'application/vnd.segment.v1+json, application/json' };
  const createUrl = settings.sourceId ? `${base}/regulations/sources/${encodeURIComponent(settings.sourceId)}` : `${base}/regulations`;
  const regulationUrl = (id: string) => `${base}/regulations/${pathSegment(name, id)}`;
  const readFailure = rateLimitReader(clock);

  const readRegulation = async (regulateId: string): Promise<StatusReport> => {
    let body: z.infer<typeof StatusResponse>;
    try {
      ({ body } = await callVendor(name, { method: 'GET', url: regulationUrl(regulateId), headers, timeoutMs: merged.timeoutMs, readFailure }, StatusResponse));
    } catch (err) {
      if (err instanceof VendorRejectedError && err.status === 404) return unknownRegulation(regulateId);
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
          readFailure,
        },
        CreateResponse,
      );
      const regulateId = body.data.regulateId;
      return subjects.map((s) => ({ deletionId: s.deletionId, ref: { regulateId, subjects: subjects.length }, operationId: regulateId }));
    },

    jobOf: (op) => refOf(op).regulateId,

    async checkStatus(operations, round) {
      return checkSharedJobs(operations, (op) => refOf(op).regulateId, readRegulation, round);
    },

    async cancel(op) {
      const { regulateId, subjects } = refOf(op);
      if (subjects !== 1) return false;
      try {
        await callVendor(name, { method: 'DELETE', url: regulationUrl(regulateId), headers, timeoutMs: merged.timeoutMs, readFailure }, CancelResponse);
        return true;
      } catch (err) {
        // Segment refuses once the regulation has left INITIALIZED (no particular code is documented), and the
        // endpoint itself is gone from OpenAPI 73.x (404): either way the deletion goes on.
        if (err instanceof VendorRejectedError) return false;
        throw err;
      }
    },
  };
}
