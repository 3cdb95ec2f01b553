/** How a scenario's events reached the code under test: the `path` column of the table. */
export const STACK_PATH = 'Firestore emulator → relay → FF process; Pub/Sub push → FF processes';
export const IN_PROCESS = 'handler and poll cycle called in-process';

/** One row of the fault table: what a scenario did and what became of every deletion in it. */
export interface ScenarioOutcome {
  scenario: string;
  /** Which path delivered the events (STACK_PATH, IN_PROCESS, or what the scenario says). */
  path: string;
  /** The work pushed through, e.g. "1,000 events × 3 deliveries". */
  load: string;
  /** The faults injected, e.g. "5xx 10%, timeouts 5%". */
  faults: string;
  /** Deletions (or revocations) that should exist or complete and do not. */
  lost: number;
  /** Requests or vendor jobs beyond one per revocation and vendor (or emails beyond one per alert). */
  duplicated: number;
  completed: number;
  /** Attempts after a fault: redeliveries, resubmissions, rechecks, resent emails. */
  retries: number;
  alerts: number;
}

/** Collects the rows of one run, in the order the scenarios finish. */
export interface FaultResults {
  readonly rows: ScenarioOutcome[];
  /** Scenarios that began (a scenario left out by --grep is not expected in the table). */
  readonly started: string[];
  begin(scenario: string): void;
  record(row: ScenarioOutcome): void;
}

export function createFaultResults(): FaultResults {
  const rows: ScenarioOutcome[] = [];
  const started: string[] = [];
  return { rows, started, begin: (s) => void started.push(s), record: (row) => void rows.push(row) };
}

const COLUMNS: Array<{ header: string; value: (r: ScenarioOutcome) => string; right?: boolean }> = [
  { header: 'scenario', value: (r) => r.scenario },
  { header: 'path', value: (r) => r.path },
  { header: 'load', value: (r) => r.load },
  { header: 'faults injected', value: (r) => r.faults },
  { header: 'lost', value: (r) => count(r.lost), right: true },
  { header: 'duplicated', value: (r) => count(r.duplicated), right: true },
  { header: 'completed', value: (r) => count(r.completed), right: true },
  { header: 'retries', value: (r) => count(r.retries), right: true },
  { header: 'alerts', value: (r) => count(r.alerts), right: true },
];

/** 10000 → "10,000" (fixed locale, so the table reads the same on every machine). */
export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/**
 * Renders the rows as a plain-text table (a header, a rule, one line per scenario), plus a line for every
 * expected scenario that recorded no row (it failed before its figures were known).
 */
export function formatTable(rows: ScenarioOutcome[], expected: string[] = []): string {
  const missing = expected.filter((s) => !rows.some((r) => r.scenario === s));
  const cells = rows.map((r) => COLUMNS.map((c) => c.value(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values.map((v, i) => (COLUMNS[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(COLUMNS.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const s of missing) out.push(`${s}: no figures (the scenario failed before it finished)`);
  return out.join('\n');
}

/** What makes the run fail: any lost or duplicated deletion, or a scenario without figures. */
export function tableViolations(rows: ScenarioOutcome[], expected: string[] = []): string[] {
  const problems: string[] = [];
  for (const s of expected) if (!rows.some((r) => r.scenario === s)) problems.push(`${s}: recorded no figures`);
  for (const r of rows) {
    if (r.lost !== 0) problems.push(`${r.scenario}: ${count(r.lost)} lost`);
    if (r.duplicated !== 0) problems.push(`${r.scenario}: ${count(r.duplicated)} duplicated`);
  }
  return problems;
}
