// The soak profile: `npm run test:faults -- --soak [--minutes N] [--out FILE]` (default 60 minutes). Mixed
// revocations, regrants, forced polls, vendor faults and restarts (a function process SIGKILLed, PostgreSQL
// SIGKILLed) at a steady rate through the local stack on a private PostgreSQL; then it waits for everything to
// settle and counts against the source (Firestore writes) and the record (alerts raised). Memory (RSS of each
// process) and open connections (pg_stat_activity) are measured at the start and the end. It writes its result
// as markdown (default test/faults/SOAK.md) and exits 1 if anything was lost or duplicated or the chain broke.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../local/faults/faultStack.js';
import { FUNCTION_NAMES, type FunctionName } from '../../local/stack.js';
import { cli } from '../integration/cli/helpers.js';
import { eventually, seededRandom, sleep } from './harness.js';
import { count } from './table.js';
import { alertFigures, alertsEmailed } from './stackHarness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SoakOptions {
  minutes: number;
  out: string;
  /** Actions per second. */
  rate?: number;
  seed?: number;
}

interface Counters {
  revocations: number;
  regrants: number;
  forcedPolls: number;
  vendorFaultWindows: number;
  functionKills: number;
  databaseCrashes: number;
  failedActions: number;
}

/** A table cell: the lines of a command's output joined. */
const oneLine = (text: string) => text.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join('; ').replace(/\|/g, '\\|');

/** The commit the run is on, as `git rev-parse --short HEAD` gives it (with `+changes` when the tree differs). */
function commit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? '+changes' : ''}`;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} MiB`;

/** Runs the soak and returns whether it passed; the markdown report is written either way. */
export async function runSoak(options: SoakOptions): Promise<boolean> {
  const random = seededRandom(options.seed ?? 14);
  const rate = options.rate ?? 4;
  const started = new Date();
  const say = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} soak: ${line}\n`);
  const fs: FaultStack = await startFaultStack({
    rootDir: ROOT,
    log: silentLogger(),
    // A SIGKILLed poller's claims lapse after POLL_LEASE_SECONDS: a minute here, not the production ten.
    env: { VENDOR_HTTP_STALE_AFTER_HOURS: '0.01', VENDOR_HTTP_NO_PROGRESS_HOURS: '1', DB_POOL_MAX: '4', POLL_TIME_BUDGET_SECONDS: '20', POLL_LEASE_SECONDS: '60' },
  });
  try {
    await fs.sandbox({ lifecycle: { inProgressAfterMs: 2_000, completeAfterMs: 20_000 }, recordLimit: 5_000_000 });
    // Warm-up: one revocation end to end, so every process has opened its pool before the first measurement.
    const collection = fs.firestore.collection('customers');
    await collection.doc('soak-warmup').set({ analyticsConsent: true });
    await collection.doc('soak-warmup').update({ analyticsConsent: false });
    const expected = new Map<string, number>([['soak-warmup', 1]]);
    await eventually('the warm-up revocation', async () => ((await fs.pool.query('select 1 from deletion_request')).rowCount ? true : undefined), 60_000, 200);
    await sleep(5_000);
    const memoryStart = fs.memory();
    const connectionsStart = await fs.connections();
    say(`stack ready; memory ${JSON.stringify(memoryStart)} kB, ${connectionsStart} connections`);

    const c: Counters = { revocations: 1, regrants: 0, forcedPolls: 0, vendorFaultWindows: 0, functionKills: 0, databaseCrashes: 0, failedActions: 0 };
    const consenting = new Set<string>();
    const revoked: string[] = ['soak-warmup'];
    let next = 0;
    const end = Date.now() + options.minutes * 60_000;
    let faultUntil = 0;
    let lastRestart = Date.now();
    let restarts = 0;
    const restartEveryMs = Math.max(60_000, Math.min(5 * 60_000, (options.minutes * 60_000) / 6));

    while (Date.now() < end) {
      const tick = Date.now();
      try {
        const r = random();
        if (faultUntil && tick > faultUntil) {
          await fs.sandbox({ failureShare: 0, timeoutShare: 0, resetShare: 0 });
          faultUntil = 0;
        }
        if (tick - lastRestart > restartEveryMs) {
          lastRestart = tick;
          restarts += 1;
          if (restarts % 3 === 0) {
            await fs.postgres.crash();
            await sleep(1_000);
            await fs.postgres.start();
            c.databaseCrashes += 1;
            say('PostgreSQL SIGKILLed and restarted');
          } else {
            const name: FunctionName = FUNCTION_NAMES[restarts % FUNCTION_NAMES.length]!;
            await fs.stack.restartFunction(name, { crash: true });
            c.functionKills += 1;
            say(`${name} SIGKILLed and started again`);
          }
        } else if (r < 0.55) {
          // A new customer grants, then revokes.
          const id = `soak-${String(next++).padStart(6, '0')}`;
          await collection.doc(id).set({ analyticsConsent: true, email: `${id}@example.com` });
          await collection.doc(id).update({ analyticsConsent: false });
          expected.set(id, 1);
          revoked.push(id);
          c.revocations += 1;
        } else if (r < 0.7 && revoked.length > 0) {
          // A revoked customer grants consent again (recorded; the deletion already made stands).
          const id = revoked.splice(Math.floor(random() * revoked.length), 1)[0]!;
          await collection.doc(id).update({ analyticsConsent: true });
          consenting.add(id);
          c.regrants += 1;
        } else if (r < 0.8 && consenting.size > 0) {
          // …and revokes once more: a new request.
          const id = [...consenting][Math.floor(random() * consenting.size)]!;
          consenting.delete(id);
          await collection.doc(id).update({ analyticsConsent: false });
          expected.set(id, (expected.get(id) ?? 0) + 1);
          revoked.push(id);
          c.revocations += 1;
        } else if (r < 0.95) {
          const ids = Array.from({ length: 3 }, () => revoked[Math.floor(random() * revoked.length)]!).filter(Boolean);
          await fs.pubsub.publish('deletion-poll', [{ data: { customerIds: [...new Set(ids)], reason: 'soak forced poll' } }]);
          c.forcedPolls += 1;
        } else if (!faultUntil) {
          await fs.sandbox({ failureShare: 0.2, timeoutShare: 0.02, resetShare: 0.05, hangMs: 4_000 });
          faultUntil = tick + 15_000;
          c.vendorFaultWindows += 1;
        }
      } catch (err) {
        // A write that failed at the source was not made, so it is not expected either (counted apart).
        c.failedActions += 1;
        say(`action failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const wait = 1000 / rate - (Date.now() - tick);
      if (wait > 0) await sleep(wait);
    }
    await fs.sandbox({ failureShare: 0, timeoutShare: 0, resetShare: 0 });
    const actionsEnded = new Date();
    say(`actions done: ${JSON.stringify(c)}; settling`);

    // Settle: every revocation written has its request, nothing pending, every raised alert emailed.
    const totalExpected = [...expected.values()].reduce((a, b) => a + b, 0);
    await eventually(
      'the soak to settle',
      async () => {
        const result = await fs.pool
          .query<{ requests: number; pending: number }>(
            'select (select count(*)::int from deletion_request) as requests, (select count(*)::int from pending_deletion) as pending',
          )
          .catch(() => undefined);
        const row = result?.rows[0];
        return row && row.requests >= totalExpected && row.pending === 0 ? true : undefined;
      },
      15 * 60_000,
      1_000,
    ).catch((err: unknown) => say(`did not settle: ${(err as Error).message}`));
    await alertsEmailed(fs, 5 * 60_000).catch((err: unknown) => say(`alerts not all emailed: ${(err as Error).message}`));
    await fs.stack.relay.idle();
    await sleep(10_000);

    // Figures.
    const { rows } = await fs.pool.query<{ customer_id: string; requests: number; deletions: number; completed: number }>(
      `select r.customer_id, count(distinct r.id)::int as requests, count(d.id)::int as deletions,
              count(d.id) filter (where d.state in ('completed', 'verified'))::int as completed
         from deletion_request r left join vendor_deletion d on d.request_id = r.id group by r.customer_id`,
    );
    const byCustomer = new Map(rows.map((r) => [r.customer_id, r]));
    const jobs = await fs.vendorJobs();
    let lost = 0;
    let duplicated = 0;
    let completed = 0;
    const problems: string[] = [];
    for (const [id, n] of expected) {
      const r = byCustomer.get(id);
      const requests = r?.requests ?? 0;
      if (requests < n) {
        lost += n - requests;
        problems.push(`${id}: ${requests} of ${n} requests`);
      }
      if (requests > n) {
        duplicated += requests - n;
        problems.push(`${id}: ${requests} requests for ${n} revocations`);
      }
      if (r && r.completed < r.deletions) {
        lost += r.deletions - r.completed;
        problems.push(`${id}: ${r.completed} of ${r.deletions} deletions completed`);
      }
      completed += r?.completed ?? 0;
      const j = jobs.get(id) ?? 0;
      if (j > requests) {
        duplicated += j - requests;
        problems.push(`${id}: ${j} vendor jobs for ${requests} requests`);
      }
    }
    const alerts = await alertFigures(fs);
    const unsent = alerts.unsent.length;
    const { twice } = alerts;
    const chain = await cli(['verify-log'], {}, fs.dir);
    const memoryEnd = fs.memory();
    const connectionsEnd = await fs.connections();
    const relay = fs.stack.relay.stats();
    const passed = lost === 0 && duplicated === 0 && unsent === 0 && twice === 0 && chain.code === 0;

    const minutes = ((actionsEnded.getTime() - started.getTime()) / 60_000).toFixed(1);
    const report = [
      '# Soak run',
      '',
      `\`npm run test:faults -- --soak --minutes ${options.minutes}\`, started ${started.toISOString()}, actions for ${minutes} min ` +
        `(${rate} per second), settled and counted at ${new Date().toISOString()}, on commit ${commit()}. Result: **${passed ? 'PASS' : 'FAIL'}**.`,
      '',
      'Path: revocations and regrants written to the Firestore emulator → trigger → relay (redelivering refused events) → ' +
        'onCustomerWritten in a Functions Framework process; the scheduler, forced polls and alerts through Pub/Sub emulator push → ' +
        'pollDeletions and sendAlert processes; the vendor sandbox; the mail sink; a private PostgreSQL.',
      '',
      '| what | count |',
      '|---|---|',
      `| revocations written to Firestore (the source) | ${count(c.revocations)} (${count(expected.size)} customers) |`,
      `| regrants written | ${count(c.regrants)} |`,
      `| forced polls published | ${count(c.forcedPolls)} |`,
      `| vendor fault windows (20 % 5xx, 2 % hangs, 5 % resets, 15 s each) | ${count(c.vendorFaultWindows)} |`,
      `| function processes SIGKILLed and started again | ${count(c.functionKills)} |`,
      `| PostgreSQL crashes (SIGKILL of postmaster and backends, WAL recovery) | ${count(c.databaseCrashes)} |`,
      `| actions that failed at the source (not counted as expected) | ${count(c.failedActions)} |`,
      `| trigger events received / redelivered by the relay / given up | ${count(relay.received)} / ${count(relay.retries)} / ${count(relay.abandoned)} |`,
      `| alerts raised in the database / emails received | ${count(alerts.raised.length)} / ${count(alerts.emails)} |`,
      `| **lost** (requests missing against Firestore revocations, deletions not completed, raised alerts not emailed) | **${count(lost + unsent)}** |`,
      `| **duplicated** (requests or vendor jobs beyond one per revocation, emails beyond one per alert) | **${count(duplicated + twice)}** |`,
      `| deletions completed | ${count(completed)} |`,
      `| event log hash chain (\`verify-log\`) | ${oneLine(chain.code === 0 ? chain.stdout : `BROKEN: ${chain.stdout} ${chain.stderr}`)} |`,
      '',
      '| process | RSS at start | RSS at end |',
      '|---|---|---|',
      ...Object.keys(memoryStart).map((k) => `| ${k} | ${kb(memoryStart[k]!)} | ${kb(memoryEnd[k] ?? 0)} |`),
      `| open database connections (pg_stat_activity, client backends) | ${connectionsStart} | ${connectionsEnd} |`,
      '',
      'A function process started again after a SIGKILL is a new process: its RSS at the end is that of the new one. ' +
        "The stack's own process holds the vendor sandbox, which keeps a record of every request it answered (the " +
        'counts above are read from it), so its RSS grows with the requests; the functions hold no such record.',
      ...(problems.length ? ['', 'Problems (first 20):', '', ...problems.slice(0, 20).map((p) => `- ${p}`)] : []),
      '',
    ].join('\n');
    writeFileSync(options.out, report);
    say(`${passed ? 'PASS' : 'FAIL'}; report written to ${options.out}`);
    return passed;
  } finally {
    await fs.stop();
  }
}
