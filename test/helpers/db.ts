import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { EVENT_DETAIL_FIELDS } from '../../functions/domain/eventDetailFields.js';
import { migrate, migrationsDir } from '../../functions/store/migrate.js';

/** The server tests run against; a database of its own is made per test file. */
export const ADMIN_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Template name tied to the migrations' content and the event-detail allow-list `migrate` copies in, so an
 * edited or added migration or allow-listed field makes a new template.
 */
function templateName(): string {
  const dir = migrationsDir();
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  h.update(JSON.stringify(EVENT_DETAIL_FIELDS));
  return `ce_template_${h.digest('hex').slice(0, 12)}`;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let templateReady: Promise<string> | undefined;

/** Creates (once per process, under an advisory lock across processes) the migrated template database. */
function ensureTemplate(): Promise<string> {
  templateReady ??= admin(async (c) => {
    const name = templateName();
    await c.query('select pg_advisory_lock(4242001)');
    try {
      const exists = await c.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount === 0) {
        await c.query(`create database ${name}`);
        try {
          await migrate({ databaseUrl: withDatabase(ADMIN_URL, name) });
        } catch (err) {
          await c.query(`drop database if exists ${name}`);
          throw err;
        }
        // Templates of earlier migration sets are of no further use; one still being copied stays (the error is ignored).
        const stale = await c.query<{ datname: string }>(
          "select datname from pg_database where datname like 'ce\\_template\\_%' and datname <> $1",
          [name],
        );
        for (const { datname } of stale.rows) await c.query(`drop database if exists ${datname}`).catch(() => undefined);
      }
      return name;
    } finally {
      await c.query('select pg_advisory_unlock(4242001)');
    }
  });
  return templateReady;
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  /** Drops the database, unless `keep` (a failed test keeps its database for inspection). */
  drop(keep?: boolean): Promise<void>;
}

/**
 * A fresh, migrated database for one test file, copied from a template (fast: no migrations per file).
 * Use `createEmptyDatabase` for tests of the migrations themselves.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const template = await ensureTemplate();
  return create(label, template);
}

/** A fresh database with no schema at all. */
export async function createEmptyDatabase(label: string): Promise<TestDatabase> {
  return create(label, undefined);
}

async function create(label: string, template: string | undefined): Promise<TestDatabase> {
  const safe = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  const name = `ce_test_${safe}_${randomBytes(3).toString('hex')}`;
  await admin(async (c) => {
    await c.query(`create database ${name}${template ? ` template ${template}` : ''}`);
    // An event detail field missing from the allow-list (functions/domain/eventDetailFields.ts) fails the test
    // that writes it, instead of being dropped as it is in production.
    if (template) await c.query(`alter database ${name} set consent_erasure.event_detail_strict = 'on'`);
  });
  const url = withDatabase(ADMIN_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {});
  return {
    name,
    url,
    pool,
    async drop(keep = false) {
      await pool.end();
      if (keep) {
        process.stderr.write(`kept database ${name} for inspection\n`);
        return;
      }
      await admin(async (c) => {
        // Clients that closed a moment ago may still be leaving; forcing them out while they do makes their
        // library report an error from nowhere. Wait (bounded) for them, then force whatever is left.
        for (let i = 0; i < 50; i++) {
          const open = await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (open.rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
}

/**
 * Mocha hooks for a file: `const db = useTestDatabase('poller')` then `db().pool` inside tests.
 * The database is kept when any test in the file failed.
 */
export function useTestDatabase(label: string): () => TestDatabase {
  let current: TestDatabase | undefined;
  let failed = false;
  before(async function () {
    this.timeout(60_000);
    current = await createTestDatabase(label);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    await current?.drop(failed);
  });
  return () => {
    if (!current) throw new Error('test database not ready (use inside a test or hook)');
    return current;
  };
}

/**
 * Links every committed event to the hash chain now, as the poller's cycle does (sql/000022_event_sealer.sql):
 * tests that read the chain right after writing call it. Returns how many entries were linked.
 */
export async function sealEvents(pool: pg.Pool | pg.PoolClient): Promise<number> {
  const r = await pool.query<{ n: number }>('select deletion_event_seal(1000000) as n');
  return Number(r.rows[0]?.n ?? 0);
}
