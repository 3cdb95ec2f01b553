/**
 * Evaluates the Terraform expressions of infra/ that the drift tests need (filters, names, for_each maps,
 * outputs), as Terraform would with the variables' defaults. hcl2-parser gives each attribute as a template:
 * literal text with `${…}` interpolations whose source is raw HCL; this file parses and evaluates that source.
 *
 * The subset covered is what infra/ uses: literals, templates, lists, objects, traversals (var., local.,
 * each., resources and data sources with [key] and .attr), for expressions (list and object, with `if`),
 * conditionals, comparison and logic operators, and the functions listed in FUNCTIONS. Anything else throws,
 * naming it, so a new construct in infra/ fails loudly here rather than being skipped. Values Terraform knows
 * only after apply (ids, emails) come from COMPUTED below or are markers ⟨type.name.attr⟩.
 */

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

type Token =
  | { t: 'ident'; v: string }
  | { t: 'num'; v: number }
  | { t: 'punct'; v: string }
  | { t: 'tmpl'; parts: Array<string | Token[]> };

const PUNCT = ['=>', '==', '!=', '<=', '>=', '&&', '||', '...', '(', ')', '[', ']', '{', '}', ',', '.', ':', '?', '=', '<', '>', '!', '+', '-', '*', '/', '%'];

/** Lexes HCL expression source; a quoted string becomes a template token whose interpolations are lexed too. */
function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const lexTemplate = (): Token => {
    // At the opening quote.
    i++;
    const parts: Array<string | Token[]> = [];
    let text = '';
    while (i < src.length && src[i] !== '"') {
      const c = src[i]!;
      if (c === '\\') {
        const n = src[i + 1];
        text += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n!;
        i += 2;
      } else if (c === '$' && src[i + 1] === '$' && src[i + 2] === '{') {
        text += '${';
        i += 3;
      } else if (c === '$' && src[i + 1] === '{') {
        if (text) parts.push(text);
        text = '';
        i += 2;
        const start = i;
        i = closingBrace(src, i);
        parts.push(lex(src.slice(start, i)));
        i++;
      } else if (c === '%' && src[i + 1] === '{') {
        throw new Error(`template directives (%{) are not supported: ${src.slice(i, i + 30)}`);
      } else {
        text += c;
        i++;
      }
    }
    if (src[i] !== '"') throw new Error(`unterminated string in ${src.slice(0, 60)}`);
    i++;
    if (text || parts.length === 0) parts.push(text);
    return { t: 'tmpl', parts };
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      out.push(lexTemplate());
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0] });
      i += id[0].length;
      continue;
    }
    const p = PUNCT.find((x) => src.startsWith(x, i));
    if (!p) throw new Error(`unexpected character ${JSON.stringify(c)} in ${src.slice(Math.max(0, i - 20), i + 20)}`);
    out.push({ t: 'punct', v: p });
    i += p.length;
  }
  return out;
}

/** Index of the `}` closing an interpolation opened just before `i`, skipping nested braces and strings. */
function closingBrace(src: string, i: number): number {
  let depth = 0;
  for (; i < src.length; i++) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\') i++;
        else if (src[i] === '$' && src[i + 1] === '{') i = closingBrace(src, i + 2);
        i++;
      }
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  throw new Error(`unclosed interpolation in ${src.slice(0, 60)}`);
}

type Node =
  | { k: 'lit'; v: Value }
  | { k: 'tmpl'; parts: Array<string | Node> }
  | { k: 'var'; name: string }
  | { k: 'get'; obj: Node; attr: string }
  | { k: 'index'; obj: Node; key: Node }
  | { k: 'call'; fn: string; args: Node[]; expand: boolean }
  | { k: 'list'; items: Node[] }
  | { k: 'obj'; entries: Array<[Node, Node]> }
  | { k: 'for'; kv: [string, string | undefined]; coll: Node; key: Node | undefined; value: Node; cond: Node | undefined; obj: boolean }
  | { k: 'cond'; c: Node; a: Node; b: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'neg'; a: Node };

class Parser {
  private p = 0;
  constructor(private readonly toks: Token[]) {}

  parseAll(): Node {
    const n = this.expr();
    if (this.p !== this.toks.length) throw new Error(`unexpected ${JSON.stringify(this.toks[this.p])} after expression`);
    return n;
  }
  private peek(v: string): boolean {
    const t = this.toks[this.p];
    return t !== undefined && (t.t === 'punct' || t.t === 'ident') && t.v === v;
  }
  private eat(v: string): void {
    if (!this.peek(v)) throw new Error(`expected "${v}", found ${JSON.stringify(this.toks[this.p])}`);
    this.p++;
  }
  private ident(): string {
    const t = this.toks[this.p++];
    if (!t || t.t !== 'ident') throw new Error(`expected a name, found ${JSON.stringify(t)}`);
    return t.v;
  }
  expr(): Node {
    const c = this.binary(0);
    if (this.peek('?')) {
      this.p++;
      const a = this.expr();
      this.eat(':');
      const b = this.expr();
      return { k: 'cond', c, a, b };
    }
    return c;
  }
  private static PREC: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '>': 4, '<=': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };
  private binary(min: number): Node {
    let a = this.unary();
    for (;;) {
      const t = this.toks[this.p];
      const prec = t?.t === 'punct' ? Parser.PREC[t.v] : undefined;
      if (prec === undefined || prec <= min) return a;
      this.p++;
      a = { k: 'bin', op: (t as { v: string }).v, a, b: this.binary(prec) };
    }
  }
  private unary(): Node {
    if (this.peek('!')) {
      this.p++;
      return { k: 'not', a: this.unary() };
    }
    if (this.peek('-')) {
      this.p++;
      return { k: 'neg', a: this.unary() };
    }
    return this.postfix(this.primary());
  }
  private postfix(n: Node): Node {
    for (;;) {
      if (this.peek('.')) {
        this.p++;
        const t = this.toks[this.p++];
        if (t?.t === 'num') n = { k: 'index', obj: n, key: { k: 'lit', v: t.v } };
        else if (t?.t === 'ident') n = { k: 'get', obj: n, attr: t.v };
        else throw new Error('expected an attribute after "."');
      } else if (this.peek('[')) {
        this.p++;
        if (this.peek('*')) throw new Error('splat expressions are not supported');
        const key = this.expr();
        this.eat(']');
        n = { k: 'index', obj: n, key };
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.toks[this.p];
    if (!t) throw new Error('unexpected end of expression');
    if (t.t === 'num') {
      this.p++;
      return { k: 'lit', v: t.v };
    }
    if (t.t === 'tmpl') {
      this.p++;
      return { k: 'tmpl', parts: t.parts.map((x) => (typeof x === 'string' ? x : new Parser(x).parseAll())) };
    }
    if (t.t === 'punct' && t.v === '(') {
      this.p++;
      const e = this.expr();
      this.eat(')');
      return e;
    }
    if (t.t === 'punct' && t.v === '[') {
      this.p++;
      if (this.peek('for')) return this.forExpr(false);
      const items: Node[] = [];
      while (!this.peek(']')) {
        items.push(this.expr());
        if (this.peek(',')) this.p++;
        else break;
      }
      this.eat(']');
      return { k: 'list', items };
    }
    if (t.t === 'punct' && t.v === '{') {
      this.p++;
      if (this.peek('for')) return this.forExpr(true);
      const entries: Array<[Node, Node]> = [];
      while (!this.peek('}')) {
        const kt = this.toks[this.p];
        let key: Node;
        if (kt?.t === 'ident' && (this.toks[this.p + 1] as { v?: string } | undefined)?.v !== '.') {
          this.p++;
          key = { k: 'lit', v: kt.v };
        } else key = this.expr();
        if (this.peek('=')) this.p++;
        else this.eat(':');
        entries.push([key, this.expr()]);
        if (this.peek(',')) this.p++;
      }
      this.eat('}');
      return { k: 'obj', entries };
    }
    if (t.t === 'ident') {
      this.p++;
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { k: 'lit', v: null };
      if (this.peek('(')) {
        this.p++;
        const args: Node[] = [];
        let expand = false;
        while (!this.peek(')')) {
          args.push(this.expr());
          if (this.peek('...')) {
            this.p++;
            expand = true;
          }
          if (this.peek(',')) this.p++;
          else break;
        }
        this.eat(')');
        return { k: 'call', fn: t.v, args, expand };
      }
      return { k: 'var', name: t.v };
    }
    throw new Error(`unexpected ${JSON.stringify(t)}`);
  }
  private forExpr(obj: boolean): Node {
    this.eat('for');
    const first = this.ident();
    let second: string | undefined;
    if (this.peek(',')) {
      this.p++;
      second = this.ident();
    }
    this.eat('in');
    const coll = this.expr();
    this.eat(':');
    let key: Node | undefined;
    let value = this.expr();
    if (obj) {
      this.eat('=>');
      key = value;
      value = this.expr();
    }
    let cond: Node | undefined;
    if (this.peek('if')) {
      this.p++;
      cond = this.expr();
    }
    this.eat(obj ? '}' : ']');
    return { k: 'for', kv: [first, second], coll, key, value, cond, obj };
  }
}

const isObj = (v: Value): v is { [k: string]: Value } => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`cannot use ${JSON.stringify(v)} as a string`);
}

function list(v: Value): Value[] {
  if (Array.isArray(v)) return v;
  throw new Error(`expected a list, found ${JSON.stringify(v)}`);
}

const FUNCTIONS: Record<string, (...a: Value[]) => Value> = {
  join: (sep, l) => list(l).map(str).join(str(sep)),
  flatten: (l) => list(l).flatMap((x) => (Array.isArray(x) ? (FUNCTIONS['flatten']!(x) as Value[]) : [x])),
  upper: (s) => str(s).toUpperCase(),
  lower: (s) => str(s).toLowerCase(),
  replace: (s, a, b) => str(s).split(str(a)).join(str(b)),
  trimsuffix: (s, x) => (str(s).endsWith(str(x)) ? str(s).slice(0, -str(x).length) : str(s)),
  merge: (...objs) => Object.assign({}, ...objs.map((o) => (isObj(o) ? o : {}))),
  toset: (l) => [...new Set(list(l).map(str))],
  tolist: (l) => list(l),
  keys: (o) => (isObj(o) ? Object.keys(o).sort() : []),
  values: (o) => (isObj(o) ? Object.keys(o).sort().map((k) => o[k]!) : []),
  sort: (l) => list(l).map(str).sort(),
  compact: (l) => list(l).filter((x) => x !== '' && x !== null),
  length: (v) => (Array.isArray(v) ? v.length : isObj(v) ? Object.keys(v).length : str(v).length),
  concat: (...ls) => ls.flatMap(list),
  setproduct: (a, b) => list(a).flatMap((x) => list(b).map((y) => [x, y])),
  base64encode: (s) => Buffer.from(str(s)).toString('base64'),
  tonumber: (s) => Number(str(s)),
};

/** An evaluated resource or data source instance: its arguments, plus what Terraform computes for it. */
export type ResourceResolver = (type: string, name: string, key: string | undefined) => Value;

export interface Scope {
  /** Functions beyond FUNCTIONS that need the module's context (templatefile reads a file). */
  functions?: Record<string, (...a: Value[]) => Value>;
  var: Record<string, Value>;
  local: (name: string) => Value;
  resource: ResourceResolver;
  bindings: Record<string, Value>;
}

export function evaluate(n: Node, s: Scope): Value {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'tmpl': {
      if (n.parts.length === 1 && typeof n.parts[0] !== 'string') return evaluate(n.parts[0]!, s);
      return n.parts.map((p) => (typeof p === 'string' ? p : str(evaluate(p, s)))).join('');
    }
    case 'var': {
      if (n.name in s.bindings) return s.bindings[n.name]!;
      throw new Error(`"${n.name}" is not a value here (a traversal such as var.x or local.x was expected)`);
    }
    case 'get':
    case 'index': {
      // Traversals from var., local., each., data. and resource types resolve lazily.
      const path = traversal(n, s);
      // A traversal may resolve to false, 0 or '' (a boolean variable's default).
      if (path !== undefined) return path;
      const obj = evaluate(n.obj, s);
      const key = n.k === 'get' ? n.attr : evaluate(n.key, s);
      if (Array.isArray(obj) && typeof key === 'number') return at(obj[key], `[${key}]`);
      if (isObj(obj)) return at(obj[str(key)], `.${str(key)}`);
      throw new Error(`cannot read ${JSON.stringify(key)} of ${JSON.stringify(obj)}`);
    }
    case 'call': {
      const fn = s.functions?.[n.fn] ?? FUNCTIONS[n.fn];
      if (!fn) throw new Error(`function ${n.fn}() is not supported by the test's evaluator`);
      let args = n.args.map((a) => evaluate(a, s));
      if (n.expand) args = [...args.slice(0, -1), ...list(args.at(-1)!)];
      return fn(...args);
    }
    case 'list':
      return n.items.map((i) => evaluate(i, s));
    case 'obj':
      return Object.fromEntries(n.entries.map(([k, v]) => [str(evaluate(k, s)), evaluate(v, s)]));
    case 'for': {
      const coll = evaluate(n.coll, s);
      const pairs: Array<[Value, Value]> = Array.isArray(coll) ? coll.map((v, i) => [i, v]) : isObj(coll) ? Object.keys(coll).sort().map((k) => [k, coll[k]!]) : [];
      const out: Value[] = [];
      const obj: Record<string, Value> = {};
      for (const [k, v] of pairs) {
        const [a, b] = n.kv;
        const bindings = { ...s.bindings, ...(b === undefined ? { [a]: v } : { [a]: k, [b]: v }) };
        const inner = { ...s, bindings };
        if (n.cond && evaluate(n.cond, inner) !== true) continue;
        if (n.obj) obj[str(evaluate(n.key!, inner))] = evaluate(n.value, inner);
        else out.push(evaluate(n.value, inner));
      }
      return n.obj ? obj : out;
    }
    case 'cond':
      return evaluate(n.c, s) === true ? evaluate(n.a, s) : evaluate(n.b, s);
    case 'not':
      return !evaluate(n.a, s);
    case 'neg':
      return -Number(evaluate(n.a, s));
    case 'bin': {
      const a = evaluate(n.a, s);
      const b = evaluate(n.b, s);
      switch (n.op) {
        case '==':
          return JSON.stringify(a) === JSON.stringify(b);
        case '!=':
          return JSON.stringify(a) !== JSON.stringify(b);
        case '&&':
          return a === true && b === true;
        case '||':
          return a === true || b === true;
        case '<':
          return Number(a) < Number(b);
        case '>':
          return Number(a) > Number(b);
        case '<=':
          return Number(a) <= Number(b);
        case '>=':
          return Number(a) >= Number(b);
        case '+':
          return Number(a) + Number(b);
        case '-':
          return Number(a) - Number(b);
        case '*':
          return Number(a) * Number(b);
        case '/':
          return Number(a) / Number(b);
        default:
          return Number(a) % Number(b);
      }
    }
  }
}

function at(v: Value | undefined, what: string): Value {
  if (v === undefined) throw new Error(`no attribute or element ${what}`);
  return v;
}

/** Resolves var.x, local.x, each.key/value, data.T.N.attr and T.N[key].attr; undefined when `n` is none of them. */
function traversal(n: Node, s: Scope): Value | undefined {
  const steps: Array<{ attr?: string; key?: Node }> = [];
  let cur: Node = n;
  while (cur.k === 'get' || cur.k === 'index') {
    steps.unshift(cur.k === 'get' ? { attr: cur.attr } : { key: cur.key });
    cur = cur.obj;
  }
  if (cur.k !== 'var' || cur.name in s.bindings) return undefined;
  const root = cur.name;
  const attr = (i: number) => {
    const a = steps[i]?.attr;
    if (a === undefined) throw new Error(`${root}: expected an attribute name at step ${i}`);
    return a;
  };
  let value: Value;
  let used: number;
  if (root === 'var') {
    const name = attr(0);
    if (!(name in s.var)) throw new Error(`var.${name} has no value (no default and none given)`);
    value = s.var[name]!;
    used = 1;
  } else if (root === 'local') {
    value = s.local(attr(0));
    used = 1;
  } else if (root === 'each') {
    value = at(s.bindings[`each.${attr(0)}`], `each.${attr(0)}`);
    used = 1;
  } else if (root === 'path') {
    value = '.';
    used = 1;
  } else if (root === 'data') {
    value = s.resource(`data.${attr(0)}`, attr(1), undefined);
    used = 2;
  } else {
    const name = attr(0);
    const keyStep = steps[1]?.key;
    const key = keyStep ? str(evaluate(keyStep, s)) : undefined;
    value = s.resource(root, name, key);
    used = keyStep ? 2 : 1;
  }
  for (const step of steps.slice(used)) {
    const k = step.attr ?? evaluate(step.key!, s);
    if (Array.isArray(value) && typeof k === 'number') value = at(value[k], `[${k}]`);
    else if (isObj(value)) value = at(value[str(k)], `${root}….${str(k)}`);
    else throw new Error(`cannot read ${JSON.stringify(k)} of ${JSON.stringify(value)} (${root})`);
  }
  return value;
}

/** Evaluates an attribute as hcl2-parser gives it: a template (text with `${…}`), or a list/map of them. */
export function evaluateAttribute(raw: unknown, s: Scope): Value {
  if (typeof raw === 'string') return evaluate(new Parser(rebuildTemplate(raw)).parseAll(), s);
  if (Array.isArray(raw)) return raw.map((r) => evaluateAttribute(r, s));
  if (raw !== null && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, evaluateAttribute(v, s)]));
  return raw as Value;
}

/** A hcl2-parser value is already unescaped outside interpolations; lex it as a template body. */
function rebuildTemplate(raw: string): Token[] {
  const parts: Array<string | Token[]> = [];
  let text = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '$' && raw[i + 1] === '{') {
      if (text) parts.push(text);
      text = '';
      const end = closingBrace(raw, i + 2);
      parts.push(lex(raw.slice(i + 2, end)));
      i = end;
    } else text += raw[i];
  }
  if (text || parts.length === 0) parts.push(text);
  return [{ t: 'tmpl', parts }];
}

/** Parses and evaluates HCL expression source (for tests of the evaluator and one-off expressions). */
export function evaluateSource(src: string, s: Scope): Value {
  return evaluate(new Parser(lex(src)).parseAll(), s);
}

/**
 * Renders a Terraform template file that uses only `${name}` interpolations (`$${` is a literal `${`; a `$`
 * not followed by `{` is itself). Directives (`%{`) are refused, so a template that starts using them fails here.
 */
export function renderTemplate(text: string, vars: Record<string, Value>): string {
  if (/(^|[^%])%\{/.test(text)) throw new Error('template directives (%{) are not supported by the test renderer');
  return text.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
    if (m === '$${') return '${';
    const v = vars[name!];
    if (v === undefined) throw new Error(`the template uses \${${name}}, which is not given`);
    return String(v);
  });
}
