/**
 * Length caps for text that reaches an email or a log line. Customer ids, operation ids, vendor answers and
 * error messages come from outside; a cap keeps one of them from filling an email, a log entry or a row.
 */

/** The default cap: generous for any real id, error or sample, small enough for a log line or an email row. */
export const TEXT_CAP = 2000;

/**
 * `value` cut to at most `max` characters (UTF-16 code units, never splitting a surrogate pair), with `…`
 * marking a cut and the number of characters left out.
 */
export function capText(value: string, max: number = TEXT_CAP): string {
  if (value.length <= max) return value;
  const marker = `… [${value.length - max} more characters]`;
  let end = Math.max(0, max - marker.length);
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}${marker}`;
}

/** Depth of nested objects capDeep walks; anything deeper is replaced by a marker. */
const MAX_DEPTH = 8;
/** Array elements kept per array. */
const MAX_ARRAY = 200;

/**
 * A copy of `value` in which every string is capped (and long arrays shortened), for structured log fields.
 * Errors and other class instances are left as they are (their serializers cap what they print).
 */
export function capDeep(value: unknown, max: number = TEXT_CAP, depth = 0): unknown {
  if (typeof value === 'string') return capText(value, max);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ARRAY).map((v) => capDeep(v, max, depth + 1));
    if (value.length > MAX_ARRAY) kept.push(`… [${value.length - MAX_ARRAY} more items]`);
    return kept;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = capDeep(v, max, depth + 1);
  return out;
}
