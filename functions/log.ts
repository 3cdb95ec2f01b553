import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

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
          return { ...rest, error: { name: err.name, message: err.message }, stack_trace: err.stack };
        }
        return object;
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
