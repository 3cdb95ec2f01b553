import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor, sampleBody } from '../callVendor.js';
import {
  withPolicyOverrides,
  type DeletionSubject,
  type DeletionVendor,
  type OperationToCheck,
  type Regulation,
  type StatusReport,
  type SubmittedOperation,
  type VendorPolicy,
  type VendorState,
} from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import { MPARTICLE_EXTENSION_IDENTITY_TYPES, type VendorSettings } from '../settings.js';
import { APPSFLYER_STATUS_MAP, AppsFlyerStatusWordSchema, MParticleForwardingWordSchema, OPENDSR_STATUS_MAP, OpenDsrStatusWordSchema } from './status.js';

/**
 * mParticle's documented limits (vendors.md A4): 1000 requests a minute per workspace (GET, POST and DELETE
 * together), 80,000 new requests a day, erasure in 7–21 days after a 7-day waiting period (so "no progress"
 * waits 10 days). One subject per request: the API takes one subject_request_id per request.
 */
export const MPARTICLE_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 1,
  requestsPerSecond: 16,
  dailySubmitQuota: 80_000,
  concurrency: 8,
  expectedDurationMs: 21 * DAY,
  noProgressMs: 10 * DAY,
  minCheckIntervalMs: 1 * HOUR,
  maxCheckIntervalMs: 24 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 30 * SECOND,
};

/**
 * AppsFlyer documents no rate limit or duration for OpenDSR (vendors.md A5): conservative defaults, 2
 * requests a second and the 30-day GDPR month; override them with VENDOR_APPSFLYER_* once known.
 */
export const APPSFLYER_POLICY_DEFAULTS: Readonly<VendorPolicy> = {
  maxBatchSize: 1,
  requestsPerSecond: 2,
  concurrency: 2,
  expectedDurationMs: 30 * DAY,
  noProgressMs: 10 * DAY,
  minCheckIntervalMs: 1 * HOUR,
  maxCheckIntervalMs: 24 * HOUR,
  maxSubmitAttempts: 5,
  timeoutMs: 30 * SECOND,
};

/**
 * An ISO 8601 time as the processors write it: with an offset (`…Z`), or without one (mParticle's v2 examples,
 * `2018-05-07T20:53:48.322652`), which their field tables call UTC.
 */
const Timestamp = z.iso.datetime({ offset: true, local: true });
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
const refused = (err: unknown, refusal: OpenDsrRefusal) => err instanceof OpenDsrRefusedError && err.refusal === refusal;

/** The stored reference: the subject_request_id to read, and ours when it is another request's (a 409 link). */
export const OpenDsrRefSchema = z.object({ subjectRequestId: z.string().min(1), linkedFrom: z.string().min(1).optional() });

/** One request's status as the adapter needs it, whatever the processor's field set. */
interface StatusBody {
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
  readFailure(answer: { status: number; headers: Headers; text: string }): OpenDsrRefusedError | undefined;
  /**
   * The open request a 409 ("same identities in progress") points at, where the processor lets us find it
   * (mParticle: the customer's group); undefined when it cannot be found.
   */
  findOpen?(subject: DeletionSubject): Promise<StatusBody | undefined>;
  policy: VendorPolicy;
}

export const mparticlePolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(MPARTICLE_POLICY_DEFAULTS, overrides);
export const appsflyerPolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(APPSFLYER_POLICY_DEFAULTS, overrides);

const jsonOf = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

// ---- mParticle ----------------------------------------------------------------------------------------------

/** 201 on create (DSR API v3): the five fields of the example, controller_id included. */
const MParticleCreate = z
  .object({
    expected_completion_time: Timestamp,
    received_time: z.string(),
    encoded_request: z.string(),
    subject_request_id: z.string().min(1),
    controller_id: z.string(),
  })
  .loose();

const MParticleExtension = z
  .object({ domain: z.string().optional(), name: z.string().optional(), status: MParticleForwardingWordSchema, status_message: z.string().nullish() })
  .loose();

/**
 * GET /requests/{id}: expected_completion_time is null only for a cancelled request (documented on the cancel
 * answer); extensions is the per-partner forwarding state, null until there is any.
 */
const MParticleStatus = z
  .object({
    controller_id: z.string(),
    expected_completion_time: Timestamp.nullable(),
    subject_request_id: z.string().min(1),
    group_id: z.string().nullish(),
    request_status: OpenDsrStatusWordSchema,
    api_version: z.string().optional(),
    results_url: z.string().nullish(),
    extensions: z.array(MParticleExtension).nullish(),
  })
  .loose()
  .refine((s) => s.expected_completion_time !== null || s.request_status === 'cancelled', {
    message: 'expected_completion_time is null although the request is not cancelled',
    path: ['expected_completion_time'],
  });

/** GET /requests?group_id=: every request of the group. */
const MParticleGroup = z.array(MParticleStatus);

/** DELETE /requests/{id}: the cancelled request, expected_completion_time null. */
const MParticleCancel = z
  .object({ expected_completion_time: z.null(), received_time: z.string(), subject_request_id: z.string().min(1), controller_id: z.string() })
  .loose();

/** The error body (DSR API v3, Errors): `{ code, message, errors: [{ domain, reason, message }] }`. */
const MParticleError = z
  .object({ code: z.number().int(), message: z.string(), errors: z.array(z.object({ message: z.string() }).loose()).optional() })
  .loose();

/** The group a customer's requests are filed under (mParticle's group_id), so a 409 can find the open one. */
export function mparticleGroupId(customerId: string): string {
  return `consent-erasure-${createHash('sha256').update(customerId).digest('hex').slice(0, 32)}`;
}

const EXTENSION_TYPES: readonly string[] = MPARTICLE_EXTENSION_IDENTITY_TYPES;

/** mParticle's Data Subject Request API v3 (vendors.md A4), Basic auth with the workspace key and secret. */
export function createMParticleVendor(
  settings: VendorSettings<'mparticle'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
): DeletionVendor {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${settings.apiKey}:${settings.apiSecret}`).toString('base64')}` };
  const merged = mparticlePolicy(policy);
  const readFailure = (answer: { status: number; text: string }): OpenDsrRefusedError | undefined => {
    const text = sampleBody(answer.text);
    if (answer.status === 404) return new OpenDsrRefusedError('mparticle', 'not_found', `the subject request could not be found (404): ${text}`, { status: 404 });
    if (answer.status === 409) {
      return new OpenDsrRefusedError('mparticle', 'in_progress_elsewhere', `a request with the same identities, extensions and type is in progress (409): ${text}`, { status: 409 });
    }
    if (answer.status !== 400) return undefined;
    const body = MParticleError.safeParse(jsonOf(answer.text));
    if (!body.success) return undefined;
    const messages = [body.data.message, ...(body.data.errors ?? []).map((e) => e.message)];
    if (!messages.some((m) => /already exists/i.test(m))) return undefined;
    return new OpenDsrRefusedError('mparticle', 'duplicate', `subject request already exists (400): ${text}`, { status: 400 });
  };
  return createOpenDsrVendor(
    {
      name: 'mparticle',
      createUrl: `${base}/v3/requests/`,
      requestUrl: (id) => `${base}/v3/requests/${encodeURIComponent(id)}`,
      headers,
      defaultRegulation: settings.regulation,
      body: (subject, { submittedAt, regulation }) => {
        const identity = { [settings.identityType]: { value: subject.customerId, encoding: 'raw' } };
        const inExtension = EXTENSION_TYPES.includes(settings.identityType);
        const extension = {
          ...(settings.skipWaitingPeriod ? { skip_waiting_period: true } : {}),
          ...(inExtension ? { subject_identities: identity } : {}),
        };
        return {
          regulation,
          subject_request_id: subject.idempotencyKey,
          subject_request_type: 'erasure',
          submitted_time: submittedAt.toISOString(),
          ...(inExtension ? {} : { subject_identities: identity }),
          api_version: '3.0',
          group_id: mparticleGroupId(subject.customerId),
          ...(Object.keys(extension).length > 0 ? { extensions: { 'opendsr.mparticle.com': extension } } : {}),
        };
      },
      createResponse: MParticleCreate,
      statusResponse: MParticleStatus,
      cancelResponse: MParticleCancel,
      statusMap: OPENDSR_STATUS_MAP,
      readFailure,
      async findOpen(subject) {
        const url = `${base}/v3/requests?group_id=${encodeURIComponent(mparticleGroupId(subject.customerId))}`;
        const { body } = await callVendor('mparticle', { method: 'GET', url, headers, timeoutMs: merged.timeoutMs, readFailure }, MParticleGroup);
        return body.find((r) => r.request_status === 'pending' || r.request_status === 'in_progress');
      },
      policy: merged,
    },
    clock,
  );
}

// ---- AppsFlyer ----------------------------------------------------------------------------------------------

/** 201 CreateResponse (AppsFlyer OpenAPI): six strings, none required, no controller_id. */
const AppsFlyerCreate = z
  .object({
    subject_request_id: z.string().min(1),
    original_request_id: z.string().optional(),
    expected_completion_time: Timestamp.optional(),
    received_time: z.string().optional(),
    encoded_request: z.string().optional(),
    info: z.string().optional(),
  })
  .loose();

/** 200 Status (AppsFlyer OpenAPI), also in the OpenDSR specification's form (api_version, results_url, results_count). */
const AppsFlyerStatus = z
  .object({
    subject_request_id: z.string().min(1),
    controller_id: z.string().optional(),
    expected_completion_time: Timestamp,
    request_status: AppsFlyerStatusWordSchema,
  })
  .loose();

/** 400 bodies: APIErrorWrapper `{ error: APIErrorData }` (create, status) or APIErrorData itself (cancel). */
const AppsFlyerErrorData = z.object({ code: z.number().int().optional(), message: z.string().optional(), af_gdpr_code: z.string().regex(/^e\d{3}$/) }).loose();
const AppsFlyerErrorWrapper = z.object({ error: AppsFlyerErrorData }).loose();
function appsflyerErrorOf(text: string): z.infer<typeof AppsFlyerErrorData> | undefined {
  const body = jsonOf(text);
  const wrapped = AppsFlyerErrorWrapper.safeParse(body);
  if (wrapped.success) return wrapped.data.error;
  const bare = AppsFlyerErrorData.safeParse(body);
  return bare.success ? bare.data : undefined;
}
const APPSFLYER_REFUSALS: Readonly<Record<string, OpenDsrRefusal>> = {
  e211: 'cannot_cancel',
  e213: 'duplicate',
  e214: 'not_found',
  e215: 'in_progress_elsewhere',
};

/** AppsFlyer's OpenDSR API (vendors.md A5), Bearer token, one app (`property_id`, `platform`). */
export function createAppsFlyerVendor(
  settings: VendorSettings<'appsflyer'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
): DeletionVendor {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return createOpenDsrVendor(
    {
      name: 'appsflyer',
      createUrl: `${base}/api/gdpr/v1/opendsr_requests`,
      requestUrl: (id) => `${base}/api/gdpr/v1/opendsr_requests/${encodeURIComponent(id)}`,
      headers: { authorization: `Bearer ${settings.token}` },
      defaultRegulation: settings.regulation,
      body: (subject, { submittedAt, regulation }) => ({
        subject_request_id: subject.idempotencyKey,
        subject_request_type: 'erasure',
        submitted_time: submittedAt.toISOString(),
        subject_identities: [{ identity_type: settings.identityType, identity_value: subject.customerId, identity_format: 'raw' }],
        api_version: settings.apiVersion,
        property_id: settings.propertyId,
        platform: settings.platform,
        // REQUIRED by OpenDSR 2.0; AppsFlyer's own Request schema does not list it (vendors README, unconfirmed).
        regulation,
      }),
      createResponse: AppsFlyerCreate,
      statusResponse: AppsFlyerStatus,
      cancelResponse: null,
      statusMap: APPSFLYER_STATUS_MAP,
      readFailure(answer) {
        if (answer.status !== 400) return undefined;
        const data = appsflyerErrorOf(answer.text);
        if (!data) return undefined;
        const refusal = APPSFLYER_REFUSALS[data.af_gdpr_code];
        if (!refusal) return undefined;
        return new OpenDsrRefusedError('appsflyer', refusal, `${data.af_gdpr_code} ${data.message ?? ''} (400): ${sampleBody(answer.text)}`, { status: 400 });
      },
      policy: appsflyerPolicy(policy),
    },
    clock,
  );
}

// ---- the shared contract ------------------------------------------------------------------------------------

/** The status payload kept as evidence: never encoded_request (OpenDSR: controllers MUST NOT log or store it). */
function evidence(body: Record<string, unknown>): Record<string, unknown> {
  const { encoded_request: _dropped, ...rest } = body;
  return rest;
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
  const readFailure = (answer: { status: number; headers: Headers; text: string }) => profile.readFailure(answer);

  const report = (body: StatusBody): StatusReport => {
    const state = profile.statusMap[body.request_status]!;
    const out: StatusReport = { state, rawStatus: body.request_status, payload: evidence(body as unknown as Record<string, unknown>) };
    if (body.expected_completion_time) out.expectedCompletionAt = openDsrTime(body.expected_completion_time);
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
  };

  const readOne = async (id: string): Promise<StatusReport> => {
    let body: StatusBody;
    try {
      ({ body } = await callVendor(name, { method: 'GET', url: profile.requestUrl(id), headers, timeoutMs: policy.timeoutMs, readFailure }, profile.statusResponse));
    } catch (err) {
      if (refused(err, 'not_found')) {
        const status = (err as OpenDsrRefusedError).status ?? 0;
        return { state: 'error', rawStatus: `http_${status}`, payload: { httpStatus: status }, detail: `${name} does not know request ${id} (${(err as Error).message})` };
      }
      throw err;
    }
    if (body.subject_request_id.toLowerCase() !== id.toLowerCase()) {
      throw new VendorContractError(name, `GET ${profile.requestUrl(id)} answered for request "${body.subject_request_id}"`, sampleBody(JSON.stringify(body)), {
        status: 200,
      });
    }
    return report(body);
  };

  const submitOne = async (subject: DeletionSubject): Promise<SubmittedOperation> => {
    const id = subject.idempotencyKey;
    const submitted = { deletionId: subject.deletionId, ref: { subjectRequestId: id }, operationId: id };
    const now = clock.now();
    const json = profile.body(subject, { submittedAt: subject.revokedAt ?? now, regulation: subject.regulation ?? profile.defaultRegulation });
    let body: { subject_request_id: string; expected_completion_time?: string | undefined };
    try {
      ({ body } = await callVendor(name, { method: 'POST', url: profile.createUrl, headers, json, timeoutMs: policy.timeoutMs, readFailure }, profile.createResponse));
    } catch (err) {
      if (refused(err, 'duplicate')) {
        const status = await readOne(id);
        if (status.state === 'error' && status.rawStatus.startsWith('http_')) throw err;
        return { ...submitted, status };
      }
      if (refused(err, 'in_progress_elsewhere') && profile.findOpen) {
        const open = await profile.findOpen(subject);
        if (!open) throw err;
        const linked = report(open);
        linked.detail = `linked to ${name} request ${open.subject_request_id}, already in progress for the same identities (${(err as Error).message})`;
        return { deletionId: subject.deletionId, ref: { subjectRequestId: open.subject_request_id, linkedFrom: id }, operationId: open.subject_request_id, status: linked };
      }
      throw err;
    }
    if (body.subject_request_id.toLowerCase() !== id.toLowerCase()) {
      throw new VendorContractError(name, `POST ${profile.createUrl} answered for request "${body.subject_request_id}" instead of "${id}"`, sampleBody(JSON.stringify(body)), {
        status: 201,
      });
    }
    // A new request is pending until the processor moves it on (the 201 carries no status word).
    const status: StatusReport = { state: 'submitted', rawStatus: 'pending', payload: evidence(body) };
    if (body.expected_completion_time) status.expectedCompletionAt = openDsrTime(body.expected_completion_time);
    return { ...submitted, status };
  };

  return {
    name,
    policy,

    async submit(subjects) {
      const limit = pLimit(Math.max(1, Math.min(policy.concurrency, subjects.length)));
      const settled = await Promise.allSettled(subjects.map((s) => limit(() => submitOne(s))));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<SubmittedOperation>).value);
    },

    async checkStatus(operations) {
      const reports = new Map<string, StatusReport>();
      for (const op of operations) reports.set(op.deletionId, await readOne(refOf(op).subjectRequestId));
      return reports;
    },

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

function refOf(op: OperationToCheck): z.infer<typeof OpenDsrRefSchema> {
  const ref = OpenDsrRefSchema.safeParse(op.ref);
  return ref.success ? ref.data : { subjectRequestId: op.operationId };
}
