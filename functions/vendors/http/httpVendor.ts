import { z } from 'zod';
import { DAY, HOUR, MINUTE, SECOND } from '../../clock.js';
import { callVendor, pathSegment, sampleBody } from '../callVendor.js';
import { withPolicyOverrides, type DeletionSubject, type DeletionVendor, type OperationToCheck, type StatusReport, type SubmittedOperation, type VendorPolicy } from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { mapHttpStatus } from './status.js';
import { checkEach, submitEach } from '../perSubject.js';

/**
 * Policy of the generic vendor unless VENDOR_HTTP_* overrides it: one customer per call, submitted at ingest
 * like the seed; the seed's "not complete after 3 days" as both the expected duration and the no-progress alarm.
 */
export const HTTP_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 1,
  requestsPerSecond: 50,
  concurrency: 8,
  // No documented limit on parallel calls: the poller sizes calls in flight from the rate and the latency it
  // measures (domain/inFlight.ts), up to this many.
  maxConcurrency: 512,
  expectedDurationMs: 3 * DAY,
  noProgressMs: 3 * DAY,
  minCheckIntervalMs: 5 * MINUTE,
  maxCheckIntervalMs: 6 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 10 * SECOND,
};

/** Create: 200/201/202 `{ operationId, status? }`. Extra fields are tolerated, missing or renamed ones are not. */
const CreateResponse = z.object({
  operationId: z.string().min(1),
  // Read as text and mapped by mapHttpStatus, so an unknown word is reported as such.
  status: z.string().optional(),
});

/** Status: 200 `{ operationId, status, error?, completedAt? }`. */
const StatusResponse = z.object({
  operationId: z.string().min(1),
  status: z.string(),
  error: z.string().optional(),
  completedAt: z.iso.datetime({ offset: true }).optional(),
});

/** The stored reference of an http operation. */
const HttpRefSchema = z.object({ operationId: z.string().min(1) });

/** Fills the defaults under the operator's overrides (undefined never erases a default). */
export function httpPolicy(overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  return withPolicyOverrides(HTTP_POLICY_DEFAULTS, overrides);
}

function refId(op: OperationToCheck): string {
  const ref = HttpRefSchema.safeParse(op.ref);
  return ref.success ? ref.data.operationId : op.operationId;
}

/** The operation a create call answered with, and its status where the call reported one. */
function submittedOperation(subject: DeletionSubject, body: z.infer<typeof CreateResponse>): SubmittedOperation {
  const submitted: SubmittedOperation = { deletionId: subject.deletionId, ref: { operationId: body.operationId }, operationId: body.operationId };
  if (body.status !== undefined) {
    const state = mapHttpStatus('http', body.status, sampleBody(JSON.stringify(body)));
    submitted.status = { state, rawStatus: body.status, payload: body };
  }
  return submitted;
}

/**
 * The generic `http` deletion API (the seed's third-party API): POST createPath → operation id, GET
 * statusPath → status, DELETE /deletions/{id} → cancel while pending. `verify` is not offered: the API has
 * no way to confirm a deletion other than its status.
 *
 * submit() calls once per subject (the API takes one customer per call), in parallel up to
 * policy.concurrency; if any call fails it throws the first fault after all have settled, which is safe
 * because a repeated Idempotency-Key returns the same operation. checkStatus() reads operations one after
 * the other (one GET each; the caller's concurrency and rate budget decide how many run at once); a 404
 * is reported as state `error` (the vendor does not know the operation), and any other fault ends the batch
 * and is thrown.
 */
export function createHttpVendor(settings: VendorSettings<'http'>, policy?: Partial<VendorPolicy>): DeletionVendor {
  const name = 'http';
  const merged = httpPolicy(policy);
  const base = settings.baseUrl.replace(/\/+$/, '');
  const auth: Record<string, string> = settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {};
  const statusUrl = (id: string) => base + settings.statusPath.replace('{operationId}', pathSegment(name, id));
  const cancelUrl = (id: string) => `${base}/deletions/${pathSegment(name, id)}`;

  const submitOne = async (subject: DeletionSubject): Promise<SubmittedOperation> => {
    const { body } = await callVendor(
      name,
      {
        method: 'POST',
        url: base + settings.createPath,
        headers: { ...auth, 'idempotency-key': subject.idempotencyKey },
        json: { customerId: subject.customerId, requestId: subject.idempotencyKey },
        timeoutMs: merged.timeoutMs,
      },
      CreateResponse,
    );
    return submittedOperation(subject, body);
  };

  const readOne = async (op: OperationToCheck): Promise<StatusReport> => {
    const id = refId(op);
    let body: z.infer<typeof StatusResponse>;
    try {
      ({ body } = await callVendor(
        name,
        { method: 'GET', url: statusUrl(id), headers: auth, timeoutMs: merged.timeoutMs },
        StatusResponse,
      ));
    } catch (err) {
      if (err instanceof VendorRejectedError && err.status === 404) {
        return {
          state: 'error',
          rawStatus: 'http_404',
          payload: { httpStatus: 404 },
          detail: `the vendor does not know operation ${id} (404)`,
        };
      }
      throw err;
    }
    if (body.operationId !== id) {
      throw new VendorContractError(
        name,
        `GET ${statusUrl(id)} answered for operation "${body.operationId}" instead of "${id}"`,
        sampleBody(JSON.stringify(body)),
        { status: 200 },
      );
    }
    const state = mapHttpStatus(name, body.status, sampleBody(JSON.stringify(body)));
    const report: StatusReport = { state, rawStatus: body.status, payload: body };
    if (state === 'failed') report.detail = body.error ?? 'the vendor reported the deletion failed without a reason';
    return report;
  };

  return {
    name,
    policy: merged,

    submit: (subjects) => submitEach(subjects, merged.concurrency, submitOne),

    checkStatus: (operations) => checkEach(operations, readOne),

    async cancel(op) {
      try {
        await callVendor(
          name,
          { method: 'DELETE', url: cancelUrl(refId(op)), headers: auth, timeoutMs: merged.timeoutMs },
          null,
        );
        return true;
      } catch (err) {
        if (err instanceof VendorRejectedError && err.status === 409) return false;
        throw err;
      }
    },
  };
}
