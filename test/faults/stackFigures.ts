import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../local/faults/faultStack.js';
import type { RelayRetry } from '../../local/triggerRelay.js';
import type { FaultProfile } from './profile.js';
import type { FaultResults } from './table.js';
import { eventually, sleep } from './harness.js';

/**
 * What the production-path rows (1s, 2s, 3s, 5s, 9) share: writing revocations at the source (the Firestore
 * emulator), waiting for the local stack to settle, and counting against the source and the record (alerts
 * raised in the database), never against what reached a function.
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
 * The source: each customer granted and then revoked in the Firestore emulator, in batches of 50. Returns how
 * many revocations were written (what "none lost" is counted against).
 */
export async function writeRevocations(fs: FaultStack, customers: readonly string[], fields: (customer: string) => Record<string, unknown> = () => ({})): Promise<number> {
  const collection = fs.firestore.collection('customers');
  let written = 0;
  for (let i = 0; i < customers.length; i += 50) {
    const slice = customers.slice(i, i + 50);
    const grant = fs.firestore.batch();
    for (const c of slice) grant.set(collection.doc(c), { analyticsConsent: true, ...fields(c) });
    await grant.commit();
    const revoke = fs.firestore.batch();
    for (const c of slice) revoke.update(collection.doc(c), { analyticsConsent: false });
    await revoke.commit();
    written += slice.length;
  }
  return written;
}

/** Customers with a request recorded, from the database (0 while it cannot be reached). */
export async function recordedCustomers(fs: FaultStack): Promise<number> {
  const result = await fs.pool.query<{ n: number }>('select count(distinct customer_id)::int as n from deletion_request').catch(() => undefined);
  return result?.rows[0]?.n ?? 0;
}

/** Waits until `customers` customers have a request and nothing is pending; on a timeout, says what was left. */
export async function settle(fs: FaultStack, customers: number, timeoutMs: number): Promise<void> {
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
        return row && row.requests >= customers && row.pending === 0 ? true : undefined;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    const states = await fs.pool.query<{ state: string; n: number }>('select state, count(*)::int as n from vendor_deletion group by state');
    throw new Error(
      `${(err as Error).message}: ${await recordedCustomers(fs)} of ${customers} customers have a request; deletions by state ${JSON.stringify(states.rows)}; relay ${JSON.stringify(fs.stack.relay.stats())}`,
      { cause: err },
    );
  }
}

/** What became of the revocations written to Firestore: one request, one vendor job and a completed deletion each. */
export interface RevocationFigures {
  lost: number;
  duplicated: number;
  completed: number;
  /** Per-customer detail for the assertion message. */
  problems: string[];
}

/** Counts, for each customer revoked once at the source: its requests, its completed deletions, its vendor jobs. */
export async function revocationFigures(fs: FaultStack, customers: readonly string[]): Promise<RevocationFigures> {
  const { rows } = await fs.pool.query<{ customer_id: string; requests: number; completed: number }>(
    `select r.customer_id, count(distinct r.id)::int as requests,
            count(d.id) filter (where d.state = 'completed')::int as completed
       from deletion_request r left join vendor_deletion d on d.request_id = r.id group by r.customer_id`,
  );
  const byCustomer = new Map(rows.map((r) => [r.customer_id, r]));
  const jobs = await fs.vendorJobs();
  const figures: RevocationFigures = { lost: 0, duplicated: 0, completed: 0, problems: [] };
  for (const c of customers) {
    const r = byCustomer.get(c);
    if (!r || r.completed < 1) {
      figures.lost += 1;
      figures.problems.push(`${c}: ${r ? 'not completed' : 'no request'}`);
    }
    figures.completed += r?.completed ?? 0;
    const extra = Math.max(0, (r?.requests ?? 0) - 1) + Math.max(0, (jobs.get(c) ?? 0) - 1);
    if (extra > 0) figures.problems.push(`${c}: ${r?.requests} requests, ${jobs.get(c)} vendor jobs`);
    figures.duplicated += extra;
  }
  figures.problems = figures.problems.slice(0, 20);
  return figures;
}

/** Ids of the alerts raised in the database (the record: their `alert_raised` events). */
export async function raisedAlerts(fs: FaultStack): Promise<string[]> {
  const { rows } = await fs.pool.query<{ id: string }>("select distinct detail->>'alertId' as id from deletion_event where kind = 'alert_raised'");
  return rows.map((r) => r.id);
}

/** Waits until every alert raised in the database was emailed, the relay is idle and late redeliveries have landed. */
export async function settleAlerts(fs: FaultStack, timeoutMs = 120_000): Promise<void> {
  await eventually(
    'every raised alert emailed',
    async () => {
      const sent = new Set((await fs.emails()).map((m) => m.customArgs['alertId']));
      const raised = await raisedAlerts(fs).catch(() => undefined);
      return raised?.every((id) => sent.has(id)) ? true : undefined;
    },
    timeoutMs,
    500,
  );
  await fs.stack.relay.idle();
  await sleep(3_000); // a redelivery still in flight lands before the emails are counted
}

/** Alerts raised in the database against the emails the mail sink received: none unsent, none sent twice. */
export interface AlertFigures {
  raised: string[];
  emails: number;
  unsent: string[];
  /** Emails beyond one per alert. */
  twice: number;
}

export async function alertFigures(fs: FaultStack): Promise<AlertFigures> {
  const raised = await raisedAlerts(fs);
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
