import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { syncEventDetailFields } from './syncEventDetailFields.js';

/** The folder holding the numbered migrations, found from this file in source and in dist. */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // functions/store → ../../sql ; dist/functions/store → ../../../sql
  const candidates = [join(here, '..', '..', 'sql'), join(here, '..', '..', '..', 'sql')];
  return candidates.find((c) => existsSync(join(c, '000001_core.sql'))) ?? candidates[0]!;
}

export interface MigrateOptions {
  /**
   * Run the migrations as this role (`SET ROLE`), so whatever account connects, the schema is owned by one
   * role nobody logs in as (the deployment's consent_erasure_owner, made by the database bootstrap).
   */
  role?: string;
}

/**
 * Applies every pending migration in order, each in its own transaction. Safe to run twice and from
 * several processes at once: node-pg-migrate holds a PostgreSQL advisory lock and we wait for it.
 * Returns the names of the migrations this call applied.
 */
export async function migrate(
  connection: { databaseUrl: string } | { client: pg.ClientBase },
  log: (message: string) => void = () => {},
  options: MigrateOptions = {},
): Promise<string[]> {
  if (options.role === undefined) return run(connection, log);
  const role = options.role;
  const own = 'client' in connection ? undefined : new pg.Client({ connectionString: connection.databaseUrl });
  const client = own ?? (connection as { client: pg.ClientBase }).client;
  if (own) await own.connect();
  try {
    try {
      // Session level, outside any transaction, so it holds for every migration's transaction.
      await client.query(`set role ${client.escapeIdentifier(role)}`);
    } catch (err) {
      throw new Error(
        `cannot SET ROLE ${role} (${(err as Error).message}): the connecting user must be a member of it; run the database bootstrap (infra/README.md) first`,
        { cause: err },
      );
    }
    try {
      return await run({ client }, log);
    } finally {
      // A failed migration's error is the one to report, not a failure to reset the session.
      await client.query('reset role').catch(() => undefined);
    }
  } finally {
    if (own) await own.end();
  }
}

/** The migrations, then the event-detail allow-list the code carries (it is data the schema's trigger reads). */
async function run(connection: { databaseUrl: string } | { client: pg.ClientBase }, log: (message: string) => void): Promise<string[]> {
  const applied = await migrations(connection, log);
  const own = 'client' in connection ? undefined : new pg.Client({ connectionString: connection.databaseUrl });
  if (own) await own.connect();
  try {
    await syncEventDetailFields(own ?? (connection as { client: pg.ClientBase }).client);
  } finally {
    if (own) await own.end();
  }
  return applied;
}

async function migrations(connection: { databaseUrl: string } | { client: pg.ClientBase }, log: (message: string) => void): Promise<string[]> {
  const applied = await runner({
    ...('client' in connection ? { dbClient: connection.client } : { databaseUrl: connection.databaseUrl }),
    dir: migrationsDir(),
    direction: 'up',
    migrationsTable: 'schema_migrations',
    checkOrder: true,
    advisoryLockMode: 'wait',
    singleTransaction: false,
    log,
  });
  return applied.map((m) => m.name);
}
