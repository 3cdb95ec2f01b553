import { z } from 'zod';
import { HOUR, SECOND } from './clock.js';
import type { VendorPolicy } from './domain/policy.js';
import { VENDOR_KINDS, isVendorKind, type VendorKind } from './vendors/DeletionVendor.js';
import { parseVendorSettings, SECRET_SETTINGS, VENDOR_SETTINGS, type VendorConfig } from './vendors/settings.js';

/**
 * The vendors' part of the configuration (config.ts reads the rest): `VENDORS` names the enabled vendors and
 * `VENDOR_<NAME>_<SETTING>` holds each one's adapter settings, credentials and policy overrides.
 */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const positive = () => z.coerce.number().positive();

/** Policy overrides, `VENDOR_<NAME>_<SUFFIX>`: the policy field, its schema and the unit it is given in. */
export const POLICY_VARS = {
  MAX_BATCH_SIZE: ['maxBatchSize', int(1, 100_000), 1],
  RATE_PER_SECOND: ['requestsPerSecond', positive(), 1],
  DAILY_SUBMIT_QUOTA: ['dailySubmitQuota', int(1), 1],
  MONTHLY_SUBJECT_QUOTA: ['monthlySubjectQuota', int(1), 1],
  QUOTA_ALERT_PERCENT: ['quotaAlertShare', int(1, 100), 0.01],
  CONCURRENCY: ['concurrency', int(1, 1000), 1],
  MAX_CONCURRENCY: ['maxConcurrency', int(1, 5000), 1],
  STALE_AFTER_HOURS: ['expectedDurationMs', positive(), HOUR],
  NO_PROGRESS_HOURS: ['noProgressMs', positive(), HOUR],
  MIN_CHECK_INTERVAL_SECONDS: ['minCheckIntervalMs', positive(), SECOND],
  MAX_CHECK_INTERVAL_SECONDS: ['maxCheckIntervalMs', positive(), SECOND],
  MAX_SUBMIT_ATTEMPTS: ['maxSubmitAttempts', int(1, 100), 1],
  MAX_REFUSALS: ['maxRefusals', int(1, 100), 1],
  TIMEOUT_MS: ['timeoutMs', int(100, 600_000), 1],
} as const satisfies Record<string, readonly [keyof VendorPolicy, z.ZodType<number>, number]>;

function issuesOf(prefix: string, issue: z.core.$ZodIssue): string {
  return `${prefix}${issue.path.length ? issue.path.join('.') : ''}: ${issue.message}`;
}

/** camelCase setting name → SCREAMING_SNAKE variable suffix (baseUrl → BASE_URL). */
export function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * Reads VENDOR_<NAME>_* for one vendor: adapter settings plus policy overrides. A credential for which
 * `unchecked` holds may be absent (another function's, or a value only Secret Manager holds): the settings then
 * lack it and name it in `absentCredentials`.
 */
function readVendor(name: VendorKind, env: Record<string, string>, problems: string[], unchecked: (variable: string) => boolean): VendorConfig | undefined {
  const prefix = `VENDOR_${name.toUpperCase()}_`;
  const absent = SECRET_SETTINGS[name].filter((key) => env[prefix + snake(key)] === undefined && unchecked(prefix + snake(key)));
  const raw: Record<string, string> = {};
  for (const key of [...Object.keys(VENDOR_SETTINGS[name].shape), ...SECRET_SETTINGS[name]]) {
    const v = env[prefix + snake(key)];
    if (v !== undefined) raw[key] = v;
  }
  const parsed = parseVendorSettings(name, raw, absent);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = i.path[0];
      const missingSecret = typeof key === 'string' && SECRET_SETTINGS[name].includes(key) && raw[key] === undefined;
      problems.push(
        `${typeof key === 'string' ? prefix + snake(key) : prefix.slice(0, -1)}: ${missingSecret ? 'required credential (in a deployment, mount its secret with --set-secrets)' : i.message}`,
      );
    }
  }
  const policy: Partial<VendorPolicy> = {};
  for (const [suffix, [field, type, scale]] of Object.entries(POLICY_VARS)) {
    const v = env[prefix + suffix];
    if (v === undefined) continue;
    const r = type.safeParse(v);
    if (r.success) (policy as Record<string, number>)[field] = r.data * scale;
    else problems.push(...r.error.issues.map((i) => issuesOf(prefix + suffix, i)));
  }
  // An operator's CONCURRENCY alone is a fixed number of calls in flight; with MAX_CONCURRENCY it is the least.
  if (policy.concurrency !== undefined && policy.maxConcurrency === undefined) policy.maxConcurrency = policy.concurrency;
  if (policy.concurrency !== undefined && policy.maxConcurrency !== undefined && policy.maxConcurrency < policy.concurrency) {
    problems.push(`${prefix}MAX_CONCURRENCY: must be at least ${prefix}CONCURRENCY (${policy.concurrency})`);
  }
  if (!parsed.success) return undefined;
  // The settings of `name`, told apart by it: VendorConfig is that pairing.
  return { name, settings: parsed.data, policy, ...(absent.length ? { absentCredentials: absent } : {}) } as VendorConfig;
}

/**
 * The enabled vendors (`names`, from VENDORS) with their settings read from `env`; every problem is added to
 * `problems`. `unchecked(variable)`: a credential whose absence is not an error in this process.
 */
export function readVendors(names: string[], env: Record<string, string>, problems: string[], unchecked: (variable: string) => boolean): VendorConfig[] {
  const vendors: VendorConfig[] = [];
  if (names.length === 0) problems.push('VENDORS: name at least one vendor');
  const seen = new Set<string>();
  for (const name of names) {
    if (!isVendorKind(name)) problems.push(`VENDORS: unknown vendor "${name}" (known: ${VENDOR_KINDS.join(', ')})`);
    else if (seen.has(name)) problems.push(`VENDORS: "${name}" listed twice`);
    else {
      seen.add(name);
      const vendor = readVendor(name, env, problems, unchecked);
      if (vendor) vendors.push(vendor);
    }
  }
  return vendors;
}
