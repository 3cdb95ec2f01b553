import { z } from 'zod';
import { ConfigError } from './errors.js';
import { HOUR, MINUTE, SECOND } from './clock.js';
import { VENDOR_KINDS, isVendorKind, type VendorKind, type VendorPolicy } from './vendors/DeletionVendor.js';
import { SECRET_SETTINGS, VENDOR_SETTINGS } from './vendors/settings.js';

/** The environment as the platform hands it over; only this module reads it. */
export type Env = Record<string, string | undefined>;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const positive = () => z.coerce.number().positive();

const DbUrl = z
  .string()
  .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must be a postgres:// or postgresql:// URL');

/** Variables read directly; vendor settings are read separately (VENDOR_<NAME>_<SETTING>). */
const EnvSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  GCLOUD_PROJECT: z.string().min(1).optional(),

  DATABASE_URL: DbUrl.optional(),
  CLOUD_SQL_INSTANCE: z
    .string()
    .regex(/^[^:]+:[^:]+:[^:]+$/, 'must be PROJECT:REGION:INSTANCE')
    .optional(),
  CLOUD_SQL_IP_TYPE: z.enum(['PUBLIC', 'PRIVATE', 'PSC']).default('PUBLIC'),
  DB_IAM_USER: z.string().min(1).optional(),
  DB_NAME: z.string().min(1).optional(),
  DB_POOL_MAX: int(1, 100).default(5),

  CUSTOMERS_COLLECTION: z.string().regex(/^[^/]+$/, 'must be a top-level collection id').default('customers'),
  CONSENT_FIELD: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a dotted field path such as analyticsConsent or privacy.analytics')
    .default('analyticsConsent'),

  VENDORS: z.string().default('http'),

  POLL_TOPIC: z.string().min(1).default('deletion-poll'),
  ALERT_TOPIC: z.string().min(1).default('deletion-alerts'),

  DEADLINE_DAYS: int(1, 365).default(30),
  DEADLINE_WARNING_DAYS: int(0, 365).default(7),

  POLL_TIME_BUDGET_SECONDS: int(5, 3600).default(480),
  POLL_BATCH_SIZE: int(1, 100_000).default(500),
  POLL_LEASE_SECONDS: int(10, 86_400).default(600),

  SENDGRID_API_KEY: z.string().min(1).optional(),
  SENDGRID_BASE_URL: z.url().optional(),
  SENDGRID_SANDBOX: z.enum(['true', 'false']).default('false'),
  ALERT_FROM: z.email().optional(),
  ALERT_TO: z.string().optional(),
  ALERT_ESCALATION_HOURS: positive().default(24),
  ALERT_SCAN_MINUTES: positive().default(15),

  CANCEL_ON_REGRANT: z.enum(['true', 'false']).default('false'),

  RETENTION_DAYS: int(1, 36_500).optional(),
  RETENTION_KEY: z.string().min(32, 'must be at least 32 characters (a random secret)').optional(),

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  /** Set by the platform on a deployed function: the entry point this process serves. */
  FUNCTION_TARGET: z.string().min(1).optional(),
});

/** Credentials, by the part of the system that reads them. */
export type CredentialGroup = 'vendors' | 'sendgrid' | 'retention';
const ALL_CREDENTIALS: readonly CredentialGroup[] = ['vendors', 'sendgrid', 'retention'];

/**
 * The credentials each deployed function reads. cloudbuild.yaml mounts exactly these (--set-secrets) and the
 * platform names the function in FUNCTION_TARGET, so a function is not refused for lacking another's secrets.
 * Any other process (the CLI, the local stack) may read all of them.
 */
export const FUNCTION_CREDENTIALS: Readonly<Record<string, readonly CredentialGroup[]>> = {
  onCustomerWritten: ['vendors'],
  pollDeletions: ['vendors', 'retention'],
  sendAlert: ['sendgrid'],
};

/** How loadConfig treats credentials. */
export interface LoadConfigOptions {
  /**
   * Validation without secret values (the build's preflight): these variables will be mounted from Secret
   * Manager (--set-secrets), so they count as present with a value this process cannot see; a credential the
   * function needs that is neither set nor listed here is an error. Every other variable is checked as at
   * cold start.
   */
  mountedSecrets?: readonly string[];
}

const POLICY_VARS = {
  MAX_BATCH_SIZE: ['maxBatchSize', int(1, 100_000), 1],
  RATE_PER_SECOND: ['requestsPerSecond', positive(), 1],
  DAILY_SUBMIT_QUOTA: ['dailySubmitQuota', int(1), 1],
  CONCURRENCY: ['concurrency', int(1, 1000), 1],
  STALE_AFTER_HOURS: ['expectedDurationMs', positive(), HOUR],
  NO_PROGRESS_HOURS: ['noProgressMs', positive(), HOUR],
  MIN_CHECK_INTERVAL_SECONDS: ['minCheckIntervalMs', positive(), SECOND],
  MAX_CHECK_INTERVAL_SECONDS: ['maxCheckIntervalMs', positive(), SECOND],
  MAX_SUBMIT_ATTEMPTS: ['maxSubmitAttempts', int(1, 100), 1],
  TIMEOUT_MS: ['timeoutMs', int(100, 600_000), 1],
} as const satisfies Record<string, readonly [keyof VendorPolicy, z.ZodType<number>, number]>;

/** One enabled vendor: its adapter, settings and any policy the operator overrode. */
export interface VendorConfig {
  name: VendorKind;
  settings: Record<string, unknown>;
  policy: Partial<VendorPolicy>;
}

export type DatabaseConfig =
  | { kind: 'url'; url: string; poolMax: number }
  | {
      kind: 'cloudsql';
      instanceConnectionName: string;
      ipType: 'PUBLIC' | 'PRIVATE' | 'PSC';
      iamUser: string;
      database: string;
      poolMax: number;
    };

export interface Config {
  projectId: string | undefined;
  database: DatabaseConfig;
  customersCollection: string;
  consentField: string;
  vendors: VendorConfig[];
  topics: { poll: string; alerts: string };
  deadline: { days: number; warningDays: number };
  poller: { timeBudgetMs: number; batchSize: number; leaseMs: number };
  alerts: {
    sendgridApiKey: string | undefined;
    sendgridBaseUrl: string | undefined;
    sandboxMode: boolean;
    from: string | undefined;
    to: string[];
    escalationMs: number;
    /** How often the poller scans unfinished deletions for alert conditions (15 minutes when absent). */
    scanIntervalMs?: number;
  };
  /** Cancel deletions that have not started at the vendor when consent is granted again (off by default). */
  cancelOnRegrant: boolean;
  /** How long finished requests keep the raw customer id; undefined keeps it. */
  retention: { days: number; key: string } | undefined;
  logLevel: string;
}

/** Empty strings count as unset (a blank `--set-env-vars` entry must not override a default). */
function withoutEmpty(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

function issuesOf(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${prefix}${i.path.length ? i.path.join('.') : ''}: ${i.message}`);
}

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * Reads VENDOR_<NAME>_* for one vendor: adapter settings plus policy overrides. Secret settings named in
 * `unchecked` may be absent (another function's credentials, or a value only Secret Manager holds).
 */
function readVendor(
  name: VendorKind,
  env: Record<string, string>,
  problems: string[],
  unchecked: (variable: string) => boolean = () => false,
): VendorConfig {
  const prefix = `VENDOR_${name.toUpperCase()}_`;
  const skipped = SECRET_SETTINGS[name].filter((key) => env[prefix + snake(key)] === undefined && unchecked(prefix + snake(key)));
  const full: z.ZodObject = VENDOR_SETTINGS[name];
  const schema = skipped.length ? full.extend(Object.fromEntries(skipped.map((k) => [k, full.shape[k]!.optional()]))) : full;
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[prefix + snake(key)];
    if (v !== undefined) raw[key] = v;
  }
  for (const key of SECRET_SETTINGS[name]) {
    const v = env[prefix + snake(key)];
    if (v !== undefined) raw[key] = v;
  }
  const parsed = schema.safeParse(raw);
  const settings: Record<string, unknown> = parsed.success ? parsed.data : {};
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
    else problems.push(...issuesOf(prefix + suffix, r.error));
  }
  return { name, settings, policy };
}

/**
 * Validates the environment once at cold start. Throws ConfigError listing every problem at once.
 * `env` is injected (process.env in production, a literal in tests).
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const clean = withoutEmpty(env);
  const problems: string[] = [];
  const parsed = EnvSchema.safeParse(clean);
  if (!parsed.success) problems.push(...issuesOf('', parsed.error));
  const e = parsed.success ? parsed.data : EnvSchema.partial().parse({});

  const target = clean['FUNCTION_TARGET'];
  const reads = (target !== undefined && FUNCTION_CREDENTIALS[target]) || ALL_CREDENTIALS;
  const mounted = new Set(options.mountedSecrets ?? []);
  /** A credential variable whose absence is not an error here: mounted (value unseen), or not this function's. */
  const unchecked = (group: CredentialGroup) => (variable: string) => mounted.has(variable) || !reads.includes(group);
  if (target !== undefined && FUNCTION_CREDENTIALS[target]?.includes('sendgrid') && !clean['SENDGRID_API_KEY'] && !mounted.has('SENDGRID_API_KEY'))
    problems.push(`SENDGRID_API_KEY: required by ${target}, which sends the alert emails (mount its secret with --set-secrets)`);

  let database: DatabaseConfig | undefined;
  if (e.DATABASE_URL) {
    database = { kind: 'url', url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX ?? 5 };
  } else if (e.CLOUD_SQL_INSTANCE || e.DB_IAM_USER || e.DB_NAME) {
    const missing = (['CLOUD_SQL_INSTANCE', 'DB_IAM_USER', 'DB_NAME'] as const).filter((k) => !e[k]);
    if (missing.length) problems.push(`${missing.join(', ')}: required with Cloud SQL (or set DATABASE_URL instead)`);
    else
      database = {
        kind: 'cloudsql',
        instanceConnectionName: e.CLOUD_SQL_INSTANCE!,
        ipType: e.CLOUD_SQL_IP_TYPE ?? 'PUBLIC',
        iamUser: e.DB_IAM_USER!,
        database: e.DB_NAME!,
        poolMax: e.DB_POOL_MAX ?? 5,
      };
  } else if (!clean['DATABASE_URL'] && !clean['CLOUD_SQL_INSTANCE']) {
    problems.push('DATABASE_URL: required (or CLOUD_SQL_INSTANCE, DB_IAM_USER and DB_NAME for Cloud SQL)');
  }

  const vendors: VendorConfig[] = [];
  const names = (clean['VENDORS'] ?? 'http')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) problems.push('VENDORS: name at least one vendor');
  const seen = new Set<string>();
  for (const name of names) {
    if (!isVendorKind(name)) {
      problems.push(`VENDORS: unknown vendor "${name}" (known: ${VENDOR_KINDS.join(', ')})`);
      continue;
    }
    if (seen.has(name)) {
      problems.push(`VENDORS: "${name}" listed twice`);
      continue;
    }
    seen.add(name);
    vendors.push(readVendor(name, clean, problems, unchecked('vendors')));
  }

  const to = (e.ALERT_TO ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const addr of to) if (!z.email().safeParse(addr).success) problems.push(`ALERT_TO: "${addr}" is not an email address`);
  if (
    e.DEADLINE_WARNING_DAYS !== undefined &&
    e.DEADLINE_DAYS !== undefined &&
    e.DEADLINE_WARNING_DAYS >= e.DEADLINE_DAYS
  ) {
    problems.push('DEADLINE_WARNING_DAYS: must be less than DEADLINE_DAYS');
  }

  const retentionKey = reads.includes('retention') ? e.RETENTION_KEY : undefined;
  if (e.RETENTION_DAYS !== undefined && !retentionKey && !unchecked('retention')('RETENTION_KEY')) {
    problems.push('RETENTION_KEY: required with RETENTION_DAYS (the key of the hash that replaces customer ids)');
  }

  if (problems.length > 0 || !database) throw new ConfigError(problems);
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT ?? e.GCLOUD_PROJECT,
    database,
    customersCollection: e.CUSTOMERS_COLLECTION!,
    consentField: e.CONSENT_FIELD!,
    vendors,
    topics: { poll: e.POLL_TOPIC!, alerts: e.ALERT_TOPIC! },
    deadline: { days: e.DEADLINE_DAYS!, warningDays: e.DEADLINE_WARNING_DAYS! },
    poller: {
      timeBudgetMs: e.POLL_TIME_BUDGET_SECONDS! * SECOND,
      batchSize: e.POLL_BATCH_SIZE!,
      leaseMs: e.POLL_LEASE_SECONDS! * SECOND,
    },
    alerts: {
      sendgridApiKey: e.SENDGRID_API_KEY,
      sendgridBaseUrl: e.SENDGRID_BASE_URL,
      sandboxMode: e.SENDGRID_SANDBOX === 'true',
      from: e.ALERT_FROM,
      to,
      escalationMs: e.ALERT_ESCALATION_HOURS! * HOUR,
      scanIntervalMs: e.ALERT_SCAN_MINUTES! * MINUTE,
    },
    cancelOnRegrant: e.CANCEL_ON_REGRANT === 'true',
    retention: e.RETENTION_DAYS !== undefined && retentionKey ? { days: e.RETENTION_DAYS, key: retentionKey } : undefined,
    logLevel: e.LOG_LEVEL!,
  };
}

/** The configuration with every credential replaced, safe to log at start-up. */
export function redactConfig(config: Config): unknown {
  const database =
    config.database.kind === 'url'
      ? { ...config.database, url: config.database.url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:[redacted]@') }
      : config.database;
  return {
    ...config,
    database,
    vendors: config.vendors.map((v) => ({
      ...v,
      settings: Object.fromEntries(
        Object.entries(v.settings).map(([k, val]) => [k, SECRET_SETTINGS[v.name].includes(k) ? '[redacted]' : val]),
      ),
    })),
    alerts: { ...config.alerts, sendgridApiKey: config.alerts.sendgridApiKey ? '[redacted]' : undefined },
    retention: config.retention ? { ...config.retention, key: '[redacted]' } : undefined,
  };
}
