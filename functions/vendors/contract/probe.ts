import { sampleBody, jsonOf, redactUrl } from '../callVendor.js';
import type { DocumentedAnswer } from './documentedShapes.js';
import { closestShape, isAddition } from './shapes.js';

/**
 * A read-only probe of a vendor's live contract: calls the vendor's documented test or discovery endpoints with
 * the configured credentials and compares each answer, by shape, with the documented examples (documentedShapes.ts).
 */

/** How one call went. `grown`: the answer has fields the documents do not show, and nothing missing or retyped. */
export type CallOutcome = 'matches' | 'grown' | 'differs' | 'failed';
/** How a vendor's check went; `no_probe` when the vendor documents no test or discovery endpoint (never a pass). */
export type CheckOutcome = CallOutcome | 'no_probe';

export interface ProbeCall {
  /** What the call is for (`discovery`, `stub create`, …). */
  call: string;
  /** Method and URL without its query string. */
  request: string;
  /** The HTTP status answered; null when no answer came. */
  status: number | null;
  outcome: CallOutcome;
  /** The fixture whose documented answer was closest (test/fixtures/vendors/<file>). */
  closest?: string;
  differences: string[];
  /** Why the call failed or differs, for a person. */
  problem?: string;
}

export interface ContractCheck {
  vendor: string;
  outcome: CheckOutcome;
  calls: ProbeCall[];
  /** What was probed, or why nothing could be. */
  note: string;
}

/** One call of a probe: what to send, and the documented answers it may get. */
export interface ProbeStep {
  call: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  json?: unknown;
  documented: readonly DocumentedAnswer[];
  /** Top-level fields whose value must be one of the documented words (a status word), beside the shape. */
  words?: Readonly<Record<string, readonly string[]>>;
}

const RANK: Record<CallOutcome, number> = { matches: 0, grown: 1, differs: 2, failed: 3 };

/** The worst outcome of the calls made (a check with no call made has failed). */
export function overall(calls: readonly ProbeCall[]): CallOutcome {
  if (calls.length === 0) return 'failed';
  return calls.reduce<CallOutcome>((worst, c) => (RANK[c.outcome] > RANK[worst] ? c.outcome : worst), 'matches');
}

/** Reads one answer against the documented ones: its status first, then its body's shape. */
export function judgeAnswer(step: Pick<ProbeStep, 'call' | 'documented' | 'words'>, request: string, status: number, text: string, contentType: string): ProbeCall & { body: unknown } {
  const base = { call: step.call, request, status };
  const documented = step.documented.filter((d) => d.status === status);
  if (documented.length === 0) {
    const expected = [...new Set(step.documented.map((d) => d.status))].join(' or ');
    const why = status === 401 || status === 403 ? 'the credential was rejected' : status === 429 ? 'rate limited' : status >= 500 ? 'the vendor failed' : 'an undocumented status';
    const outcome: CallOutcome = status === 401 || status === 403 || status === 429 || status >= 500 ? 'failed' : 'differs';
    return { ...base, outcome, differences: [], problem: `answered ${status} (${why}); the documents show ${expected}: ${sampleBody(text)}`, body: undefined };
  }
  const textual = documented.filter((d) => typeof d.body === 'string' || d.body === undefined);
  if (textual.length > 0 && !/json/i.test(contentType)) return { ...base, outcome: 'matches', closest: textual[0]!.fixture, differences: [], body: text };
  const body = jsonOf(text);
  if (body === undefined) {
    return { ...base, outcome: 'differs', differences: [], problem: `answered a body that is not JSON (${contentType || 'no content-type'}): ${sampleBody(text)}`, body: undefined };
  }
  const { index, differences } = closestShape(body, documented.map((d) => d.body));
  differences.push(...undocumentedWords(body, step.words ?? {}));
  const closest = documented[index]?.fixture;
  const outcome: CallOutcome = differences.length === 0 ? 'matches' : differences.every(isAddition) ? 'grown' : 'differs';
  return { ...base, outcome, ...(closest ? { closest } : {}), differences, body };
}

/** Values of the named fields that are not among their documented words (a shape cannot tell those). */
function undocumentedWords(body: unknown, words: Readonly<Record<string, readonly string[]>>): string[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [];
  const fields = body as Record<string, unknown>;
  return Object.entries(words)
    .filter(([field]) => typeof fields[field] === 'string' && !words[field]!.includes(fields[field] as string))
    .map(([field, known]) => `$.${field}: ${JSON.stringify(fields[field])} is not a documented word (${known.join(', ')})`);
}

/**
 * Makes the calls of a probe one after another; a step may be built from the answers before it (a stub
 * request's id). A call that fails (no answer, a rejected credential) ends the probe.
 */
export async function runProbe(
  vendor: string,
  steps: ReadonlyArray<ProbeStep | ((answers: unknown[]) => ProbeStep | null)>,
  timeoutMs: number,
): Promise<ProbeCall[]> {
  const calls: ProbeCall[] = [];
  const answers: unknown[] = [];
  for (const make of steps) {
    const step = typeof make === 'function' ? make(answers) : make;
    if (!step) break;
    const request = `${step.method} ${redactUrl(step.url)}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(step.url, {
        method: step.method,
        headers: { accept: 'application/json', ...(step.json === undefined ? {} : { 'content-type': 'application/json' }), ...step.headers },
        body: step.json === undefined ? undefined : JSON.stringify(step.json),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      text = await response.text();
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const what = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${timeoutMs} ms` : 'failed: the vendor could not be reached';
      calls.push({ call: step.call, request, status: null, outcome: 'failed', differences: [], problem: `${vendor}: ${request} ${what}` });
      break;
    }
    const { body, ...call } = judgeAnswer(step, request, response.status, text, response.headers.get('content-type') ?? '');
    calls.push(call);
    answers.push(body);
    if (call.outcome === 'failed') break;
  }
  return calls;
}
