import { DatabaseUnavailableError, PermanentError } from '../errors.js';

/** SQLSTATE classes that a retry can fix: connection, resources, operator intervention, serialization. */
const TRANSIENT_CLASSES = ['08', '53', '57', '58', '40'];

/**
 * Maps a pg error to the error tree, keeping `cause`: connection faults and serialization failures are
 * transient (retry), constraint and data errors are permanent.
 */
export function mapDatabaseError(err: unknown, what: string): Error {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (TRANSIENT_CLASSES.includes(code.slice(0, 2))) {
      return new DatabaseUnavailableError(`${what}: database unavailable (${code})`, { cause: err });
    }
    return new PermanentError(`${what}: database rejected the statement (${code})`, { cause: err });
  }
  // No SQLSTATE: a socket error, refused connection or pool timeout.
  return new DatabaseUnavailableError(`${what}: database unreachable`, { cause: err });
}
