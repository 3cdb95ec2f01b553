import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { callVendor, jsonOf, sampleBody, type FailedAnswer, pathSegment } from '../callVendor.js';
import { withPolicyOverrides, type DeletionSubject, type DeletionVendor, type Regulation, type VendorPolicy } from '../DeletionVendor.js';
import { MPARTICLE_EXTENSION_IDENTITY_TYPES, type VendorSettings } from '../settings.js';
import { createOpenDsrVendor, OpenDsrRefusedError, Timestamp } from './openDsrVendor.js';
import { MParticleForwardingWordSchema, OPENDSR_STATUS_MAP, OpenDsrStatusWordSchema } from './status.js';

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

export const mparticlePolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(MPARTICLE_POLICY_DEFAULTS, overrides);

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

/** mParticle's documented refusals: 404 unknown request, 409 same identities in progress, 400 "already exists". */
function mparticleFailure(answer: FailedAnswer): OpenDsrRefusedError | undefined {
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
}

/** The create body: the identity in subject_identities, or in mParticle's extension for the types only it takes. */
function mparticleBody(settings: VendorSettings<'mparticle'>, subject: DeletionSubject, submittedAt: Date, regulation: Regulation, callbackUrls?: readonly string[]): unknown {
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
    ...(callbackUrls?.length ? { status_callback_urls: [...callbackUrls] } : {}),
    group_id: mparticleGroupId(subject.customerId),
    ...(Object.keys(extension).length > 0 ? { extensions: { 'opendsr.mparticle.com': extension } } : {}),
  };
}

/**
 * mParticle's Data Subject Request API v3 (vendors.md A4), Basic auth with the workspace key and secret. With
 * `callbackUrls`, each request asks for signed status callbacks there (`status_callback_urls`).
 */
export function createMParticleVendor(
  settings: VendorSettings<'mparticle'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
  callbackUrls?: readonly string[],
): DeletionVendor {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${settings.apiKey}:${settings.apiSecret}`).toString('base64')}` };
  const merged = mparticlePolicy(policy);
  return createOpenDsrVendor(
    {
      name: 'mparticle',
      createUrl: `${base}/v3/requests/`,
      requestUrl: (id) => `${base}/v3/requests/${pathSegment('mparticle', id)}`,
      headers,
      defaultRegulation: settings.regulation,
      body: (subject, { submittedAt, regulation }) => mparticleBody(settings, subject, submittedAt, regulation, callbackUrls),
      createResponse: MParticleCreate,
      statusResponse: MParticleStatus,
      cancelResponse: MParticleCancel,
      statusMap: OPENDSR_STATUS_MAP,
      readFailure: mparticleFailure,
      async findOpen(subject) {
        const url = `${base}/v3/requests?group_id=${encodeURIComponent(mparticleGroupId(subject.customerId))}`;
        const { body } = await callVendor('mparticle', { method: 'GET', url, headers, timeoutMs: merged.timeoutMs, readFailure: mparticleFailure }, MParticleGroup);
        return body.find((r) => r.request_status === 'pending' || r.request_status === 'in_progress');
      },
      policy: merged,
    },
    clock,
  );
}
