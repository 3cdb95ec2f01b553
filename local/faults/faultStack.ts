import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../functions/cli/firestoreAdmin.js';
import pg from 'pg';
import type { Log } from '../../functions/log.js';
import { createPubsubAdmin, type PubsubAdmin } from '../pubsubAdmin.js';
import { FUNCTION_NAMES, readableLine, startStack, type FunctionName, type RunningStack } from '../stack.js';
import type { RelayRetry } from '../triggerRelay.js';
import type { SandboxStats } from '../sandbox/types.js';
import { childPids, startPrivatePostgres, type PrivatePostgres } from './privatePostgres.js';

/**
 * The local stack on a PostgreSQL of its own, for faults on the production path: revocations written to the
 * Firestore emulator reach onCustomerWritten through its trigger, the relay and a Functions Framework process;
 * poll and alert messages reach pollDeletions and sendAlert through the Pub/Sub emulator's push. Everything a
 * fault needs is at hand: the database to crash, the relay to drop or duplicate events, the function
 * processes to kill, the sandbox and the mail sink (their control APIs), a pool to count with.
 */
export interface FaultStack {
  stack: RunningStack;
  postgres: PrivatePostgres;
  /** A pool of the test's own, for counting (not one the functions use). */
  pool: pg.Pool;
  firestore: Firestore;
  pubsub: PubsubAdmin;
  /** The folder holding `.consent-erasure/stack.json`: run the CLI here. */
  dir: string;
  /** Configures the sandbox's `http` module (POST /_sandbox/http/config). */
  sandbox(config: Record<string, unknown>): Promise<void>;
  /** Create calls the sandbox answered 201 (a new job), per customer id. */
  vendorJobs(): Promise<Map<string, number>>;
  /** Create calls the sandbox answered 200: a repeated Idempotency-Key handed back the job it already had. */
  replayedCreates(): Promise<number>;
  /** The sandbox's counters for its `http` module (requests, answers by outcome: failure, timeout, reset, drift, rate_limited, …). */
  sandboxStats(): Promise<SandboxStats>;
  /** Emails the mail sink accepted. */
  emails(): Promise<Array<{ customArgs: Record<string, string>; text?: string }>>;
  /** Resident memory (kB) of each function process, the relay's process (this one) and PostgreSQL's processes together. */
  memory(): Record<string, number>;
  /** Connections open on the database server, by application (pg_stat_activity, client backends). */
  connections(): Promise<number>;
  /** Every line the stack's processes wrote (functions, emulators), as written, with its source. */
  output(): Array<{ source: string; line: string }>;
  /** The JSON log entries a function process wrote (its Cloud Logging lines; other lines are left out). */
  functionLog(name: FunctionName): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** All processes below `pid`, itself included (a Functions Framework process run through tsx has children). */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i += 1) out.push(...childPids(out[i]!));
  return out;
}

export async function startFaultStack(options: {
  rootDir: string;
  env?: Record<string, string>;
  log: Log;
  pollIntervalSeconds?: number;
  triggerRetry?: RelayRetry;
  /** Keep every line of the emulators too, not only their warnings. */
  verbose?: boolean;
  /** Print the processes' lines as they come (default true); they are kept for output() either way. */
  print?: boolean;
}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), 'ce-fault-stack-'));
  const postgres = await startPrivatePostgres({ database: 'faults' });
  const lines: Array<{ source: string; line: string }> = [];
  const output = (source: string, line: string) => {
    lines.push({ source, line });
    if (options.print ?? true) process.stdout.write(`${readableLine(source, line)}\n`);
  };
  let stack: RunningStack | undefined;
  try {
    stack = await startStack({
      rootDir: options.rootDir,
      stateDir: join(dir, '.consent-erasure'),
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        ...(process.env['CLOUDSDK_ROOT_DIR'] ? { CLOUDSDK_ROOT_DIR: process.env['CLOUDSDK_ROOT_DIR'] } : {}),
        LOG_LEVEL: 'warn',
        ...options.env,
        DATABASE_URL: postgres.url,
      },
      log: options.log,
      output,
      ...(options.verbose ? { verbose: true } : {}),
      pollIntervalSeconds: options.pollIntervalSeconds ?? 2,
      ...(options.triggerRetry ? { triggerRetry: options.triggerRetry } : {}),
    });
  } catch (err) {
    await postgres.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const running = stack;
  const pool = new pg.Pool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {});
  // The stack's own emulator: createFirestore makes it win over a FIRESTORE_EMULATOR_HOST the shell exports (CI
  // exports the shared test emulator's), which the client would otherwise prefer to the host it is given.
  const firestore = createFirestore({ projectId: running.info.projectId, emulatorHost: running.info.firestoreEmulatorHost });
  const pubsub = createPubsubAdmin({ host: running.info.pubsubEmulatorHost, projectId: running.info.projectId });
  const sandboxUrl = running.info.vendorSandboxUrl;
  const sandboxCalls = async () => {
    const res = await fetch(`${sandboxUrl}/_sandbox/http/calls`);
    return ((await res.json()) as { calls: Array<{ method: string; status: number; body?: { customerId?: unknown } }> }).calls;
  };

  return {
    stack: running,
    postgres,
    pool,
    firestore,
    pubsub,
    dir,
    async sandbox(config) {
      const res = await fetch(`${sandboxUrl}/_sandbox/http/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(config),
      });
      if (!res.ok) throw new Error(`sandbox config refused: ${res.status} ${await res.text()}`);
    },
    async vendorJobs() {
      const jobs = new Map<string, number>();
      for (const c of await sandboxCalls()) {
        const id = c.body?.customerId;
        if (c.method === 'POST' && c.status === 201 && typeof id === 'string') jobs.set(id, (jobs.get(id) ?? 0) + 1);
      }
      return jobs;
    },
    async replayedCreates() {
      return (await sandboxCalls()).filter((c) => c.method === 'POST' && c.status === 200).length;
    },
    async sandboxStats() {
      const res = await fetch(`${sandboxUrl}/_sandbox/http/stats`);
      return (await res.json()) as SandboxStats;
    },
    async emails() {
      const res = await fetch(`${running.info.mailSinkUrl}/messages`);
      return (await res.json()) as Array<{ customArgs: Record<string, string>; text?: string }>;
    },
    memory() {
      const out: Record<string, number> = {};
      for (const name of FUNCTION_NAMES as readonly FunctionName[]) {
        out[name] = tree(running.functionPid(name)).reduce((sum, pid) => sum + rssKb(pid), 0);
      }
      out['stack (relay, sandbox, mail sink)'] = rssKb(process.pid);
      return out;
    },
    async connections() {
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      return rows[0]!.n;
    },
    output: () => [...lines],
    functionLog(name) {
      const out: Array<Record<string, unknown>> = [];
      for (const { source, line } of lines) {
        if (source !== name) continue;
        try {
          const entry = JSON.parse(line) as unknown;
          if (entry && typeof entry === 'object' && !Array.isArray(entry)) out.push(entry as Record<string, unknown>);
        } catch {
          // not a log entry (a stack trace the framework printed)
        }
      }
      return out;
    },
    async stop() {
      await firestore.terminate().catch(() => {});
      await pool.end().catch(() => {});
      await running.stop();
      await postgres.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
