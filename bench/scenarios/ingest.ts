import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { encodeDocumentEventProtobuf, type FirestoreDocument } from '../../functions/events/firestore.js';
import type { Profile } from '../common.js';
import type { BenchDatabase } from '../db.js';
import { startSandbox } from '../../local/sandbox/server.js';
import { DAY } from '../../functions/clock.js';

/** One target's run: events sent through the framework, the rate at which they became committed rows. */
export interface IngestRun {
  target:
    | 'ours'
    | 'ours, http vendor (ingest submits)'
    | 'bare (same statement as ours)'
    | 'bare (same statement, no chain)'
    | 'bare (event log insert)'
    | 'bare (no chain)';
  /** 1, 2, 3: the compared targets run in rounds, in the same order each round, so drift hits them alike. */
  round: number;
  events: number;
  seconds: number;
  perSecond: number;
  /** Rows the target committed for the measured events (must equal `events`). */
  committed: number;
  /** Transactions committed per event (pg_stat_database, warm-up included): the statements each sends. */
  commitsPerEvent: number;
}

export interface IngestResult {
  concurrency: number;
  poolMax: number;
  vendors: string;
  settings: Record<string, string>;
  runs: IngestRun[];
  /** The sealer linking the events every run wrote to the hash chain (the poller's job, off the commit path). */
  sealing: { entries: number; seconds: number; perSecond: number };
}

export const INGEST_ROUNDS = 3;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WARMUP = 200;
const CONCURRENCY = 20;
const POOL_MAX = 10;

/** A free TCP port on 127.0.0.1 (closed again before the framework binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A revocation as Eventarc delivers it in binary mode: ce-* headers and a real protobuf DocumentEventData body. */
function revocationEvent(customerId: string, i: number): { headers: Record<string, string>; body: Buffer } {
  const name = `projects/bench/databases/(default)/documents/customers/${customerId}`;
  const created = '2026-11-01T10:00:00.000001Z';
  const updated = new Date(Date.UTC(2026, 10, 27, 9, 0, 0) + i).toISOString().replace('Z', '123Z');
  const doc = (consent: boolean, updateTime: string): FirestoreDocument => ({
    name,
    fields: { analyticsConsent: { booleanValue: consent }, email: { stringValue: `${customerId}@example.com` } },
    createTime: created,
    updateTime,
  });
  const body = Buffer.from(encodeDocumentEventProtobuf({ oldValue: doc(true, created), value: doc(false, updated), updateMask: ['analyticsConsent'] }));
  return {
    headers: {
      'content-type': 'application/protobuf',
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-source': '//firestore.googleapis.com/projects/bench/databases/(default)',
      'ce-type': 'google.cloud.firestore.document.v1.written',
      'ce-time': updated,
      'ce-subject': `documents/customers/${customerId}`,
      'ce-document': `customers/${customerId}`,
      'ce-database': '(default)',
      'ce-namespace': '(default)',
      'ce-project': 'bench',
      'ce-location': 'us-central1',
      'ce-dataschema': 'https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/firestore/v1/data.proto',
      'content-length': String(body.length),
    },
    body,
  };
}

function post(agent: Agent, port: number, e: { headers: Record<string, string>; body: Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: e.headers }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(e.body);
  });
}

/** Sends every event with `concurrency` in flight; seconds from the first send to the last answer. */
async function load(port: number, events: Array<{ headers: Record<string, string>; body: Buffer }>, concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < events.length) {
          const e = events[next++]!;
          const answer = await post(agent, port, e);
          if (answer.status >= 300) failures.push(`${answer.status} ${answer.text.slice(0, 200)}`);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  if (failures.length) throw new Error(`ingest: ${failures.length} of ${events.length} events failed, e.g. ${failures[0]}`);
  return (performance.now() - t0) / 1000;
}

/** Starts the Functions Framework (local/functionHost.ts, through tsx) serving `target` from `source` on 127.0.0.1, and waits until it answers. */
async function startFramework(source: string, target: string, env: Record<string, string>): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  // The local function host (the framework's server on 127.0.0.1 only), as the local stack runs the functions.
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'local', 'functionHost.ts'), `--target=${target}`, `--port=${port}`, `--source=${source}`],
    // stdout (the function's log lines) is written as in production, to a sink nobody reads.
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, PORT: String(port) } },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ingest: the Functions Framework (${target}) exited ${child.exitCode}: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'GET', path: '/' }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (up) return { port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`ingest: the Functions Framework (${target}) did not answer within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Scenario 5: revocation events per second through the HTTP trigger endpoint of the Functions Framework (a
 * real framework process serving functions/index.ts's onCustomerWritten, configured from the environment as
 * in production, one batch vendor) to committed rows; then the same load against a bare function sending the
 * same one statement per event with no logic, inserting into the event log (hash chain) and into a table
 * without the chain. On a fresh database with the settings bench/README.md recommends.
 */
export async function runIngest(db: BenchDatabase, profile: Profile, say: (s: string) => void): Promise<IngestResult> {
  const fresh = await db.fresh('ingest');
  const observer = 'bench-ingest-observer';
  const pool = new pg.Pool({ connectionString: fresh.url, max: 2, application_name: observer });
  pool.on('error', () => {});
  const dbName = new URL(fresh.url).pathname.slice(1);
  const settings = { synchronous_commit: 'on', random_page_cost: '1.1' };
  const n = profile.ingestEvents;
  const warmup = Math.min(WARMUP, n);
  try {
    for (const [k, v] of Object.entries(settings)) await pool.query(`alter database ${dbName} set ${k} = '${v}'`);
    await pool.query('alter table vendor_deletion set (autovacuum_vacuum_scale_factor = 0.02)');
    await pool.query(`create table bench_bare_event (
                        id bigint generated always as identity primary key, request_id bigint, vendor_deletion_id bigint,
                        customer_id text, vendor text, kind text not null, detail jsonb not null default '{}'::jsonb,
                        occurred_at timestamptz not null default now())`);
    await pool.query('create index bench_bare_event_customer on bench_bare_event (customer_id, id)');
    const runs: IngestRun[] = [];
    const oursEnv = {
      DATABASE_URL: fresh.url,
      DB_POOL_MAX: String(POOL_MAX),
      VENDORS: 'segment',
      // Batch vendors are submitted to by the poller: the ingest never calls this address.
      VENDOR_SEGMENT_BASE_URL: 'http://127.0.0.1:9/segment',
      VENDOR_SEGMENT_TOKEN: 'bench-segment-token',
      LOG_LEVEL: 'info',
      GOOGLE_CLOUD_PROJECT: 'bench',
      METADATA_SERVER_DETECTION: 'none',
    };
    // Rows committed for one customer-id prefix (the measured events' prefix excludes the warm-up's).
    const countRequests = async (prefix: string) =>
      Number((await pool.query<{ n: string }>('select count(*) as n from deletion_request where customer_id like $1::text', [`${prefix}%`])).rows[0]!.n);
    // A second database whose event log has no chain trigger at all: the bare function's statement there is
    // "the same inserts without the chain", the target ours is held to.
    const plain = await db.fresh('ingest_nochain');
    const plainPool = new pg.Pool({ connectionString: plain.url, max: 2, application_name: observer });
    plainPool.on('error', () => {});
    await plainPool.query('alter table deletion_event disable trigger deletion_event_chain');
    for (const [k, v] of Object.entries(settings)) await plainPool.query(`alter database ${new URL(plain.url).pathname.slice(1)} set ${k} = '${v}'`);
    // The http vendor submits at ingest: a sandbox answers its create calls (no latency, no rate limit).
    const sandbox = await startSandbox({ vendors: { http: { recordLimit: 0, lifecycle: { inProgressAfterMs: DAY, completeAfterMs: 2 * DAY } } } });
    const httpEnv = { ...oursEnv, VENDORS: 'http', VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`, VENDOR_HTTP_RATE_PER_SECOND: '100000' };
    delete (httpEnv as Record<string, string>)['VENDOR_SEGMENT_BASE_URL'];
    delete (httpEnv as Record<string, string>)['VENDOR_SEGMENT_TOKEN'];
    const bareCount = (p: pg.Pool, table: string) => async (prefix: string) =>
      Number((await p.query<{ n: string }>(`select count(*) as n from ${table} where customer_id like $1::text`, [`documents/customers/${prefix}%`])).rows[0]!.n);
    type Target = { target: IngestRun['target']; prefix: string; source: string; fn: string; env: Record<string, string>; count: (prefix: string) => Promise<number>; pool: pg.Pool };
    const bareSource = join(ROOT, 'bench', 'child', 'bareIngest.ts');
    const compared: Target[] = [
      { target: 'ours', prefix: 'ing-ours-', source: join(ROOT, 'functions', 'index.ts'), fn: 'onCustomerWritten', env: oursEnv, count: countRequests, pool },
      {
        target: 'bare (same statement, no chain)',
        prefix: 'ing-plain-',
        source: bareSource,
        fn: 'bareIngest',
        env: { BENCH_DATABASE_URL: plain.url, BENCH_BARE_TABLE: 'record_request', BENCH_VENDORS: 'segment', BENCH_POOL_MAX: String(POOL_MAX) },
        count: bareCount(plainPool, 'deletion_request'),
        pool: plainPool,
      },
      {
        target: 'bare (same statement as ours)',
        prefix: 'ing-same-',
        source: bareSource,
        fn: 'bareIngest',
        env: { BENCH_DATABASE_URL: fresh.url, BENCH_BARE_TABLE: 'record_request', BENCH_VENDORS: 'segment', BENCH_POOL_MAX: String(POOL_MAX) },
        count: bareCount(pool, 'deletion_request'),
        pool,
      },
      { target: 'ours, http vendor (ingest submits)', prefix: 'ing-http-', source: join(ROOT, 'functions', 'index.ts'), fn: 'onCustomerWritten', env: httpEnv, count: countRequests, pool },
    ];
    const references: Target[] = (['deletion_event', 'bench_bare_event'] as const).map((table) => ({
      target: (table === 'deletion_event' ? 'bare (event log insert)' : 'bare (no chain)') as IngestRun['target'],
      prefix: `ing-${table}-`,
      source: bareSource,
      fn: 'bareIngest',
      env: { BENCH_DATABASE_URL: fresh.url, BENCH_BARE_TABLE: table, BENCH_POOL_MAX: String(POOL_MAX) },
      count: bareCount(pool, table),
      pool,
    }));
    const commitsOf = async (p: pg.Pool) => {
      await p.query('select pg_stat_clear_snapshot()');
      return Number((await p.query<{ n: string }>('select xact_commit::text as n from pg_stat_database where datname = current_database()')).rows[0]!.n);
    };
    const runOne = async (t: Target, round: number) => {
      const tag = `${t.prefix}r${round}-`;
      const warm = Array.from({ length: warmup }, (_, i) => revocationEvent(`${tag}w-${i}`, i));
      const events = Array.from({ length: n }, (_, i) => revocationEvent(`${tag}m-${i}`, i));
      const before = await commitsOf(t.pool);
      const server = await startFramework(t.source, t.fn, t.env);
      let seconds: number;
      try {
        await load(server.port, warm, CONCURRENCY);
        say(`ingest: round ${round}, ${n} revocations through the Functions Framework to ${t.target}, ${CONCURRENCY} in flight`);
        seconds = await load(server.port, events, CONCURRENCY);
      } finally {
        await server.stop();
      }
      // A backend flushes its statistics as it exits, which is after the framework process has gone: wait
      // until this database has no other session left before reading them.
      for (let i = 0; i < 100; i += 1) {
        const others = (
          await t.pool.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = current_database() and application_name <> $1::text', [observer])
        ).rows[0]!.n;
        if (Number(others) === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = await commitsOf(t.pool);
      const committed = await t.count(`${tag}m-`);
      if (committed !== n) throw new Error(`ingest: ${t.target} answered every event but committed ${committed} of ${n}`);
      runs.push({ target: t.target, round, events: n, seconds, perSecond: n / seconds, committed, commitsPerEvent: (after - before) / (n + warmup) });
    };
    let sealing: IngestResult['sealing'];
    try {
      for (let round = 1; round <= INGEST_ROUNDS; round += 1) for (const t of compared) await runOne(t, round);
      for (const t of references) await runOne(t, 1);
      // What the poller's sealer then does with every event the runs wrote.
      const s0 = performance.now();
      let entries = 0;
      for (;;) {
        const k = Number((await pool.query<{ n: number }>('select deletion_event_seal(5000) as n')).rows[0]!.n);
        entries += k;
        if (k < 5000) break;
      }
      const seconds = (performance.now() - s0) / 1000;
      sealing = { entries, seconds, perSecond: entries / Math.max(seconds, 1e-9) };
      say(`ingest: the sealer linked ${entries} events in ${seconds.toFixed(1)} s`);
    } finally {
      await plainPool.end();
      await plain.drop();
      await sandbox.stop();
    }
    return { concurrency: CONCURRENCY, poolMax: POOL_MAX, vendors: 'segment (and http for the target that says so)', settings, runs, sealing };
  } finally {
    await pool.end();
    await fresh.drop();
  }
}
