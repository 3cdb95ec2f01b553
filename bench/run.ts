/**
 * `npm run bench` (quick), `npm run bench -- --full`, `npm run bench -- --smoke`: the benchmark of issue 7,
 * ours against the seed's design on the same data in the same run. Results: bench/results/ (or --out DIR).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import { Command } from 'commander';
import { PROFILES, type ProfileName } from './common.js';
import { adminUrl, createBenchDatabase, statStatementsLoaded } from './db.js';
import { burstChart, markdownTable, table, type Figure } from './report.js';
import { runBurst } from './scenarios/burst.js';
import { runPolling } from './scenarios/polling.js';
import { runIdleTick } from './scenarios/idleTick.js';
import { runMemory } from './scenarios/memory.js';
import { runIngest } from './scenarios/ingest.js';
import { runLifecycle } from './scenarios/lifecycle.js';

process.env['METADATA_SERVER_DETECTION'] ??= 'none';

const program = new Command()
  .name('bench')
  .option('--full', 'the issue sizes (100,000 burst and polling)')
  .option('--smoke', 'tiny sizes (the test suite runs this)')
  .option('--out <dir>', 'where results.json and burst.svg go', join(dirname(fileURLToPath(import.meta.url)), 'results'))
  .option('--only <names>', 'comma-separated scenarios: burst,polling,idle,memory,ingest,lifecycle');
program.parse();
const opts = program.opts<{ full?: boolean; smoke?: boolean; out: string; only?: string }>();
const profileName: ProfileName = opts.smoke ? 'smoke' : opts.full ? 'full' : 'quick';
const profile = PROFILES[profileName];
const only = opts.only ? new Set(opts.only.split(',')) : null;
const wanted = (s: string) => !only || only.has(s);
const say = (s: string) => process.stderr.write(`${s}\n`);

const server = adminUrl(process.env);
const started = new Date();
say(`bench: profile ${profileName}; PostgreSQL at ${server.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:[redacted]@')}`);
const pgss = await statStatementsLoaded(server).catch(() => false);
const db = await createBenchDatabase(server, profileName);
const figures: Figure[] = [];
const details: Record<string, unknown> = {};
let failed: unknown;
/** Runs one scenario when wanted, and marks its figures with the 1-minute load average when it began. */
async function scenario(name: string, run: () => Promise<void>): Promise<void> {
  if (!wanted(name)) return;
  const from = figures.length;
  const load = loadavg()[0]!;
  await run();
  for (const f of figures.slice(from)) f.loadAverage = load;
}
try {
  await scenario('burst', async () => {
    const b = await runBurst(db.url, profile, say);
    details['burst'] = b;
    figures.push({ figure: `burst: ${b.revocations} revocations submitted, to the last commit`, value: b.oursSeconds, unit: 's', target: '≤ 1.1× physical floor', ideal: b.idealSeconds, ratio: b.oursSeconds / b.idealSeconds, pass: b.oursSeconds / b.idealSeconds <= 1.1, note: `floor ${(b.requestsNeeded - 1)}/${b.perSecond} s + ${b.callLatencySeconds.toFixed(3)} s call + ${b.lastWriteSeconds.toFixed(3)} s last write; ${b.oursRequests} create calls, ${b.oursRateLimitExceeded} answered 429, ${b.oursTicks} poll deliveries` });
    figures.push({ figure: 'burst: seed (projected from measured rate)', value: b.seedProjectedSeconds, unit: 's', target: 'reference', ideal: b.idealSeconds, ratio: b.seedProjectedSeconds / b.idealSeconds, pass: null, note: `${b.seedSubmitted} submitted in ${b.seedMeasuredSeconds.toFixed(1)} s` });
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'burst.svg'), burstChart({ total: b.revocations, ours: b.ours, seed: b.seed, seedPerSecond: b.seedPerSecond, idealSeconds: b.idealSeconds }));
  });
  await scenario('polling', async () => {
    // The default configuration (only the vendor's rate is set) at a fast and a slow vendor.
    for (const latencyMs of [50, 500]) {
      const p = await runPolling(db.url, profile, say, { latencyMs, seed: latencyMs === 50 });
      details[latencyMs === 50 ? 'polling' : `polling${latencyMs}`] = p;
      figures.push({ figure: `polling: status checks/s (${p.operations} due, ${latencyMs} ms latency, default concurrency)`, value: p.oursPerSecond, unit: '/s', target: '≥ 90% of cap', ideal: p.capPerSecond, ratio: p.oursPerSecond / p.capPerSecond, pass: p.oursPerSecond / p.capPerSecond >= 0.9, note: `${p.oursRateLimitExceeded} answered 429; sized to ${p.concurrency} in flight` });
      if (latencyMs !== 50) continue;
      figures.push({ figure: 'polling: ours / seed loop', value: p.oursPerSecond / p.seedPerSecond, unit: '×', target: '≥ 20×', ideal: null, ratio: p.oursPerSecond / p.seedPerSecond, pass: p.oursPerSecond / p.seedPerSecond >= 20, note: `seed ${p.seedPerSecond.toFixed(1)}/s` });
      figures.push({ figure: 'db: SQL statements per check (ours)', value: p.oursStatementsPerCheck, unit: '', target: '≤ 0.05', ideal: null, ratio: null, pass: p.oursStatementsPerCheck <= 0.05, note: pgss ? 'pg_stat_statements' : 'counting client' });
      figures.push({ figure: 'db: SQL statements per check (seed)', value: p.seedStatementsPerCheck, unit: '', target: 'reference', ideal: null, ratio: null, pass: null });
    }
  });
  await scenario('idle', async () => {
    const t = await runIdleTick(db.url, profile, say);
    details['idleTick'] = t;
    figures.push({ figure: `idle: due-work claim at ${t.rows} rows`, value: t.claimMs, unit: 'ms', target: '< 10 ms, index', ideal: null, ratio: null, pass: t.claimMs < 10 && t.usesIndex, note: t.usesIndex ? 'Index Scan using vendor_deletion_due' : 'no index' });
    figures.push({ figure: `idle: whole scheduled tick at ${t.rows} rows`, value: t.tickMs, unit: 'ms', target: '< 10 ms', ideal: null, ratio: null, pass: t.tickMs < 10, note: `${t.statementsPerTick} statements per tick` });
  });
  await scenario('memory', async () => {
    const m = await runMemory(db, profile, say);
    details['memory'] = m;
    for (const r of m.runs) {
      figures.push({ figure: `memory: poller peak RSS, ${r.rows} pending`, value: r.peakMB, unit: 'MB', target: 'reference', ideal: null, ratio: null, pass: null, note: `median of ${r.peaksMB.map((p) => p.toFixed(0)).join('/')}; ${r.due} due checked; ${r.baselineMB.toFixed(0)} MB before the tick` });
    }
    figures.push({ figure: `memory: peak RSS ${m.runs.at(-1)!.rows} minus ${m.runs[0]!.rows} rows`, value: m.deltaMB, unit: 'MB', target: 'within ±20 MB', ideal: null, ratio: null, pass: Math.abs(m.deltaMB) <= 20 });
  });
  await scenario('ingest', async () => {
    const g = await runIngest(db, profile, say);
    details['ingest'] = g;
    const [ours, same, chain, bare, unchained] = g.runs;
    figures.push({ figure: `ingest: revocations/s to committed rows (${ours!.events})`, value: ours!.perSecond, unit: '/s', target: '≥ 500/s', ideal: 500, ratio: ours!.perSecond / 500, pass: ours!.perSecond >= 500, note: `Functions Framework, ${g.concurrency} in flight, pool ${g.poolMax}, ${ours!.commitsPerEvent.toFixed(2)} commits/event` });
    figures.push({ figure: 'ingest: ours / bare function (same statement)', value: ours!.perSecond / same!.perSecond, unit: '×', target: '≥ 80%', ideal: same!.perSecond, ratio: ours!.perSecond / same!.perSecond, pass: ours!.perSecond / same!.perSecond >= 0.8, note: `bare ${same!.perSecond.toFixed(0)}/s sending our statement (request, deletion, events) with no decoding or rules` });
    figures.push({ figure: 'ingest: ours / bare single event-log insert', value: ours!.perSecond / chain!.perSecond, unit: '×', target: 'reference', ideal: chain!.perSecond, ratio: ours!.perSecond / chain!.perSecond, pass: null, note: `bare ${chain!.perSecond.toFixed(0)}/s inserting one row into deletion_event` });
    figures.push({ figure: 'ingest: bare, event log with hash chain', value: chain!.perSecond, unit: '/s', target: 'reference', ideal: bare!.perSecond, ratio: chain!.perSecond / bare!.perSecond, pass: null, note: `chain costs ${((1 - chain!.perSecond / bare!.perSecond) * 100).toFixed(0)}% of the bare rate` });
    figures.push({ figure: 'ingest: bare, same insert without the chain', value: bare!.perSecond, unit: '/s', target: 'reference', ideal: null, ratio: null, pass: null });
    figures.push({ figure: 'ingest: ours with the chain trigger disabled', value: unchained!.perSecond, unit: '/s', target: 'diagnostic', ideal: bare!.perSecond, ratio: unchained!.perSecond / bare!.perSecond, pass: null, note: 'what the chain costs ours; not a supported configuration' });
  });
  await scenario('lifecycle', async () => {
    const l = await runLifecycle(db, profile, say);
    details['lifecycle'] = l;
    for (const v of l.vendors) {
      const batch = v.kind === 'batch';
      figures.push({ figure: `lifecycle: vendor calls per deleted customer, ${v.kind} (${v.customers}, ${l.days} d)`, value: v.oursCallsPerDeleted, unit: '', target: batch ? '≤ 0.05' : 'reference', ideal: null, ratio: null, pass: batch ? v.oursCallsPerDeleted <= 0.05 : null, note: `${v.oursCalls} calls for ${v.oursDeleted} deleted` });
      figures.push({ figure: `lifecycle: seed's hourly polling / ours, ${v.kind}`, value: v.seedCallsPerDeleted / v.oursCallsPerDeleted, unit: '×', target: 'reference', ideal: null, ratio: v.seedCallsPerDeleted / v.oursCallsPerDeleted, pass: null, note: `seed ${v.seedCallsPerDeleted.toFixed(0)} calls per deleted customer` });
    }
  });
} catch (err) {
  failed = err;
} finally {
  await db.drop().catch((e: unknown) => say(`bench: could not drop ${db.name}: ${String(e)}`));
}
if (failed) {
  say(`bench failed: ${failed instanceof Error ? (failed.stack ?? failed.message) : String(failed)}`);
  process.exit(1);
}
const results = {
  profile: profileName,
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, memoryMiB: Math.round(totalmem() / 2 ** 20), node: process.version, loadAverageAtEnd: loadavg() },
  statementCounting: pgss ? 'pg_stat_statements' : 'counting client (pg_stat_statements is not in shared_preload_libraries)',
  figures,
  details,
};
mkdirSync(opts.out, { recursive: true });
writeFileSync(join(opts.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(opts.out, 'figures.md'), `${markdownTable(figures)}\n`);
process.stdout.write(`${table(figures)}\n\nresults: ${resolve(opts.out, 'results.json')}\n`);
