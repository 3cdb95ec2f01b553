import { z } from 'zod';
import { ConfigError } from './errors.js';
import { DAY, HOUR, MINUTE, SECOND } from './clock.js';
import { RegimeIdSchema } from './domain/regimes.js';
import { RetentionEnvSchema, retentionPeriods } from './domain/retention.js';
import { parseRegimeValues } from './domain/requestRegime.js';
import { LOOKUP_SECRET_SETTINGS, SECRET_SETTINGS, vendorUrl } from './vendors/settings.js';
import { credentialsOf, type CredentialGroup, type Credentials } from './credentials.js';
import { readVendors } from './configVendors.js';
import { MassRefusalEnv, massRefusalOf } from './configFailures.js';
import { AnchorEnvSchema, anchorSettings } from './anchors/settings.js';
import { readCallbackSettings, stretchCheckInterval } from './callbacks/callbackSettings.js';

export type { VendorConfig } from './vendors/settings.js';
export { FUNCTION_CREDENTIALS, type CredentialGroup } from './credentials.js';

/** The environment as the platform hands it over; only this module reads it. */
export type Env = Record<string, string | undefined>;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const positive = () => z.coerce.number().positive();

const FieldPathText = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a dotted field path such as analyticsConsent or privacy.analytics');

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
  CONSENT_FIELD: FieldPathText.default('analyticsConsent'),
  CONSENT_REGIME_FIELD: FieldPathText.default('privacyRegion'),
  DEFAULT_REGIME: RegimeIdSchema.default('gdpr'),
  REGIME_VALUES: z.string().optional(),

  VENDORS: z.string().default('http'),

  POLL_TOPIC: z.string().min(1).default('deletion-poll'),
  ALERT_TOPIC: z.string().min(1).default('deletion-alerts'),

  // Deadlines come from each request's regime (domain/regimes.ts); the shortest erasure period is 28 days.
  DEADLINE_WARNING_DAYS: int(0, 27).default(7),
  DEADLINE_RISK_MARGIN_DAYS: z.coerce.number().min(0).max(27).default(3),

  POLL_TIME_BUDGET_SECONDS: int(5, 3600).default(480),
  POLL_BATCH_SIZE: int(1, 100_000).default(500),
  POLL_LEASE_SECONDS: int(10, 86_400).default(600),

  SENDGRID_API_KEY: z.string().min(1).optional(),
  SENDGRID_BASE_URL: vendorUrl().optional(),
  SENDGRID_SANDBOX: z.enum(['true', 'false']).default('false'),
  ALERT_FROM: z.email().optional(),
  ALERT_TO: z.string().optional(),
  ALERT_ESCALATION_HOURS: positive().default(24),
  ALERT_SCAN_MINUTES: positive().default(15),

  CANCEL_ON_REGRANT: z.enum(['true', 'false']).default('false'),
  CONTRACT_CHECK_HOURS: int(0, 8760).default(24),
  ...MassRefusalEnv,

  ...RetentionEnvSchema.shape,
  ...AnchorEnvSchema.shape,

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  /** Set by the platform on a deployed function: the entry point this process serves. */
  FUNCTION_TARGET: z.string().min(1).optional(),
});

/** How loadConfig treats credentials. */
export interface LoadConfigOptions {
  /**
   * Validation without secret values (the build's preflight): these variables will be mounted from Secret
   * Manager (--set-secrets), so they count as present with a value this process cannot see; a credential the
   * function needs that is neither set nor listed here is an error. Every other variable is checked as at
   * cold start.
   */
  mountedSecrets?: readonly string[];
  /**
   * What this process uses, where it is not a deployed function (the CLI's commands declare it): without
   * `vendors` the vendors' settings are neither read nor checked (`config.vendors` is empty), and only the
   * credentials in `credentials` are required. Default: everything.
   */
  uses?: { vendors: boolean; credentials: readonly CredentialGroup[] };
}

/** Empty strings count as unset (a blank `--set-env-vars` entry must not override a default). */
function withoutEmpty(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

function issuesOf(prefix: string, issue: z.core.$ZodIssue): string {
  return `${prefix}${issue.path.length ? issue.path.join('.') : ''}: ${issue.message}`;
}

type ParsedEnv = z.output<typeof EnvSchema>;

/** The credentials this process must hold, and whether it reads the vendors' settings at all. */
type Reading = Credentials & { vendors: boolean };

function readDatabase(e: ParsedEnv, clean: Record<string, string>, problems: string[]) {
  const poolMax = e.DB_POOL_MAX;
  if (e.DATABASE_URL) return { kind: 'url' as const, url: e.DATABASE_URL, poolMax };
  if (e.CLOUD_SQL_INSTANCE && e.DB_IAM_USER && e.DB_NAME) {
    return {
      kind: 'cloudsql' as const,
      instanceConnectionName: e.CLOUD_SQL_INSTANCE,
      ipType: e.CLOUD_SQL_IP_TYPE,
      iamUser: e.DB_IAM_USER,
      database: e.DB_NAME,
      poolMax,
    };
  }
  if (e.CLOUD_SQL_INSTANCE || e.DB_IAM_USER || e.DB_NAME) {
    const missing = (['CLOUD_SQL_INSTANCE', 'DB_IAM_USER', 'DB_NAME'] as const).filter((k) => !e[k]);
    problems.push(`${missing.join(', ')}: required with Cloud SQL (or set DATABASE_URL instead)`);
  } else if (!clean['DATABASE_URL'] && !clean['CLOUD_SQL_INSTANCE']) {
    problems.push('DATABASE_URL: required (or CLOUD_SQL_INSTANCE, DB_IAM_USER and DB_NAME for Cloud SQL)');
  }
  return undefined;
}

function readRecipients(e: ParsedEnv, problems: string[]): string[] {
  const to = (e.ALERT_TO ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const addr of to) if (!z.email().safeParse(addr).success) problems.push(`ALERT_TO: "${addr}" is not an email address`);
  return to;
}

/**
 * Retention (domain/retention.ts) is on by default. The poller runs it and must hold the key unless RETENTION_DAYS
 * is off; another process (the CLI) uses the key, when given, to find pseudonymised records, and needs it only
 * when RETENTION_DAYS is set explicitly.
 */
function readRetention(e: ParsedEnv, problems: string[], credentials: Credentials) {
  const periods = retentionPeriods(e, problems);
  const key = credentials.reads.includes('retention') ? e.RETENTION_KEY : undefined;
  const runsRetention = credentials.target !== undefined ? credentials.reads.includes('retention') : e.RETENTION_DAYS !== undefined;
  if (periods.days !== null && runsRetention && !key && !credentials.unchecked('retention', 'RETENTION_KEY')) {
    problems.push(
      `RETENTION_KEY: required while retention is on (RETENTION_DAYS ${e.RETENTION_DAYS === undefined ? 'defaults to' : 'is'} ${periods.days}; ` +
        'the key of the hash that replaces customer ids; RETENTION_DAYS=off keeps them)',
    );
  }
  return periods.days !== null && key ? { days: periods.days, purgeDays: periods.purgeDays, key } : undefined;
}

/** The configuration from the parsed variables; what cannot be built is added to `problems`. */
function buildConfig(e: ParsedEnv, clean: Record<string, string>, problems: string[], credentials: Reading) {
  const database = readDatabase(e, clean, problems);
  const names = e.VENDORS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const configured = credentials.vendors ? readVendors(names, clean, problems, (variable) => credentials.unchecked('vendors', variable)) : [];
  const callbacks = readCallbackSettings(clean, configured.map((v) => ({ name: v.name, baseUrl: v.settings.baseUrl })), problems);
  // With callbacks, those vendors' checks are a safety net on a stretched interval.
  const vendors = configured.map((v) => (callbacks?.vendors.some((n) => n === v.name) ? { ...v, policy: stretchCheckInterval(v.policy, callbacks.checkIntervalMs), statusCallbackUrls: [callbacks.url] } : v));
  const to = readRecipients(e, problems);
  const regimeValues = parseRegimeValues(e.REGIME_VALUES);
  problems.push(...regimeValues.problems);
  if (credentials.target && credentials.reads.includes('sendgrid') && !e.SENDGRID_API_KEY && !credentials.unchecked('sendgrid', 'SENDGRID_API_KEY')) {
    problems.push(`SENDGRID_API_KEY: required by ${credentials.target}, which sends the alert emails (mount its secret with --set-secrets)`);
  }
  const retention = readRetention(e, problems, credentials);
  const anchors = anchorSettings(e, problems, credentials.target === 'pollDeletions');
  if (!database) return undefined;
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT ?? e.GCLOUD_PROJECT,
    database,
    customersCollection: e.CUSTOMERS_COLLECTION,
    consentField: e.CONSENT_FIELD,
    /** Where a request's legal regime is read from the customer's document, and what it is otherwise. */
    regime: { field: e.CONSENT_REGIME_FIELD, defaultRegime: e.DEFAULT_REGIME, values: regimeValues.values },
    vendors,
    topics: { poll: e.POLL_TOPIC, alerts: e.ALERT_TOPIC },
    /** Warn this long before a deadline; a forecast completion inside the margin is a deadline at risk. */
    deadline: { warningDays: e.DEADLINE_WARNING_DAYS, riskMarginMs: e.DEADLINE_RISK_MARGIN_DAYS * DAY },
    poller: { timeBudgetMs: e.POLL_TIME_BUDGET_SECONDS * SECOND, batchSize: e.POLL_BATCH_SIZE, leaseMs: e.POLL_LEASE_SECONDS * SECOND },
    alerts: {
      sendgridApiKey: e.SENDGRID_API_KEY,
      sendgridBaseUrl: e.SENDGRID_BASE_URL,
      sandboxMode: e.SENDGRID_SANDBOX === 'true',
      from: e.ALERT_FROM,
      to,
      escalationMs: e.ALERT_ESCALATION_HOURS * HOUR,
      /** How often the poller scans unfinished deletions for alert conditions. */
      scanIntervalMs: e.ALERT_SCAN_MINUTES * MINUTE,
    },
    /** Cancel deletions that have not started at the vendor when consent is granted again (off by default). */
    cancelOnRegrant: e.CANCEL_ON_REGRANT === 'true',
    /** Signed status callbacks (receiveDeletionCallback); undefined when CALLBACK_URL is unset. */
    callbacks,
    /** How often the poller runs the live contract check of vendors with a documented probe (0: never). */
    contractCheck: { intervalMs: e.CONTRACT_CHECK_HOURS * HOUR },
    /** How failures end: the mass refusal that holds a vendor, and the revision a hold is keyed by. */
    failures: massRefusalOf(e),
    /** How long finished requests keep the raw customer id, then the pseudonym; undefined: not in this process. */
    retention,
    /** Where and how often the event log's chain head is written outside the database. */
    anchors,
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * The schema of the configuration: every variable checked, then the whole built from them. `clean` is the
 * environment itself (empty values dropped), where the vendors' own variables (VENDOR_<NAME>_*) are read;
 * `credentials` says which credentials this process must hold.
 */
function configSchema(clean: Record<string, string>, credentials: Reading) {
  return EnvSchema.transform((e, ctx) => {
    const problems: string[] = [];
    const config = buildConfig(e, clean, problems, credentials);
    for (const message of problems) ctx.issues.push({ code: 'custom', message, input: clean, path: [] });
    return config ?? z.NEVER;
  });
}

/** The validated configuration: what its schema makes of the environment. */
export type Config = z.output<ReturnType<typeof configSchema>>;

/**
 * Validates the environment once at cold start. Throws ConfigError listing every problem at once.
 * `env` is injected (process.env in production, a literal in tests).
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const clean = withoutEmpty(env);
  const credentials = { ...credentialsOf(clean['FUNCTION_TARGET'], options.mountedSecrets, options.uses?.credentials), vendors: options.uses?.vendors ?? true };
  const parsed = configSchema(clean, credentials).safeParse(clean);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => (i.code === 'custom' && i.path.length === 0 ? i.message : issuesOf('', i)));
  // A variable that does not parse stops zod before the whole is checked: check the whole without it,
  // so every problem is listed at once.
  const bad = new Set(parsed.error.issues.map((i) => i.path[0]).filter((k): k is string => typeof k === 'string'));
  if (bad.size > 0) {
    const rest = EnvSchema.safeParse(Object.fromEntries(Object.entries(clean).filter(([k]) => !bad.has(k))));
    if (rest.success) buildConfig(rest.data, clean, problems, credentials);
  }
  throw new ConfigError(problems);
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
        Object.entries(v.settings).map(([k, val]) => [k, SECRET_SETTINGS[v.name].includes(k) || LOOKUP_SECRET_SETTINGS[v.name].includes(k) ? '[redacted]' : val]),
      ),
    })),
    alerts: { ...config.alerts, sendgridApiKey: config.alerts.sendgridApiKey ? '[redacted]' : undefined },
    retention: config.retention ? { ...config.retention, key: '[redacted]' } : undefined,
    callbacks: config.callbacks ? { ...config.callbacks, testRootPem: config.callbacks.testRootPem ? '[local test root]' : undefined } : undefined,
  };
}
