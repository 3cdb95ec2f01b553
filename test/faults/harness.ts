import type pg from 'pg';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { DAY, MINUTE, SECOND, type Clock } from '../../functions/clock.js';
import type { Config } from '../../functions/config.js';
import { createLogger } from '../../functions/log.js';
import type { RunningSandbox } from '../../local/sandbox/server.js';

/** A seeded PRNG (mulberry32): a failing run can be repeated with the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with the given random source; returns a new array. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export { eventually } from '../helpers/eventually.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Delivers one event the way the platform does with retries on: a thrown error means "redeliver", with a
 * short backoff, up to `maxAttempts`. Returns how many attempts it took; throws when every attempt failed
 * (a delivery the platform would eventually drop: the suite must then count it as lost).
 */
export async function deliverUntilAccepted<E>(
  handler: (event: E) => Promise<void>,
  event: E,
  options: { maxAttempts?: number; backoffMs?: number } = {},
): Promise<number> {
  const max = options.maxAttempts ?? 100;
  let last: unknown;
  for (let attempt = 1; attempt <= max; attempt += 1) {
    try {
      await handler(event);
      return attempt;
    } catch (err) {
      last = err;
      await sleep(Math.min(options.backoffMs ?? 50 * attempt, 1_000));
    }
  }
  throw new Error(`event not accepted after ${max} attempts`, { cause: last });
}

/** Runs `fn` over `items` with at most `concurrency` at once; rejects with the first failure after all settle. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const limit = pLimit(concurrency);
  const settled = await Promise.allSettled(items.map((item, i) => limit(() => fn(item, i))));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
}

/** A logger whose every line is kept (parsed) and, raw, in `text`; at `level` (debug by default). */
export function capturingLogger(level = 'debug'): { log: Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const log = createLogger({ level, service: 'faults' }, {
    write(s: string) {
      raw.push(s);
      lines.push(JSON.parse(s) as Record<string, unknown>);
    },
  });
  return { log, lines, raw };
}

/** The poller settings of a scenario (the config slice createPollCycle reads; one copy, in test/helpers/pollCycle.ts). */
export { pollerConfig as pollerSettings } from '../helpers/pollCycle.js';

/** How many operations the http sandbox created per customer (201 answers to a create; 200 is a replayed key). */
export function vendorJobsPerCustomer(sandbox: RunningSandbox, module = 'http'): Map<string, number> {
  const jobs = new Map<string, number>();
  for (const c of sandbox.control.calls(module)) {
    if (c.method !== 'POST' || c.status !== 201) continue;
    const id = (c.body as { customerId?: unknown } | undefined)?.customerId;
    if (typeof id === 'string') jobs.set(id, (jobs.get(id) ?? 0) + 1);
  }
  return jobs;
}

/** Create calls the sandbox answered 200: a repeated Idempotency-Key handed back the job it already had. */
export function replayedCreates(sandbox: RunningSandbox, module = 'http'): number {
  return sandbox.control.calls(module).filter((c) => c.method === 'POST' && c.status === 200).length;
}

/** The figures of one scenario's customers, read from the database and the sandbox. */
export interface DeletionFigures {
  /** Customers with no request, or (with `mustComplete`) a deletion not completed. */
  lost: number;
  /** Requests beyond one per customer plus vendor jobs beyond one per customer. */
  duplicated: number;
  completed: number;
  /** Per-customer detail of what is wrong, for the assertion message (first few). */
  problems: string[];
}

/**
 * Counts, for the given customers (one revocation each) at the http vendor: requests per customer, the
 * deletion's state, and jobs the sandbox created per customer.
 */
export async function deletionFigures(
  pool: pg.Pool,
  sandbox: RunningSandbox | undefined,
  customers: readonly string[],
  options: { mustComplete: boolean; vendors?: number },
): Promise<DeletionFigures> {
  const vendors = options.vendors ?? 1;
  const { rows } = await pool.query<{ customer_id: string; requests: number; deletions: number; completed: number }>(
    `select r.customer_id,
            count(distinct r.id)::int as requests,
            count(d.id)::int as deletions,
            count(d.id) filter (where d.state = 'completed')::int as completed
       from deletion_request r
       left join vendor_deletion d on d.request_id = r.id
      where r.customer_id = any($1::text[])
      group by r.customer_id`,
    [customers],
  );
  const byCustomer = new Map(rows.map((r) => [r.customer_id, r]));
  const jobs = sandbox ? vendorJobsPerCustomer(sandbox) : new Map<string, number>();
  let lost = 0;
  let duplicated = 0;
  let completed = 0;
  const problems: string[] = [];
  for (const c of customers) {
    const r = byCustomer.get(c);
    if (!r) {
      lost += vendors;
      problems.push(`${JSON.stringify(c)}: no request`);
      continue;
    }
    completed += r.completed;
    if (r.requests > 1) {
      duplicated += r.requests - 1;
      problems.push(`${JSON.stringify(c)}: ${r.requests} requests`);
    }
    const expectedDeletions = r.requests * vendors;
    if (r.deletions < expectedDeletions) {
      lost += expectedDeletions - r.deletions;
      problems.push(`${JSON.stringify(c)}: ${r.deletions} of ${expectedDeletions} deletions`);
    } else if (options.mustComplete && r.completed < vendors) {
      lost += vendors - r.completed;
      problems.push(`${JSON.stringify(c)}: ${r.completed} of ${vendors} deletions completed`);
    }
    const j = jobs.get(c) ?? 0;
    if (sandbox && j > 1) {
      duplicated += j - 1;
      problems.push(`${JSON.stringify(c)}: ${j} vendor jobs`);
    }
  }
  return { lost, duplicated, completed, problems: problems.slice(0, 10) };
}

/** Event-log entries of the given kinds (retries are counted from them). */
export async function eventCount(pool: pg.Pool, kinds: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from deletion_event where kind = any($1::text[])', [kinds]);
  return rows[0]!.n;
}

/**
 * Runs poll cycles, moving the fake clock by `stepMs` before each, until no deletion is pending or
 * `maxRounds` is reached; `beforeRound` may switch faults on and off. Returns the rounds it took.
 */
export async function pollUntilSettled(
  pool: pg.Pool,
  cycle: { run(message: Record<string, never>): Promise<unknown> },
  clock: Clock & { advance(ms: number): void },
  options: { stepMs: number; maxRounds: number; beforeRound?: (round: number) => void | Promise<void> },
): Promise<number> {
  for (let round = 1; round <= options.maxRounds; round += 1) {
    await options.beforeRound?.(round);
    clock.advance(options.stepMs);
    await cycle.run({});
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from pending_deletion`);
    if (rows[0]!.n === 0) return round;
  }
  return options.maxRounds;
}
