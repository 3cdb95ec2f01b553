import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';

/** The folder holding the numbered migrations, found from this file in source and in dist. */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // functions/store → ../../sql ; dist/functions/store → ../../../sql
  const candidates = [join(here, '..', '..', 'sql'), join(here, '..', '..', '..', 'sql')];
  return candidates.find((c) => existsSync(join(c, '000001_core.sql'))) ?? candidates[0]!;
}

/**
 * Applies every pending migration in order, each in its own transaction. Safe to run twice and from
 * several processes at once: node-pg-migrate holds a PostgreSQL advisory lock and we wait for it.
 * Returns the names of the migrations this call applied.
 */
export async function migrate(
  connection: { databaseUrl: string } | { client: pg.ClientBase },
  log: (message: string) => void = () => {},
): Promise<string[]> {
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
