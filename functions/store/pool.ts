import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Where the database is: a URL, or a Cloud SQL instance reached with IAM authentication (config.ts builds it). */
export type DatabaseConfig =
  | { kind: 'url'; url: string; poolMax: number }
  | { kind: 'cloudsql'; instanceConnectionName: string; ipType: 'PUBLIC' | 'PRIVATE' | 'PSC'; iamUser: string; database: string; poolMax: number };

/**
 * Settings every connection of ours starts with (the startup packet's `options`). JIT compilation off: every
 * statement here is short, and PostgreSQL compiles one whenever its estimated cost passes `jit_above_cost`, which
 * stale statistics or a plan over large tables reach easily: the alert scan at 1,000,000 unfinished rows spent
 * 90-160 ms compiling a statement that then ran in under a millisecond.
 */
export const SESSION_OPTIONS = '-c jit=off';

/**
 * Opens the connection pool: plain `pg` for a DATABASE_URL, or the Cloud SQL connector with IAM
 * authentication (no password) in production. `close` ends the pool and the connector.
 */
export async function createPool(config: DatabaseConfig): Promise<{ pool: pg.Pool; close: () => Promise<void> }> {
  if (config.kind === 'url') {
    const pool = new pg.Pool({ connectionString: config.url, max: config.poolMax, connectionTimeoutMillis: 10_000, options: SESSION_OPTIONS });
    // An idle client's network error must not crash the instance; the next query reconnects.
    pool.on('error', () => {});
    return { pool, close: () => pool.end() };
  }
  const { Connector, IpAddressTypes, AuthTypes } = await import('@google-cloud/cloud-sql-connector');
  const connector = new Connector();
  const clientOpts = await connector.getOptions({
    instanceConnectionName: config.instanceConnectionName,
    ipType: IpAddressTypes[config.ipType],
    authType: AuthTypes.IAM,
  });
  const pool = new pg.Pool({
    ...clientOpts,
    user: config.iamUser,
    database: config.database,
    max: config.poolMax,
    connectionTimeoutMillis: 10_000,
    options: SESSION_OPTIONS,
  });
  pool.on('error', () => {});
  return {
    pool,
    close: async () => {
      await pool.end();
      connector.close();
    },
  };
}

/** Runs `fn` in one transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Runs `fn` in a transaction on a connection the caller already holds (one with a session lock, say): commit
 * when it resolves, rollback when it throws.
 */
export async function inClientTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    const result = await fn();
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}
