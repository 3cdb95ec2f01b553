import { z } from 'zod';
import { DAY, HOUR, SECOND, systemClock, type Clock } from '../../clock.js';
import { jsonOf, sampleBody, type FailedAnswer, pathSegment } from '../callVendor.js';
import { withPolicyOverrides, type DeletionVendor, type VendorPolicy } from '../DeletionVendor.js';
import type { VendorSettings } from '../settings.js';
import { createOpenDsrVendor, OpenDsrRefusedError, Timestamp, type OpenDsrRefusal } from './openDsrVendor.js';
import { APPSFLYER_STATUS_MAP, AppsFlyerStatusWordSchema } from './status.js';

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

export const appsflyerPolicy = (overrides?: Partial<VendorPolicy>) => withPolicyOverrides(APPSFLYER_POLICY_DEFAULTS, overrides);

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

/** AppsFlyer's documented refusals: a 400 whose af_gdpr_code is e211, e213, e214 or e215. */
function appsflyerFailure(answer: FailedAnswer): OpenDsrRefusedError | undefined {
  if (answer.status !== 400) return undefined;
  const data = appsflyerErrorOf(answer.text);
  if (!data) return undefined;
  const refusal = APPSFLYER_REFUSALS[data.af_gdpr_code];
  if (!refusal) return undefined;
  return new OpenDsrRefusedError('appsflyer', refusal, `${data.af_gdpr_code} ${data.message ?? ''} (400): ${sampleBody(answer.text)}`, { status: 400 });
}

/**
 * AppsFlyer's OpenDSR API (vendors.md A5), Bearer token, one app (`property_id`, `platform`). With `callbackUrls`,
 * each request asks for signed status callbacks there (`status_callback_urls`).
 */
export function createAppsFlyerVendor(
  settings: VendorSettings<'appsflyer'>,
  policy?: Partial<VendorPolicy>,
  clock: Clock = systemClock,
  callbackUrls?: readonly string[],
): DeletionVendor {
  const base = settings.baseUrl.replace(/\/+$/, '');
  return createOpenDsrVendor(
    {
      name: 'appsflyer',
      createUrl: `${base}/api/gdpr/v1/opendsr_requests`,
      requestUrl: (id) => `${base}/api/gdpr/v1/opendsr_requests/${pathSegment('appsflyer', id)}`,
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
        ...(callbackUrls?.length ? { status_callback_urls: [...callbackUrls] } : {}),
        // REQUIRED by OpenDSR 2.0; AppsFlyer's own Request schema does not list it (vendors README, unconfirmed).
        regulation,
      }),
      createResponse: AppsFlyerCreate,
      statusResponse: AppsFlyerStatus,
      cancelResponse: null,
      statusMap: APPSFLYER_STATUS_MAP,
      readFailure: appsflyerFailure,
      policy: appsflyerPolicy(policy),
    },
    clock,
  );
}
