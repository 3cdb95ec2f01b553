/**
 * The error tree. Handlers map these to the platform's two outcomes:
 * a PermanentError is recorded and acknowledged (return), anything else is thrown so the platform retries.
 */
export class ConsentErasureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that will never become valid by retrying (bad event, bad message). Acknowledge after logging. */
export class PermanentError extends ConsentErasureError {}

/** A fault that may pass (database down, network). Throw so the platform retries. */
export class TransientError extends ConsentErasureError {}

/** Configuration that does not validate; lists every problem at once. */
export class ConfigError extends ConsentErasureError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** An event or message that failed validation; `reason` names what was wrong. */
export class InvalidInputError extends PermanentError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** The database could not be reached or failed in a way a retry may fix. */
export class DatabaseUnavailableError extends TransientError {}

/** True when the error should be retried by the platform. */
export function isTransient(err: unknown): boolean {
  return !(err instanceof PermanentError);
}

/** The longest error text kept in a record (last_error, an event's detail). */
export const MAX_ERROR_TEXT = 1000;

/**
 * An error as the short text that is stored and shown: its message (adapters keep secrets out of
 * messages), cut at MAX_ERROR_TEXT characters with an ellipsis when longer.
 */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
