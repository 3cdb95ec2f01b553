import { z } from 'zod';
import type { VendorPolicy } from '../domain/policy.js';
import { ConfigError } from '../errors.js';
import type { VendorKind } from './DeletionVendor.js';

/**
 * A yes/no setting: "true"/"false" (also 1/0, yes/no, on/off) from the environment, or a boolean once parsed,
 * since the registry validates settings config.ts has already parsed.
 */
const flag = () => z.union([z.boolean(), z.stringbool()]);

/**
 * Whether a vendor's credentials may be sent to `url`: over https, or over plain http to this machine only
 * (127.0.0.0/8, ::1, localhost: the local stack's sandbox and the tests). A deployed function talks to no
 * loopback vendor, so an http: URL there is a mistake that would send a token in clear.
 */
export function isSecureVendorUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  if (parsed.protocol !== 'http:') return false;
  const host = parsed.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The refusal a base URL that is not https gets; config.ts puts the variable's name before it. */
export const INSECURE_URL_MESSAGE = 'must be an https: URL (http: is accepted only for a loopback host: the local stack and tests)';

/** A vendor base URL: a URL, https outside the local stack and tests. */
export const vendorUrl = () =>
  // A value that is no URL at all is reported once, by z.url().
  z.url().refine((u) => !URL.canParse(u) || isSecureVendorUrl(u), INSECURE_URL_MESSAGE);

/**
 * mParticle's identity types (DSR API v3, Supported Identity Types): the OpenDSR keys sent in
 * subject_identities (`controller_customer_id` is mParticle's customer_id; the page's table spells
 * `roku_publishing_id`, its discovery answer and the OpenDSR spec `roku_publisher_id`), and the ones only
 * accepted in the `opendsr.mparticle.com` extension.
 */
export const MPARTICLE_IDENTITY_TYPES = [
  'controller_customer_id',
  'email',
  'android_advertising_id',
  'android_id',
  'fire_advertising_id',
  'ios_advertising_id',
  'ios_vendor_id',
  'microsoft_advertising_id',
  'microsoft_publisher_id',
  'roku_advertising_id',
  'roku_publishing_id',
  'roku_publisher_id',
] as const;
export const MPARTICLE_EXTENSION_IDENTITY_TYPES = [
  'mpid',
  'other',
  'other2',
  'other3',
  'other4',
  'other5',
  'other6',
  'other7',
  'other8',
  'other9',
  'other10',
  'mobile_number',
  'phone_number_2',
  'phone_number_3',
] as const;

/** AppsFlyer's identity types (OpenDSR API OpenAPI, SubjectIdentity.identity_type). */
export const APPSFLYER_IDENTITY_TYPES = [
  'ios_advertising_id',
  'android_advertising_id',
  'fire_advertising_id',
  'microsoft_advertising_id',
  'appsflyer_id',
  'customer_user_id',
  'idfv',
] as const;

/**
 * Each adapter's settings, read by config.ts from `VENDOR_<NAME>_<SETTING>` variables
 * (setting names in camelCase here, SCREAMING_SNAKE in the environment: baseUrl ← VENDOR_HTTP_BASE_URL).
 * Secrets are marked in SECRET_SETTINGS so the redacted config never shows them.
 */
export const VENDOR_SETTINGS = {
  http: z.object({
    /** Base URL of the generic deletion API (the seed's third-party API). */
    baseUrl: vendorUrl(),
    /** Bearer token, if the API wants one. */
    apiKey: z.string().min(1).optional(),
    /** Path of the create call. */
    createPath: z.string().startsWith('/').default('/deletions'),
    /** Path of the status call; `{operationId}` is replaced. */
    statusPath: z.string().startsWith('/').includes('{operationId}').default('/deletions/{operationId}'),
  }),
  segment: z.object({
    /** Segment Public API host (vendors.md A1; an EU host is not documented). */
    baseUrl: vendorUrl().default('https://api.segmentapis.com'),
    /** Public API token (Bearer), with the Deletion and Suppression permission. */
    token: z.string().min(1),
    /** What a regulation does; suppression keeps the data from coming back (vendors.md §0.9). */
    regulationType: z
      .enum(['DELETE_INTERNAL', 'DELETE_ONLY', 'SUPPRESS_ONLY', 'SUPPRESS_WITH_DELETE', 'SUPPRESS_WITH_DELETE_INTERNAL'])
      .default('SUPPRESS_WITH_DELETE'),
    /** Scope regulations to one source (`POST /regulations/sources/{sourceId}`) instead of the workspace. */
    sourceId: z.string().min(1).optional(),
  }),
  mixpanel: z.object({
    /** Data residency of the project: US mixpanel.com, EU eu.mixpanel.com, IN in.mixpanel.com. */
    region: z.enum(['US', 'EU', 'IN']).default('US'),
    /** Replaces the region's host (the sandbox, a proxy). */
    baseUrl: vendorUrl().optional(),
    /** GDPR API OAuth token (Bearer); it expires one year after it was made. */
    token: z.string().min(1),
    /** The project token, sent as the `token` query parameter. */
    projectToken: z.string().min(1),
    complianceType: z.enum(['GDPR', 'CCPA']).default('GDPR'),
    /**
     * Verification after completion with the Engage query (off unless all three are set): the project id and a
     * service account (username and secret, HTTP Basic) that may query profiles. The secret is optional, so it
     * is not in SECRET_SETTINGS (a deployment need not mount it); LOOKUP_SECRET_SETTINGS keeps it out of logs.
     */
    projectId: z.string().regex(/^\d+$/, 'must be the numeric project id').optional(),
    lookupServiceAccount: z.string().min(1).optional(),
    lookupSecret: z.string().min(1).optional(),
  }),
  amplitude: z.object({
    /** Data residency: US amplitude.com, EU analytics.eu.amplitude.com. */
    region: z.enum(['US', 'EU']).default('US'),
    /** Replaces the region's host (the sandbox, a proxy). */
    baseUrl: vendorUrl().optional(),
    /** Project API key and secret key (HTTP Basic). */
    apiKey: z.string().min(1),
    secretKey: z.string().min(1),
    /** A label for the project, kept in each operation's reference (Amplitude jobs have no id). */
    project: z.string().min(1).default('default'),
    /** Which Amplitude identifier the customer id is. */
    idType: z.enum(['user_id', 'amplitude_id']).default('user_id'),
    /** The audit string Amplitude records with each request. */
    requester: z.string().min(1).default('consent-erasure'),
    /**
     * true: unknown users are skipped and reported (recorded as nothing to delete); false: one unknown user
     * makes Amplitude reject the whole batch with 400.
     */
    ignoreInvalidIds: flag().default(true),
    /**
     * Look the customer up with the user search (same key and secret) after Amplitude reports a deletion done:
     * nothing found is verified, a match is a verification_failed alert (test/fixtures/vendors/LOOKUPS.md). Off by
     * default: the user search allows 360 queries an hour, far fewer than the deletions a day's job completes, and
     * each lookup takes a call of the vendor's budget; turn it on where the volume allows.
     */
    verify: flag().default(false),
  }),
  mparticle: z.object({
    /** OpenDSR host of the mParticle pod (US1 default; EU/AU pods have their own). */
    baseUrl: vendorUrl().default('https://opendsr.mparticle.com'),
    /** Workspace key and secret (HTTP Basic). */
    apiKey: z.string().min(1),
    apiSecret: z.string().min(1),
    regulation: z.enum(['gdpr', 'ccpa']).default('gdpr'),
    /** The identity type the customer id is known as at mParticle (extension types go in the mParticle extension). */
    identityType: z.enum([...MPARTICLE_IDENTITY_TYPES, ...MPARTICLE_EXTENSION_IDENTITY_TYPES]).default('controller_customer_id'),
    /** Skip mParticle's 7-day cancellable waiting period (1–14 days instead of 7–21). */
    skipWaitingPeriod: flag().default(false),
  }),
  appsflyer: z.object({
    baseUrl: vendorUrl().default('https://hq1.appsflyer.com'),
    /** API V2 token (Bearer). */
    token: z.string().min(1),
    /** The app id the requests are about (`property_id`). */
    propertyId: z.string().min(1),
    /** The app's platform (`android`, `ios`, …). */
    platform: z.string().min(1),
    regulation: z.enum(['gdpr', 'ccpa']).default('gdpr'),
    /**
     * The identity type the customer id is known as at AppsFlyer: customer_user_id (CUID) needs the app to send
     * the CUID with its idfa/appsflyer_id in a 'Login - Complete' or 'Registration - Account created' event.
     */
    identityType: z.enum(APPSFLYER_IDENTITY_TYPES).default('customer_user_id'),
    /** The api_version sent with each request (an invalid one is refused with e312). */
    apiVersion: z.string().min(1).default('0.1'),
  }),
} satisfies Record<VendorKind, z.ZodObject>;

export type VendorSettings<K extends VendorKind> = z.infer<(typeof VENDOR_SETTINGS)[K]>;

/** Optional credentials of the verification lookups: never logged, not required of a deployment. */
export const LOOKUP_SECRET_SETTINGS: Record<VendorKind, readonly string[]> = {
  http: [],
  segment: [],
  mixpanel: ['lookupSecret'],
  amplitude: [],
  mparticle: [],
  appsflyer: [],
};

/** Setting names that hold credentials, per vendor; never logged. */
export const SECRET_SETTINGS: Record<VendorKind, readonly string[]> = {
  http: ['apiKey'],
  segment: ['token'],
  mixpanel: ['token', 'projectToken'],
  amplitude: ['apiKey', 'secretKey'],
  mparticle: ['apiKey', 'apiSecret'],
  appsflyer: ['token'],
};

/** One enabled vendor: its adapter's kind, its settings as parsed (defaults filled) and the operator's policy overrides. */
export interface VendorConfigOf<K extends VendorKind> {
  name: K;
  settings: VendorSettings<K>;
  policy: Partial<VendorPolicy>;
  /**
   * Credential settings this process was not given (another function's, or mounted from Secret Manager where
   * the build's preflight cannot see them): absent from `settings`, so no adapter can be built from it.
   */
  absentCredentials?: readonly string[];
  /** Our callback endpoint(s), sent as `status_callback_urls` by adapters whose vendor posts status callbacks. */
  statusCallbackUrls?: readonly string[];
}

/** Any enabled vendor, told apart by `name`. */
export type VendorConfig = { [K in VendorKind]: VendorConfigOf<K> }[VendorKind];

/** A vendor's settings as written (environment strings, or literals in tests and the local stack). */
export interface UncheckedVendorConfig {
  name: VendorKind;
  settings: Record<string, unknown>;
  policy?: Partial<VendorPolicy>;
}

/**
 * Parses one vendor's settings with its schema: the one place settings are parsed. Credentials named in
 * `absent` may be missing (VendorConfigOf.absentCredentials says which are).
 */
export function parseVendorSettings<K extends VendorKind>(name: K, raw: unknown, absent: readonly string[] = []): z.ZodSafeParseResult<VendorSettings<K>> {
  const full: z.ZodObject = VENDOR_SETTINGS[name];
  const schema = absent.length ? full.extend(Object.fromEntries(absent.map((k) => [k, full.shape[k]!.optional()]))) : full;
  // VENDOR_SETTINGS[name] is the schema of K; TypeScript cannot see that through the generic index.
  return (schema as unknown as z.ZodType<VendorSettings<K>>).safeParse(raw);
}

/** Parses hand-written vendor configurations; throws ConfigError naming every setting of every vendor that is wrong. */
export function vendorConfigs(configs: readonly UncheckedVendorConfig[]): VendorConfig[] {
  const problems: string[] = [];
  const out: VendorConfig[] = [];
  for (const c of configs) {
    const parsed = parseVendorSettings(c.name, c.settings);
    if (parsed.success) out.push({ name: c.name, settings: parsed.data, policy: c.policy ?? {} } as VendorConfig);
    else problems.push(...parsed.error.issues.map((i) => `VENDOR_${c.name.toUpperCase()} settings ${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
