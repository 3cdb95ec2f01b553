import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor, sampleBody } from '../callVendor.js';
import { withPolicyOverrides, type DeletionSubject, type DeletionVendor, type OperationToCheck, type StatusReport, type SubmittedOperation, type VendorPolicy } from '../DeletionVendor.js';
import { VendorContractError, VendorRejectedError } from '../errors.js';
import type { VendorSettings } from '../settings.js';
import { OPENDSR_STATUS_MAP, OpenDsrStatusWordSchema } from './status.js';
import { checkEach, submitEach } from '../perSubject.js';

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

const Timestamp = z.iso.datetime({ offset: true });

/** 201 on create: the spec's REQUIRED fields plus the id we sent. */
const CreateResponse = z
  .object({
    subject_request_id: z.string().min(1),
    controller_id: z.string().min(1),
    expected_completion_time: Timestamp,
    received_time: Timestamp,
    encoded_request: z.string().optional(),
  })
  .loose();

/** GET by id: the request's status. */
const StatusResponse = z
  .object({
    subject_request_id: z.string().min(1),
    request_status: OpenDsrStatusWordSchema,
    expected_completion_time: Timestamp,
    controller_id: z.string().optional(),
    api_version: z.string().optional(),
    results_url: z.string().nullish(),
    extensions: z.unknown().optional(),
  })
  .loose();

/** The stored reference: the subject_request_id we generated. */
export const OpenDsrRefSchema = z.object({ subjectRequestId: z.string().min(1) });

/** What differs between OpenDSR processors: where the API lives, how it authenticates, the body. */
export interface OpenDsrProfile {
  name: 'mparticle' | 'appsflyer';
  /** Create URL (POST). */
  createUrl: string;
  /** Status (GET) and cancel (DELETE) URL of one request. */
  requestUrl(subjectRequestId: string): string;
  headers: Record<string, string>;
  /** The create body for one subject, submitted at `now`. */
  body(subject: DeletionSubject, now: Date): unknown;
  policy: VendorPolicy;
}

export const mparticlePolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(MPARTICLE_POLICY_DEFAULTS, overrides);
export const appsflyerPolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(APPSFLYER_POLICY_DEFAULTS, overrides);

/** mParticle's Data Subject Request API v3 (vendors.md A4), Basic auth with the workspace key and secret. */
export function createMParticleVendor(
  settings: VendorSettings<'mparticle'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
): DeletionVendor {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return createOpenDsrVendor(
    {
      name: 'mparticle',
      createUrl: `${base}/v3/requests/`,
      requestUrl: (id) => `${base}/v3/requests/${encodeURIComponent(id)}`,
      headers: { authorization: `Basic ${Buffer.from(`${settings.apiKey}:${settings.apiSecret}`).toString('base64')}` },
      body: (subject, now) => ({
        regulation: settings.regulation,
        subject_request_id: subject.idempotencyKey,
        subject_request_type: 'erasure',
        submitted_time: now.toISOString(),
        subject_identities: { [settings.identityType]: { value: subject.customerId, encoding: 'raw' } },
        api_version: '3.0',
        ...(settings.skipWaitingPeriod ? { extensions: { 'opendsr.mparticle.com': { skip_waiting_period: true } } } : {}),
      }),
      policy: mparticlePolicy(policy),
    },
    clock,
  );
}

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
      body: (subject, now) => ({
        subject_request_id: subject.idempotencyKey,
        subject_request_type: 'erasure',
        submitted_time: now.toISOString(),
        subject_identities: [{ identity_type: settings.identityType, identity_value: subject.customerId, identity_format: 'raw' }],
        property_id: settings.propertyId,
        platform: settings.platform,
        regulation: settings.regulation,
      }),
      policy: appsflyerPolicy(policy),
    },
    clock,
  );
}

const isDuplicate = (err: unknown) => err instanceof VendorRejectedError && err.status === 400 && /already exists/i.test(err.message);

/**
 * The OpenDSR contract (vendors.md A6) shared by mParticle and AppsFlyer. subject_request_id is the deletion
 * row's idempotencyKey (a UUID v4 written before the first call), so a repeated create that answers 400
 * "already exists" means an earlier attempt got through: submit() then reads that request's status and
 * returns it as the submitted operation. expected_completion_time from the vendor drives staleness.
 * submit() calls once per subject, up to policy.concurrency at a time, and throws the first fault once all
 * have settled (safe: the retry recovers the ones that got through). A 404 on status is state `error`.
 * cancel() works while `pending`; any other refusal means it is too late.
 */
export function createOpenDsrVendor(profile: OpenDsrProfile, clock: Clock = systemClock): DeletionVendor {
  const { name, headers, policy } = profile;

  const readOne = async (id: string): Promise<StatusReport> => {
    let body: z.infer<typeof StatusResponse>;
    try {
      ({ body } = await callVendor(name, { method: 'GET', url: profile.requestUrl(id), headers, timeoutMs: policy.timeoutMs }, StatusResponse));
    } catch (err) {
      if (err instanceof VendorRejectedError && err.status === 404) {
        return { state: 'error', rawStatus: 'http_404', payload: { httpStatus: 404 }, detail: `${name} does not know request ${id} (404)` };
      }
      throw err;
    }
    if (body.subject_request_id !== id) {
      throw new VendorContractError(name, `GET ${profile.requestUrl(id)} answered for request "${body.subject_request_id}"`, sampleBody(JSON.stringify(body)), {
        status: 200,
      });
    }
    return {
      state: OPENDSR_STATUS_MAP[body.request_status],
      rawStatus: body.request_status,
      payload: body,
      expectedCompletionAt: new Date(body.expected_completion_time),
    };
  };

  const submitOne = async (subject: DeletionSubject): Promise<SubmittedOperation> => {
    const id = subject.idempotencyKey;
    const submitted = { deletionId: subject.deletionId, ref: { subjectRequestId: id }, operationId: id };
    let body: z.infer<typeof CreateResponse>;
    try {
      ({ body } = await callVendor(
        name,
        { method: 'POST', url: profile.createUrl, headers, json: profile.body(subject, clock.now()), timeoutMs: policy.timeoutMs },
        CreateResponse,
      ));
    } catch (err) {
      if (isDuplicate(err)) {
        const status = await readOne(id);
        if (status.state === 'error') throw err;
        return { ...submitted, status };
      }
      throw err;
    }
    if (body.subject_request_id !== id) {
      throw new VendorContractError(name, `POST ${profile.createUrl} answered for request "${body.subject_request_id}" instead of "${id}"`, sampleBody(JSON.stringify(body)), {
        status: 201,
      });
    }
    // A new request is pending until the processor moves it on (the 201 carries no status word).
    return { ...submitted, status: { state: 'submitted', rawStatus: 'pending', payload: body, expectedCompletionAt: new Date(body.expected_completion_time) } };
  };

  return {
    name,
    policy,

    submit: (subjects) => submitEach(subjects, policy.concurrency, submitOne),

    checkStatus: (operations) => checkEach(operations, (op) => readOne(refId(op))),

    async cancel(op) {
      try {
        await callVendor(name, { method: 'DELETE', url: profile.requestUrl(refId(op)), headers, timeoutMs: policy.timeoutMs }, null);
        return true;
      } catch (err) {
        if (err instanceof VendorRejectedError && err.status !== 404) return false;
        throw err;
      }
    },
  };
}

function refId(op: OperationToCheck): string {
  const ref = OpenDsrRefSchema.safeParse(op.ref);
  return ref.success ? ref.data.subjectRequestId : op.operationId;
}

