import { z } from 'zod';
import { systemClock, type Clock } from '../../clock.js';
import { callVendor, sampleBody, type FailedAnswer } from '../callVendor.js';
import type { DeletionSubject, DeletionVendor, OperationToCheck, Regulation, StatusReport, SubmittedOperation, VendorPolicy, VendorState } from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import { checkEach, submitEach } from '../perSubject.js';

/**
 * An ISO 8601 time as the processors write it: with an offset (`…Z`), or without one (mParticle's v2 examples,
 * `2018-05-07T20:53:48.322652`), which their field tables call UTC.
 */
export const Timestamp = z.iso.datetime({ offset: true, local: true });
/** Reads a Timestamp, as UTC when it carries no offset. */
export function openDsrTime(value: string): Date {
  return new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`);
}

/** Why a processor refused a call, as far as its documents say. */
export type OpenDsrRefusal = 'duplicate' | 'not_found' | 'in_progress_elsewhere' | 'cannot_cancel';

/** A documented refusal, read from the answer's status and body (still a rejection to everyone else). */
export class OpenDsrRefusedError extends VendorRejectedError {
  constructor(
    vendor: string,
    readonly refusal: OpenDsrRefusal,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(vendor, message, options);
  }
}
const refused = (err: unknown, refusal: OpenDsrRefusal): err is OpenDsrRefusedError => err instanceof OpenDsrRefusedError && err.refusal === refusal;

/** The stored reference: the subject_request_id to read, and ours when it is another request's (a 409 link). */
export const OpenDsrRefSchema = z.object({ subjectRequestId: z.string().min(1), linkedFrom: z.string().min(1).optional() });

/** One request's status as the adapter needs it, whatever the processor's field set. */
export interface StatusBody {
  subject_request_id: string;
  request_status: string;
  expected_completion_time?: string | null | undefined;
  extensions?: { domain?: string | undefined; name?: string | undefined; status: string; status_message?: string | null | undefined }[] | null | undefined;
}

/** What differs between OpenDSR processors: where the API lives, how it authenticates, the bodies and words. */
export interface OpenDsrProfile {
  name: 'mparticle' | 'appsflyer';
  createUrl: string;
  /** Status (GET) and cancel (DELETE) URL of one request. */
  requestUrl(subjectRequestId: string): string;
  headers: Record<string, string>;
  /** The create body for one subject under `regulation`, the data subject having asked at `submittedAt`. */
  body(subject: DeletionSubject, submitted: { submittedAt: Date; regulation: Regulation }): unknown;
  defaultRegulation: Regulation;
  createResponse: z.ZodType<{ subject_request_id: string; expected_completion_time?: string | undefined }>;
  statusResponse: z.ZodType<StatusBody>;
  /** The cancel answer's schema; null when the processor documents a body the adapter has no use for. */
  cancelResponse: z.ZodType<{ subject_request_id: string }> | null;
  /** request_status word → our state. */
  statusMap: Readonly<Record<string, VendorState>>;
  /** Reads a documented refusal from a non-2xx answer. */
  readFailure(answer: FailedAnswer): OpenDsrRefusedError | undefined;
  /**
   * The open request a 409 ("same identities in progress") points at, where the processor lets us find it
   * (mParticle: the customer's group); undefined when it cannot be found.
   */
  findOpen?(subject: DeletionSubject): Promise<StatusBody | undefined>;
  policy: VendorPolicy;
}

/** The status payload kept as evidence: never encoded_request (OpenDSR: controllers MUST NOT log or store it). */
function evidence(body: Record<string, unknown>): Record<string, unknown> {
  const { encoded_request: _dropped, ...rest } = body;
  return rest;
}

function refOf(op: OperationToCheck): z.infer<typeof OpenDsrRefSchema> {
  const ref = OpenDsrRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : { subjectRequestId: op.operationId };
}

/**
 * A request's state from its status: the processor's word, expected_completion_time, and mParticle's
 * forwarding to partners (`extensions[]`): a completed request with a partner `failed` or `skipped` is an
 * error, one still `pending` forwarding is in progress.
 */
function statusReport(profile: OpenDsrProfile, body: StatusBody): StatusReport {
  const { name } = profile;
  const state = profile.statusMap[body.request_status]!;
  const out: StatusReport = { state, rawStatus: body.request_status, payload: evidence(body as unknown as Record<string, unknown>) };
  if (body.expected_completion_time) {
    out.expectedCompletionAt = openDsrTime(body.expected_completion_time);
    out.expectedCompletionSource = `expected_completion_time ${body.expected_completion_time}`;
  }
  const partners = body.extensions ?? [];
  const label = (e: (typeof partners)[number]) => `${e.name ?? e.domain ?? 'a partner'} ${e.status}${e.status_message ? ` (${e.status_message})` : ''}`;
  if (state === 'completed' && partners.length > 0) {
    const kept = partners.filter((e) => e.status === 'failed' || e.status === 'skipped');
    if (kept.length > 0) {
      out.state = 'error';
      out.detail = `${name} erased its own copy but did not forward the erasure to every partner: ${kept.map(label).join('; ')}; those partners keep their copy until a person sees to it`;
    } else if (partners.some((e) => e.status === 'pending')) {
      out.state = 'in_progress';
      out.detail = `${name} erased its own copy; forwarding to ${partners.filter((e) => e.status === 'pending').map(label).join(', ')}`;
    }
  }
  return out;
}

/** Reads one request's status; a request the processor does not know is state `error`. */
async function readStatus(profile: OpenDsrProfile, id: string): Promise<StatusReport> {
  const { name, headers, policy } = profile;
  const readFailure = (answer: FailedAnswer) => profile.readFailure(answer);
  let body: StatusBody;
  try {
    ({ body } = await callVendor(name, { method: 'GET', url: profile.requestUrl(id), headers, timeoutMs: policy.timeoutMs, readFailure }, profile.statusResponse));
  } catch (err) {
    if (refused(err, 'not_found')) {
      const status = err.status ?? 0;
      return { state: 'error', rawStatus: `http_${status}`, payload: { httpStatus: status }, detail: `${name} does not know request ${id} (${err.message})` };
    }
    throw err;
  }
  if (body.subject_request_id.toLowerCase() !== id.toLowerCase()) {
    throw new VendorContractError(name, `GET ${profile.requestUrl(id)} answered for request "${body.subject_request_id}"`, sampleBody(JSON.stringify(body)), {
      status: 200,
    });
  }
  return statusReport(profile, body);
}

/**
 * A create refused as a duplicate (an earlier attempt got through: that request's status) or because the same
 * identities are open elsewhere (linked to that request where the processor lets us find it); any other
 * refusal is thrown again.
 */
async function recoverRefusal(profile: OpenDsrProfile, subject: DeletionSubject, err: unknown): Promise<SubmittedOperation> {
  const id = subject.idempotencyKey;
  if (refused(err, 'duplicate')) {
    const status = await readStatus(profile, id);
    if (status.state === 'error' && status.rawStatus.startsWith('http_')) throw err;
    return { deletionId: subject.deletionId, ref: { subjectRequestId: id }, operationId: id, status };
  }
  if (refused(err, 'in_progress_elsewhere') && profile.findOpen) {
    const open = await profile.findOpen(subject);
    if (!open) throw err;
    const linked = statusReport(profile, open);
    linked.detail = `linked to ${profile.name} request ${open.subject_request_id}, already in progress for the same identities (${err.message})`;
    return { deletionId: subject.deletionId, ref: { subjectRequestId: open.subject_request_id, linkedFrom: id }, operationId: open.subject_request_id, status: linked };
  }
  throw err;
}

/** Creates one subject's request (its subject_request_id our idempotency key). */
async function submitOne(profile: OpenDsrProfile, clock: Clock, subject: DeletionSubject): Promise<SubmittedOperation> {
  const { name, headers, policy } = profile;
  const readFailure = (answer: FailedAnswer) => profile.readFailure(answer);
  const id = subject.idempotencyKey;
  const json = profile.body(subject, { submittedAt: subject.revokedAt ?? clock.now(), regulation: subject.regulation ?? profile.defaultRegulation });
  let body: { subject_request_id: string; expected_completion_time?: string | undefined };
  try {
    ({ body } = await callVendor(name, { method: 'POST', url: profile.createUrl, headers, json, timeoutMs: policy.timeoutMs, readFailure }, profile.createResponse));
  } catch (err) {
    return recoverRefusal(profile, subject, err);
  }
  if (body.subject_request_id.toLowerCase() !== id.toLowerCase()) {
    throw new VendorContractError(name, `POST ${profile.createUrl} answered for request "${body.subject_request_id}" instead of "${id}"`, sampleBody(JSON.stringify(body)), {
      status: 201,
    });
  }
  // A new request is pending until the processor moves it on (the 201 carries no status word).
  const status: StatusReport = { state: 'submitted', rawStatus: 'pending', payload: evidence(body) };
  if (body.expected_completion_time) {
    status.expectedCompletionAt = openDsrTime(body.expected_completion_time);
    status.expectedCompletionSource = `expected_completion_time ${body.expected_completion_time}`;
  }
  return { deletionId: subject.deletionId, ref: { subjectRequestId: id }, operationId: id, status };
}

/**
 * The OpenDSR contract (vendors.md A6) shared by mParticle and AppsFlyer. subject_request_id is the deletion
 * row's idempotencyKey (a UUID v4 written before the first call); submitted_time is when the data subject
 * withdrew consent (the subject's revokedAt; the send time only when it is unknown); the regulation is the
 * subject's, else the configured one.
 * - A repeated create refused as a duplicate (mParticle 400 "already exists", AppsFlyer e213) means an
 *   earlier attempt got through: submit() reads that request's status and returns it.
 * - A create refused because a request with the same identities is open (mParticle 409, AppsFlyer e215) is
 *   linked to that request where the processor lets us find it (mParticle: the customer's group_id); the
 *   reference then names it and `linkedFrom` names ours. Otherwise it stays a rejection, tried again later.
 * - Status: the processor's words (statusMap); expected_completion_time (UTC when it has no offset) drives
 *   staleness. A request the processor does not know (mParticle 404, AppsFlyer e214) is state `error`.
 *   mParticle's `extensions[]` reports forwarding to partners: a completed request with a partner `failed` or
 *   `skipped` is state `error` (the partner kept its copy: a person must see to it), one still `pending`
 *   forwarding is in progress.
 * submit() calls once per subject, up to policy.concurrency at a time, and throws the first fault once all
 * have settled (safe: the retry recovers the ones that got through). cancel() works while `pending`, never
 * for a linked request (it is another deletion's); any refusal means it is too late.
 */
export function createOpenDsrVendor(profile: OpenDsrProfile, clock: Clock = systemClock): DeletionVendor {
  const { name, headers, policy } = profile;
  const readFailure = (answer: FailedAnswer) => profile.readFailure(answer);

  return {
    name,
    policy,

    submit: (subjects) => submitEach(subjects, policy.concurrency, (s) => submitOne(profile, clock, s)),

    checkStatus: (operations) => checkEach(operations, (op) => readStatus(profile, refOf(op).subjectRequestId)),

    async cancel(op) {
      const ref = refOf(op);
      if (ref.linkedFrom) return false;
      const url = profile.requestUrl(ref.subjectRequestId);
      try {
        const { body } = await callVendor(name, { method: 'DELETE', url, headers, timeoutMs: policy.timeoutMs, readFailure }, profile.cancelResponse);
        if (body && body.subject_request_id.toLowerCase() !== ref.subjectRequestId.toLowerCase()) {
          throw new VendorContractError(name, `DELETE ${url} answered for request "${body.subject_request_id}"`, sampleBody(JSON.stringify(body)));
        }
        return true;
      } catch (err) {
        // Not pending any more (mParticle documents no code for it; AppsFlyer e211), or unknown: the deletion goes on.
        if (err instanceof VendorRejectedError) return false;
        throw err;
      }
    },
  };
}
