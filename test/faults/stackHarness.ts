import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../local/stack.js';
import type { RelayRetry } from '../../local/triggerRelay.js';
import type { FaultProfile } from './profile.js';
import type { FaultResults } from './table.js';
import { eventually, sleep } from './harness.js';

/**
 * What the production-path scenarios share: writing revocations at the source (the Firestore emulator), waiting
 * until the stack has worked through them, and counting the outcome against what was written.
 */

/** The project root, from which the fault stack loads the functions. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How long a stack row may run: the bounded profile stays short for CI. */
export const stackTimeout = (profile: FaultProfile) => (profile.name === 'full' ? 900_000 : 300_000);
/** How long a stack row waits for its work to settle. */
export const settleTimeout = (profile: FaultProfile) => (profile.name === 'full' ? 600_000 : 240_000);

/**
 * Inside a scenario's describe: starts the fault stack before its test (the functions' environment `env`, the
 * sandbox's `http` module configured with `sandbox`) and stops it after. Returns the running stack's getter.
 */
export function useFaultStack(
  results: FaultResults,
  scenario: string,
  options: { env: Record<string, string>; sandbox: Record<string, unknown>; triggerRetry?: RelayRetry },
): () => FaultStack {
  let fs: FaultStack | undefined;
  before(async function () {
    this.timeout(120_000);
    results.begin(scenario);
    fs = await startFaultStack({ rootDir: ROOT, log: silentLogger(), env: options.env, ...(options.triggerRetry ? { triggerRetry: options.triggerRetry } : {}) });
    await fs.sandbox(options.sandbox);
  });
  after(async () => {
    await fs?.stop();
  });
  return () => {
    if (!fs) throw new Error(`${scenario}: the fault stack did not start`);
    return fs;
  };
}

/**
 * Settings under which every deletion goes stale (after `staleAfterHours`) before the sandbox completes it, so
 * alerts are raised and emailed while faults are injected; checks every 2–4 s; a poll cycle cut by a database
 * fault leaves its claims leased for a minute, not the production ten.
 */
export function staleAlertsEnv(staleAfterHours: string): Record<string, string> {
  return {
    VENDOR_HTTP_STALE_AFTER_HOURS: staleAfterHours,
    VENDOR_HTTP_NO_PROGRESS_HOURS: '1',
    VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '2',
    VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '4',
    POLL_TIME_BUDGET_SECONDS: '20',
    POLL_LEASE_SECONDS: '60',
  };
}

/** Customers with a request (0 while the database is unreachable). */
export async function recordedCustomers(fs: FaultStack): Promise<number> {
  const result = await fs.pool.query<{ n: number }>('select count(distinct customer_id)::int as n from deletion_request').catch(() => undefined);
  return result?.rows[0]!.n ?? 0;
}

/** Waits until at least `n` customers have a request. */
export async function untilRecorded(fs: FaultStack, n: number, what: string): Promise<void> {
  await eventually(what, async () => ((await recordedCustomers(fs)) >= n ? true : undefined), 120_000, 20);
}

/** Waits until the poller has raised an alert in the database. */
export async function untilAlertRaised(fs: FaultStack): Promise<void> {
  await eventually(
    'alerts raised',
    async () => {
      const { rows } = await fs.pool.query<{ n: number }>("select count(*)::int as n from deletion_event where kind = 'alert_raised'").catch(() => ({ rows: [{ n: 0 }] }));
      return rows[0]!.n > 0 ? true : undefined;
    },
    120_000,
    100,
  );
}

/**
 * Grants and then revokes consent for every customer in the Firestore emulator, in batches of `batch`; returns
 * how many revocations were committed (the source a scenario counts "none lost" against).
 */
export async function writeRevocations(
  fs: FaultStack,
  customers: readonly string[],
  options: { batch?: number; fields?: (customerId: string) => Record<string, unknown>; written?: (n: number) => void } = {},
): Promise<number> {
  const collection = fs.firestore.collection('customers');
  const size = options.batch ?? 50;
  let written = 0;
  for (let i = 0; i < customers.length; i += size) {
    const slice = customers.slice(i, i + size);
    const grant = fs.firestore.batch();
    for (const c of slice) grant.set(collection.doc(c), { analyticsConsent: true, ...options.fields?.(c) });
    await grant.commit();
    const revoke = fs.firestore.batch();
    for (const c of slice) revoke.update(collection.doc(c), { analyticsConsent: false });
    await revoke.commit();
    written += slice.length;
    options.written?.(written);
  }
  return written;
}

/** Waits until every customer has a request and nothing is pending; on a timeout, says what was left. */
export async function settleRevocations(fs: FaultStack, customers: readonly string[], timeoutMs: number): Promise<void> {
  try {
    await eventually(
      'every revocation recorded and every deletion completed',
      async () => {
        // The test's own pool may still hold a connection a crash cut: a failed probe is tried again.
        const result = await fs.pool
          .query<{ requests: number; pending: number }>(
            'select (select count(distinct customer_id)::int from deletion_request) as requests, (select count(*)::int from pending_deletion) as pending',
          )
          .catch(() => undefined);
        const row = result?.rows[0];
        return row && row.requests >= customers.length && row.pending === 0 ? true : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    const states = await fs.pool.query<{ state: string; n: number }>('select state, count(*)::int as n from vendor_deletion group by state');
    const recorded = new Set((await fs.pool.query<{ customer_id: string }>('select distinct customer_id from deletion_request')).rows.map((r) => r.customer_id));
    const missing = customers.filter((c) => !recorded.has(c));
    throw new Error(
      `${(err as Error).message}: ${customers.length - missing.length} of ${customers.length} customers have a request (none for ${missing.slice(0, 5).map((c) => JSON.stringify(c)).join(', ')}${missing.length > 5 ? ', …' : ''}); deletions by state ${JSON.stringify(states.rows)}; relay ${JSON.stringify(fs.stack.relay.stats())}`,
      { cause: err },
    );
  }
}

/** The outcome for the customers written to Firestore, from the database and the vendor sandbox. */
export interface StackFigures {
  /** Customers without a request, or whose deletion did not complete. */
  lost: number;
  /** Requests beyond one per customer plus vendor jobs beyond one per customer. */
  duplicated: number;
  completed: number;
  /** Per-customer detail of what is wrong. */
  problems: string[];
}

/** Counts, for every customer revoked in Firestore: one request, one completed deletion, one vendor job. */
export async function stackFigures(fs: FaultStack, customers: readonly string[]): Promise<StackFigures> {
  const { rows } = await fs.pool.query<{ customer_id: string; requests: number; completed: number }>(
    `select r.customer_id, count(distinct r.id)::int as requests,
            count(d.id) filter (where d.state = 'completed')::int as completed
       from deletion_request r left join vendor_deletion d on d.request_id = r.id group by r.customer_id`,
  );
  const byCustomer = new Map(rows.map((r) => [r.customer_id, r]));
  const jobs = await fs.vendorJobs();
  let lost = 0;
  let duplicated = 0;
  let completed = 0;
  const problems: string[] = [];
  for (const c of customers) {
    const r = byCustomer.get(c);
    if (!r || r.completed < 1) {
      lost += 1;
      problems.push(`${JSON.stringify(c)}: ${r ? `${r.completed} completed` : 'no request'}`);
    }
    completed += r?.completed ?? 0;
    const extra = Math.max(0, (r?.requests ?? 0) - 1) + Math.max(0, (jobs.get(c) ?? 0) - 1);
    if (extra > 0) problems.push(`${JSON.stringify(c)}: ${r?.requests} requests, ${jobs.get(c)} vendor jobs`);
    duplicated += extra;
  }
  return { lost, duplicated, completed, problems };
}

/** Whether each function process still answers HTTP on its port (any status: it is serving). */
export async function functionsServing(fs: FaultStack): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const name of FUNCTION_NAMES) {
    out[name] = await fetch(`${fs.stack.info.functions[name]}/`, { method: 'GET', signal: AbortSignal.timeout(5_000) }).then(
      () => true,
      () => false,
    );
  }
  return out;
}

/** The alerts raised in the database (`alert_raised` events): what "each alert emailed once" counts against. */
export async function raisedAlertIds(fs: FaultStack): Promise<string[]> {
  const { rows } = await fs.pool.query<{ id: string }>("select distinct detail->>'alertId' as id from deletion_event where kind = 'alert_raised'");
  return rows.map((r) => r.id);
}

/** Waits until every alert raised in the database has reached the mail sink. */
export async function alertsEmailed(fs: FaultStack, timeoutMs: number): Promise<void> {
  await eventually(
    'every raised alert emailed',
    async () => {
      const sent = new Set((await fs.emails()).map((m) => m.customArgs['alertId']));
      const raised = await raisedAlertIds(fs).catch(() => undefined);
      return raised?.every((id) => sent.has(id)) ? true : undefined;
    },
    timeoutMs,
    500,
  );
}

/** Waits until every alert raised in the database was emailed, the relay is idle and late redeliveries have landed. */
export async function settleAlerts(fs: FaultStack): Promise<void> {
  await alertsEmailed(fs, 120_000);
  await fs.stack.relay.idle();
  await sleep(3_000); // a redelivery still in flight lands before the emails are counted
}

/** Alerts raised in the database against the emails the mail sink accepted: never sent, and sent more than once. */
export async function alertFigures(fs: FaultStack): Promise<{ raised: string[]; emails: number; unsent: string[]; twice: number }> {
  const raised = await raisedAlertIds(fs);
  const emails = await fs.emails();
  const perAlert = new Map<string, number>();
  for (const m of emails) perAlert.set(m.customArgs['alertId']!, (perAlert.get(m.customArgs['alertId']!) ?? 0) + 1);
  return {
    raised,
    emails: emails.length,
    unsent: raised.filter((id) => !perAlert.has(id)),
    twice: [...perAlert.values()].reduce((s, n) => s + Math.max(0, n - 1), 0),
  };
}

/** Sets (or with null clears) the mail sink's SendGrid fault over its HTTP control API, as a person would. */
export async function mailFault(fs: FaultStack, fault: { status: number; times?: number } | null): Promise<void> {
  const res = await fetch(`${fs.stack.info.mailSinkUrl}/fault`, {
    method: fault ? 'PUT' : 'DELETE',
    ...(fault ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) } : {}),
  });
  if (!res.ok) throw new Error(`mail sink fault refused: ${res.status} ${await res.text()}`);
}
