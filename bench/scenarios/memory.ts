import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HOUR, systemClock } from '../../functions/clock.js';
import { startSandbox } from '../../local/sandbox/server.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { benchConfig, loadDeletions, type Profile } from '../common.js';
import type { BenchDatabase } from '../db.js';

export interface MemoryRun {
  rows: number;
  due: number;
  /** RSS of the child after start-up and its first query, before the tick. */
  baselineMB: number;
  /** The child's peak RSS (kernel high-water mark) over the whole tick. */
  peakMB: number;
  heapUsedMB: number;
  checked: number;
  deliveries: number;
  /** Every repeat's peak, lowest first (the figure is their median). */
  peaksMB: number[];
}

export interface MemoryResult {
  runs: MemoryRun[];
  /** Median peak RSS at the largest size minus at the smallest. */
  deltaMB: number;
}

interface ChildReport {
  baselineMB: number;
  peakMB: number;
  heapUsedMB: number;
  deliveries: number;
  checked: number;
}

const CHILD = fileURLToPath(new URL('../child/memoryPoller.ts', import.meta.url));

/** Runs the poller child on one database and returns its report; its stderr is kept for the error. */
function runChild(env: Record<string, string>): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line) return reject(new Error(`memory: the poller child exited ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(line) as ChildReport);
      } catch {
        reject(new Error(`memory: the poller child printed no report: ${out.slice(-500)} ${err.slice(-1000)}`));
      }
    });
  });
}

/**
 * Scenario 4: the poller's peak RSS in a child process with each of `profile.memoryRows` pending rows. Every
 * run has the same due work (`profile.memoryDue` status checks at the http sandbox, which lives in this
 * process, not the child's); the other rows are pending with checks scheduled within the next hour, so any
 * growth between the sizes is memory spent on rows the tick does not work on. Each run is made to include
 * the alert scan, which reads every unfinished row.
 */
export async function runMemory(db: BenchDatabase, profile: Profile, say: (s: string) => void): Promise<MemoryResult> {
  const sandbox = await startSandbox({ vendors: { http: { lifecycle: { inProgressAfterMs: HOUR, completeAfterMs: 2 * HOUR }, recordLimit: 0 } } });
  const runs: MemoryRun[] = [];
  const repeats = profile.name === 'smoke' ? 1 : 3;
  try {
    for (const rows of profile.memoryRows) {
      const due = Math.min(profile.memoryDue, rows);
      const fresh = await db.fresh(`mem${rows}`);
      const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
      pool.on('error', () => {});
      try {
        say(`memory: loading ${rows} pending rows (${due} due)`);
        const [setupVendor] = createVendors(
          benchConfig(fresh.url, { VENDORS: 'http', VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`, VENDOR_HTTP_CONCURRENCY: '64', VENDOR_HTTP_RATE_PER_SECOND: '100000' }).vendors,
        );
        const operationIds: string[] = [];
        for (let i = 0; i < due; i += 2000) {
          const subjects = Array.from({ length: Math.min(2000, due - i) }, (_, k) => ({ deletionId: String(i + k), customerId: `mem-due-${i + k + 1}`, idempotencyKey: randomUUID() }));
          for (const op of await setupVendor!.submit(subjects)) operationIds.push(op.operationId);
        }
        const now = systemClock.now();
        await loadDeletions(pool, { n: due, vendor: 'http', state: 'submitted', prefix: 'mem-due-', now, operationIds, nextCheckAt: now });
        if (rows > due) {
          await loadDeletions(pool, { n: rows - due, vendor: 'http', state: 'submitted', prefix: 'mem-wait-', now, nextCheckAt: new Date(now.getTime() + HOUR), spreadMs: 3_600_000 });
        }
        await pool.query('vacuum analyze');
        // GC timing moves a single peak by several MB: the median of a few runs, each with the same due work
        // (the checked rows are made due again between runs).
        const reports: ChildReport[] = [];
        for (let k = 0; k < repeats; k += 1) {
          say(`memory: poller child over ${rows} rows (${k + 1}/${repeats})`);
          await pool.query("update vendor_deletion set next_check_at = $1::timestamptz where customer_id like 'mem-due-%'", [systemClock.now()]);
          // Every repeat runs the alert scan too (it reads every unfinished row): it has its own schedule.
          await pool.query("do $$ begin if to_regclass('poller_schedule') is not null then delete from poller_schedule; end if; end $$");
          const report = await runChild({ BENCH_DATABASE_URL: fresh.url, BENCH_SANDBOX_URL: sandbox.url });
          if (report.checked < due) throw new Error(`memory: the tick checked ${report.checked} of ${due} due operations`);
          reports.push(report);
        }
        reports.sort((a, b) => a.peakMB - b.peakMB);
        runs.push({ rows, due, ...reports[Math.floor(reports.length / 2)]!, peaksMB: reports.map((r) => r.peakMB) });
      } finally {
        await pool.end();
        await fresh.drop();
      }
    }
  } finally {
    await sandbox.stop();
  }
  return { runs, deltaMB: runs.at(-1)!.peakMB - runs[0]!.peakMB };
}
