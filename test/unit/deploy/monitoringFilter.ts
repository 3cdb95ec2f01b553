/**
 * A structural check of Cloud Monitoring filter syntax (the `filter` of an alert policy's condition), after
 * https://cloud.google.com/monitoring/api/v3/filters ("Filter syntax"): comparisons `selector op value` joined
 * by AND / OR, negated with NOT, grouped with parentheses; selectors `project`, `group.id`, `metric.type`,
 * `resource.type`, `metric.label(s).KEY`, `resource.label(s).KEY`, `metadata.system_labels.KEY`,
 * `metadata.user_labels.KEY`; values a quoted string, a number, a boolean, or one of the string functions
 * starts_with, ends_with, has_substring, monitoring.regex.full_match (one string each) and one_of (strings).
 *
 * It is not the Logging query language, where `field=("a" OR "b")` is a valid disjunction of values: in a
 * Monitoring filter a parenthesis after an operator is an error ("Could not parse filter"), and one_of("a", "b")
 * is the way to say it. This checker is stricter than the API where the documents are silent (keywords in
 * upper case, no implicit AND): a filter it accepts is one the documents describe.
 */

type Tok = { kind: 'word' | 'string' | 'number' | 'punct'; text: string; at: number };

const FUNCTIONS_ONE = new Set(['starts_with', 'ends_with', 'has_substring', 'monitoring.regex.full_match']);

function tokenize(filter: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < filter.length && filter[j] !== '"') j += filter[j] === '\\' ? 2 : 1;
      if (j >= filter.length) throw new FilterError('unterminated string', i);
      out.push({ kind: 'string', text: filter.slice(i, j + 1), at: i });
      i = j + 1;
      continue;
    }
    const two = filter.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=') {
      out.push({ kind: 'punct', text: two, at: i });
      i += 2;
      continue;
    }
    if ('=<>(),'.includes(c)) {
      out.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(filter.slice(i));
    if (num) {
      out.push({ kind: 'number', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(filter.slice(i));
    if (word) {
      out.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw new FilterError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  return out;
}

export class FilterError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at column ${at + 1}`);
  }
}

function isSelector(word: string): boolean {
  return (
    ['project', 'group.id', 'metric.type', 'resource.type'].includes(word) ||
    /^(metric|resource)\.labels?\.[A-Za-z_][A-Za-z0-9_]*$/.test(word) ||
    /^metadata\.(system_labels|user_labels)\.[A-Za-z_][A-Za-z0-9_]*$/.test(word)
  );
}

/** Throws FilterError naming the first place `filter` departs from Monitoring filter syntax. */
export function checkMonitoringFilter(filter: string): void {
  const toks = tokenize(filter);
  let p = 0;
  const peek = () => toks[p];
  const end = filter.length;
  const expect = (text: string) => {
    const t = toks[p];
    if (!t || t.text !== text) throw new FilterError(`expected "${text}", found ${t ? JSON.stringify(t.text) : 'the end'}`, t?.at ?? end);
    p++;
  };
  const stringArg = () => {
    const t = toks[p];
    if (!t || t.kind !== 'string') throw new FilterError(`expected a quoted string, found ${t ? JSON.stringify(t.text) : 'the end'}`, t?.at ?? end);
    p++;
  };
  const value = (op: string, selector: string) => {
    const t = toks[p];
    if (!t) throw new FilterError(`expected a value after "${op}"`, end);
    if (t.text === '(')
      throw new FilterError(
        `"${selector} ${op} (" is Logging query syntax; a Monitoring filter takes one value here (use one_of("a", "b") for several)`,
        t.at,
      );
    if (['<', '<=', '>', '>='].includes(op)) {
      if (t.kind !== 'number') throw new FilterError(`"${op}" compares numbers, found ${JSON.stringify(t.text)}`, t.at);
      p++;
      return;
    }
    if (t.kind === 'string' || t.kind === 'number' || (t.kind === 'word' && (t.text === 'true' || t.text === 'false'))) {
      p++;
      return;
    }
    if (t.kind === 'word' && (FUNCTIONS_ONE.has(t.text) || t.text === 'one_of')) {
      p++;
      expect('(');
      stringArg();
      if (t.text === 'one_of') {
        while (peek()?.text === ',') {
          p++;
          stringArg();
        }
      }
      expect(')');
      return;
    }
    throw new FilterError(`expected a quoted string, a number or a string function after "${op}", found ${JSON.stringify(t.text)}`, t.at);
  };
  const comparison = () => {
    const t = toks[p];
    if (!t || t.kind !== 'word' || !isSelector(t.text))
      throw new FilterError(`expected a selector (metric.type, resource.type, resource.labels.KEY, …), found ${t ? JSON.stringify(t.text) : 'the end'}`, t?.at ?? end);
    p++;
    const op = toks[p];
    if (!op || op.kind !== 'punct' || !['=', '!=', '<', '<=', '>', '>='].includes(op.text))
      throw new FilterError(`expected a comparison operator after ${t.text}, found ${op ? JSON.stringify(op.text) : 'the end'}`, op?.at ?? end);
    p++;
    value(op.text, t.text);
  };
  const term = (): void => {
    const t = peek();
    if (t?.text === 'NOT') {
      p++;
      return term();
    }
    if (t?.text === '(') {
      p++;
      expression();
      expect(')');
      return;
    }
    comparison();
  };
  const expression = () => {
    term();
    while (peek()?.text === 'AND' || peek()?.text === 'OR') {
      p++;
      term();
    }
  };
  expression();
  if (p < toks.length) throw new FilterError(`expected AND, OR or the end, found ${JSON.stringify(toks[p]!.text)}`, toks[p]!.at);
}
