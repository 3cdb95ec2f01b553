import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { capText, TEXT_CAP } from './text.js';

/** Cloud Logging severities, keyed by pino level name. */
const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** Keys whose values are never written to a log line, wherever they appear. */
export const REDACTED_KEYS = [
  'apiKey',
  'token',
  'password',
  'secret',
  'authorization',
  'sendgridApiKey',
  '*.apiKey',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.sendgridApiKey',
  'headers.authorization',
  'headers.Authorization',
];

/**
 * Field names whose values are secrets, matched at any depth of a log line (case-insensitive, `-` and `_`
 * ignored): pino's paths above reach fixed depths only, and a vendor answer or an error's options can nest a
 * credential anywhere. Covers every vendor's secret settings (test/unit/log.test.ts keeps it so).
 */
const SECRET_FIELD = /^(api(key|secret)|token|projecttoken|secretkey|password|secret|authorization|proxyauthorization|sendgridapikey|retentionkey|cookie|setcookie|xapikey|accesstoken|refreshtoken|clientsecret|privatekey)$/;

/** Whether a field of this name holds a secret. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name.toLowerCase().replace(/[-_]/g, ''));
}

const MAX_DEPTH = 8;
const MAX_ARRAY = 200;
const STACK_CAP = 8000;

/** A copy of a log line's fields: secrets redacted at every depth, every string capped, arrays and depth bounded. */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return capText(value, TEXT_CAP);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ARRAY).map((v) => scrub(v, depth + 1));
    if (value.length > MAX_ARRAY) kept.push(`… [${value.length - MAX_ARRAY} more items]`);
    return kept;
  }
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return `[binary, ${value.byteLength} bytes]`;
  if (value instanceof Error) return { name: value.name, message: capText(value.message, TEXT_CAP) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) ? '[redacted]' : scrub(v, depth + 1);
  return out;
}

export type Log = Logger;

/**
 * Builds the structured logger: one JSON object per line with `severity`, `message`, `time` and
 * `logging.googleapis.com/labels`, the shape Cloud Logging lifts into a LogEntry.
 * Every call site passes an `event` field naming what happened, so logs can be filtered by event.
 */
export function createLogger(
  options: { level?: string; service?: string; labels?: Record<string, string> } = {},
  destination?: DestinationStream,
): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    messageKey: 'message',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    base: options.service ? { serviceContext: { service: options.service } } : {},
    redact: { paths: REDACTED_KEYS, censor: '[redacted]' },
    formatters: {
      level(label) {
        return { severity: SEVERITY[label] ?? 'DEFAULT' };
      },
      log(object) {
        const err = object['err'];
        if (err instanceof Error) {
          // Error Reporting picks up entries whose `stack_trace` holds a V8 stack.
          const { err: _err, ...rest } = object;
          return {
            ...(scrub(rest) as Record<string, unknown>),
            error: { name: err.name, message: capText(err.message, TEXT_CAP) },
            ...(err.stack ? { stack_trace: capText(err.stack, STACK_CAP) } : {}),
          };
        }
        return scrub(object) as Record<string, unknown>;
      },
    },
    hooks: {
      // The message too is capped: some are built from a vendor's words.
      logMethod(args, method) {
        return method.apply(this, args.map((a) => (typeof a === 'string' ? capText(a, TEXT_CAP) : a)) as Parameters<typeof method>);
      },
    },
  };
  const logger = destination ? pino(config, destination) : pino(config);
  return options.labels ? logger.child({ 'logging.googleapis.com/labels': options.labels }) : logger;
}

/** A logger that discards everything, for unit tests that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
