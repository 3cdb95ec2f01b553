import { z } from 'zod';
import { HOUR } from '../clock.js';
import type { VendorPolicy } from '../domain/policy.js';
import { CallbackPolicySchema, type CallbackPolicy } from './policy.js';

/**
 * The callback settings, read from the environment by config.ts (kept here, beside what uses them):
 * - CALLBACK_URL: the public URL of receiveDeletionCallback. Unset, or no configured vendor sends callbacks
 *   (mParticle, AppsFlyer; Mixpanel when enabled): no callbacks, every vendor is polled as before.
 * - VENDOR_MIXPANEL_CALLBACKS=true: Mixpanel sends callbacks too (v3, enabled by Mixpanel on request).
 * - VENDOR_<V>_CALLBACK_DOMAIN, VENDOR_<V>_DISCOVERY_URL: the processor domain allow-listed for the vendor and its
 *   discovery document (defaults for mParticle and AppsFlyer; Mixpanel's are undocumented, so required).
 * - CALLBACK_CHECK_INTERVAL_HOURS (24): with callbacks, the vendor's status checks are stretched to this interval,
 *   a safety net in case a callback is lost.
 * - CALLBACK_RATE_PER_MINUTE (600): callbacks accepted per vendor and minute by one instance; more get 429.
 * - CALLBACK_MAX_BODY_BYTES (65536).
 * - CALLBACK_TEST_ROOT_PEM: the local test CA's root, trusted instead of the public roots (local stack and tests
 *   only: refused on Cloud Run, where K_SERVICE is set). It also allows http discovery and certificate URLs.
 */

/** The vendors that can send OpenDSR status callbacks. */
export const CALLBACK_VENDORS = ['mparticle', 'appsflyer', 'mixpanel'] as const;
export type CallbackVendor = (typeof CALLBACK_VENDORS)[number];

/** Where each processor's callbacks come from and where its certificate is found, by default. */
const DEFAULT_PROCESSORS: Readonly<Record<CallbackVendor, { domain?: string; discoveryPath?: string }>> = {
  // mParticle DSR API v3: X-OpenDSR-Processor-Domain opendsr.mparticle.com, GET {base}/v3/discovery/.
  mparticle: { domain: 'opendsr.mparticle.com', discoveryPath: '/v3/discovery/' },
  // AppsFlyer's OpenAPI: GET {base}/api/gdpr/v1/discovery; its callback domain is assumed to be its API host.
  appsflyer: { domain: 'hq1.appsflyer.com', discoveryPath: '/api/gdpr/v1/discovery' },
  // Mixpanel's page could not be read where it names them: configure both.
  mixpanel: {},
};

export interface CallbackSettings {
  /** Our public endpoint, sent as status_callback_urls. */
  url: string;
  /** The vendors asked to send callbacks (configured ones only). */
  vendors: CallbackVendor[];
  /** The stretched check interval of those vendors (the safety-net poll). */
  checkIntervalMs: number;
  ratePerMinute: number;
  policy: CallbackPolicy;
  /** The local test root, when trusted (local and test mode only). */
  testRootPem: string | undefined;
}

const Env = z.object({
  CALLBACK_URL: z.url().optional(),
  CALLBACK_CHECK_INTERVAL_HOURS: z.coerce.number().positive().max(24 * 365).default(24),
  CALLBACK_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  CALLBACK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  CALLBACK_TEST_ROOT_PEM: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'must be a PEM certificate' }).optional(),
  VENDOR_MIXPANEL_CALLBACKS: z.enum(['true', 'false']).default('false'),
  K_SERVICE: z.string().optional(),
});

/** A configured vendor as callbacks need it: its name and the API base URL its adapter calls. */
export interface CallbackVendorInput {
  name: string;
  baseUrl?: string | undefined;
}

const isCallbackVendor = (name: string): name is CallbackVendor => (CALLBACK_VENDORS as readonly string[]).includes(name);

/**
 * The callback settings, or undefined when CALLBACK_URL is unset; every problem is appended to `problems`
 * (named by variable) rather than thrown, so config.ts lists them with the rest.
 */
export function readCallbackSettings(env: Readonly<Record<string, string>>, vendors: readonly CallbackVendorInput[], problems: string[]): CallbackSettings | undefined {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    return undefined;
  }
  const e = parsed.data;
  if (e.CALLBACK_TEST_ROOT_PEM && e.K_SERVICE) {
    problems.push('CALLBACK_TEST_ROOT_PEM: a local test root is never trusted in a deployment (K_SERVICE is set)');
  }
  if (!e.CALLBACK_URL) return undefined;
  const testRoot = e.CALLBACK_TEST_ROOT_PEM && !e.K_SERVICE ? e.CALLBACK_TEST_ROOT_PEM : undefined;
  if (!testRoot && !e.CALLBACK_URL.startsWith('https://')) problems.push('CALLBACK_URL: must be an https URL (processors post to it)');
  const chosen = vendors.filter((v): v is CallbackVendorInput & { name: CallbackVendor } => isCallbackVendor(v.name) && (v.name !== 'mixpanel' || e.VENDOR_MIXPANEL_CALLBACKS === 'true'));
  // No configured vendor sends callbacks (VENDORS=http, say): nothing to ask for, and the function refuses all.
  if (chosen.length === 0) return undefined;
  const processors = chosen.map((v) => {
    const prefix = `VENDOR_${v.name.toUpperCase()}_`;
    const defaults = DEFAULT_PROCESSORS[v.name];
    const domain = env[`${prefix}CALLBACK_DOMAIN`] ?? defaults.domain;
    const base = v.baseUrl?.replace(/\/+$/, '');
    const discoveryUrl = env[`${prefix}DISCOVERY_URL`] ?? (base && defaults.discoveryPath ? `${base}${defaults.discoveryPath}` : undefined);
    if (!domain) problems.push(`${prefix}CALLBACK_DOMAIN: required with callbacks (the processor domain its callbacks are signed for)`);
    if (!discoveryUrl) problems.push(`${prefix}DISCOVERY_URL: required with callbacks (the discovery document naming its certificate)`);
    return { vendor: v.name, domain: domain ?? '', discoveryUrl: discoveryUrl ?? '' };
  });
  const policy = CallbackPolicySchema.safeParse({
    processors,
    callbackUrls: [e.CALLBACK_URL],
    maxBodyBytes: e.CALLBACK_MAX_BODY_BYTES,
    allowInsecureUrls: testRoot !== undefined,
  });
  if (!policy.success) {
    if (problems.length === 0) problems.push(...policy.error.issues.map((i) => `callback allow-list ${i.path.join('.')}: ${i.message}`));
    return undefined;
  }
  return {
    url: e.CALLBACK_URL,
    vendors: chosen.map((v) => v.name),
    checkIntervalMs: e.CALLBACK_CHECK_INTERVAL_HOURS * HOUR,
    ratePerMinute: e.CALLBACK_RATE_PER_MINUTE,
    policy: policy.data,
    testRootPem: testRoot,
  };
}

/**
 * A callback vendor's policy overrides with its checks stretched to the safety-net interval: a callback brings the
 * status change, the check every `intervalMs` catches one that was lost. An operator's longer interval stays.
 */
export function stretchCheckInterval<P extends Partial<Pick<VendorPolicy, 'minCheckIntervalMs' | 'maxCheckIntervalMs'>>>(policy: P, intervalMs: number): P {
  return {
    ...policy,
    minCheckIntervalMs: Math.max(intervalMs, policy.minCheckIntervalMs ?? 0),
    maxCheckIntervalMs: Math.max(intervalMs, policy.maxCheckIntervalMs ?? 0, policy.minCheckIntervalMs ?? 0),
  };
}
