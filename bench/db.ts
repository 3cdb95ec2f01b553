import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SESSION_OPTIONS } from '../functions/store/pool.js';
import { migrate } from '../functions/store/migrate.js';

/** The server the benchmark makes its database on (the same variable the tests read). */
export function adminUrl(env: Record<string, string | undefined>): string {
  return env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh migrated database for one benchmark run, dropped at the end. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** A new migrated database on the same server (scenarios that need an empty schema of their own). */
  fresh(label: string): Promise<{ url: string; drop(): Promise<void> }>;
  drop(): Promise<void>;
}

/** Creates and migrates `bench_<label>_<random>` on the server at `serverUrl`. */
export async function createBenchDatabase(serverUrl: string, label = 'run'): Promise<BenchDatabase> {
  const make = async (l: string) => {
    const name = `ce_bench_${l.replace(/[^a-z0-9]+/g, '_').slice(0, 20)}_${randomBytes(3).toString('hex')}`;
    await admin(serverUrl, (c) => c.query(`create database ${name}`));
    const url = withDatabase(serverUrl, name);
    try {
      await migrate({ databaseUrl: url });
    } catch (err) {
      await admin(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
      throw err;
    }
    return { name, url, drop: () => admin(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined) };
  };
  const main = await make(label);
  const extra: Array<() => Promise<void>> = [];
  return {
    name: main.name,
    url: main.url,
    async fresh(l) {
      const db = await make(l);
      extra.push(db.drop);
      return db;
    },
    async drop() {
      for (const d of extra) await d().catch(() => undefined);
      await main.drop();
    },
  };
}

/** Whether pg_stat_statements is loaded on this server (it needs shared_preload_libraries). */
export async function statStatementsLoaded(url: string): Promise<boolean> {
  return admin(url, async (c) => {
    const r = await c.query<{ on: boolean }>(
      "select coalesce(current_setting('shared_preload_libraries', true), '') like '%pg_stat_statements%' as on",
    );
    return r.rows[0]?.on === true;
  });
}

/** A pool that counts every statement its clients send (pg_stat_statements is usually not preloaded). */
export interface CountingPool {
  pool: pg.Pool;
  /** Statements sent since the pool was made or last reset. */
  count(): number;
  reset(): void;
  end(): Promise<void>;
}

/**
 * Wraps each client's `query` as the pool connects it, so `pool.query`, `pool.connect()` + `client.query`
 * and transactions (`begin`/`commit` included) are all counted: one call, one statement sent.
 */
export function countingPool(url: string, max = 10): CountingPool {
  let n = 0;
  // The functions' own session settings (store/pool.ts), so the handlers run here as they do deployed.
  const pool = new pg.Pool({ connectionString: url, max, options: SESSION_OPTIONS });
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      n += 1;
      return original(...args);
    };
  });
  return {
    pool,
    count: () => n,
    reset: () => {
      n = 0;
    },
    end: () => pool.end(),
  };
}
