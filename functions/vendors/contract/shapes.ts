/**
 * Comparing a vendor's answer with its documented examples by shape: the same keys at every level and the same
 * JSON type for every value. The contract tests (test/fixtures/vendors/contract.ts) and the live contract probe
 * (`consent-erasure vendors check`, the poller's daily check) use this one comparison.
 */

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * Where `actual` differs in shape from `documented`: the same keys at every level and the same JSON type for
 * every value (string, number, boolean, null, object, array). Each element of an array must have the shape of
 * some element of the documented array; an empty documented array only matches an empty one. Returns the
 * differences as `path: what` (empty when the shapes match).
 */
export function shapeDifferences(actual: unknown, documented: unknown, path = '$'): string[] {
  const a = kind(actual);
  const d = kind(documented);
  if (a !== d) return [`${path}: ${a} where the document shows ${d}`];
  if (a === 'array') {
    const items = documented as unknown[];
    const got = actual as unknown[];
    if (items.length === 0) return got.length === 0 ? [] : [`${path}: ${got.length} elements where the document shows an empty array`];
    const problems: string[] = [];
    got.forEach((item, i) => {
      const candidates = items.map((doc) => shapeDifferences(item, doc, `${path}[${i}]`));
      if (!candidates.some((c) => c.length === 0)) problems.push(...candidates.reduce((best, c) => (c.length < best.length ? c : best)));
    });
    return problems;
  }
  if (a === 'object') {
    const got = actual as Record<string, unknown>;
    const doc = documented as Record<string, unknown>;
    const problems: string[] = [];
    for (const key of Object.keys(doc)) if (!(key in got)) problems.push(`${path}.${key}: missing`);
    for (const key of Object.keys(got)) {
      if (!(key in doc)) problems.push(`${path}.${key}: ${ADDED}`);
      else problems.push(...shapeDifferences(got[key], doc[key], `${path}.${key}`));
    }
    return problems;
  }
  return [];
}

const ADDED = 'not in the document';

/** Whether a difference only adds a field the document does not show (an answer grown, not broken). */
export function isAddition(difference: string): boolean {
  return difference.endsWith(`: ${ADDED}`);
}

/** Of several documented bodies, the differences from the closest one (empty when one matches), and its index. */
export function closestShape(actual: unknown, documented: readonly unknown[]): { index: number; differences: string[] } {
  let best = { index: -1, differences: [`$: no documented example to compare with`] };
  documented.forEach((doc, index) => {
    const differences = shapeDifferences(actual, doc);
    const breaking = (d: string[]) => d.filter((x) => !isAddition(x)).length;
    if (best.index === -1 || breaking(differences) < breaking(best.differences) || (breaking(differences) === breaking(best.differences) && differences.length < best.differences.length)) {
      best = { index, differences };
    }
  });
  return best;
}
