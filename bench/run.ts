/**
 * `npm run bench` (quick), `npm run bench -- --full`, `npm run bench -- --smoke`: the benchmark of issue 7,
 * ours against the seed's design on the same data in the same run. Results: bench/results/ (or --out DIR).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { PROFILES, type ProfileName } from './common.js';
import { adminUrl, createBenchDatabase, statStatementsLoaded } from './db.js';
import { runRepeated } from './repeat.js';
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
  .option('--only <names>', 'comma-separated scenarios: burst,polling,idle,memory,ingest,lifecycle')
  .option('--repeat <n>', 'run the whole benchmark n times, one after the other, and summarise each figure (min, median, max)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new InvalidArgumentError('must be a whole number from 1 to 20');
    return n;
  });
program.parse();
const opts = program.opts<{ full?: boolean; smoke?: boolean; out: string; only?: string; repeat?: number }>();
if (opts.repeat !== undefined && opts.repeat > 1) {
  const passthrough = [...(opts.full ? ['--full'] : []), ...(opts.smoke ? ['--smoke'] : []), ...(opts.only ? ['--only', opts.only] : [])];
  process.exit((await runRepeated(passthrough, opts.repeat, opts.out)) ? 0 : 1);
}
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
    figures.push({ figure: `burst: ${b.revocations} revocations submitted, to the last commit`, value: b.oursSeconds, unit: 's', target: '≤ 1.1× physical floor', ideal: b.idealSeconds, ratio: b.oursSeconds / b.idealSeconds, pass: b.oursSeconds / b.idealSeconds <= 1.1, note: `floor ${(b.requestsNeeded - 1)}/${b.perSecond} s + ${b.callLatencySeconds.toFixed(3)} s call + ${b.lastWriteSeconds.toFixed(3)} s last write; the delivery returned at ${b.deliveryReturnedSeconds.toFixed(2)} s; ${b.oursRequests} create calls, ${b.oursRateLimitExceeded} answered 429, ${b.oursTicks} poll deliveries` });
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
    const range = (x: { min: number; median: number; max: number }) => `min ${x.min.toFixed(2)}, max ${x.max.toFixed(2)} ms of 20`;
    figures.push({ figure: `idle: alert scan at ${t.scanRows} unfinished rows (median)`, value: t.scanMs.median, unit: 'ms', target: '< 50 ms', ideal: null, ratio: null, pass: t.scanMs.median < 50, note: `${range(t.scanMs)}; at most ${t.scanCandidates} candidates read; ${t.scanPlan.includes('vendor_deletion_alert_check') ? 'index vendor_deletion_alert_check' : 'no index'}` });
    figures.push({ figure: `idle: whole scheduled tick with the alert scan at ${t.scanRows} unfinished rows (median)`, value: t.tickWithScanMs.median, unit: 'ms', target: '< 60 ms', ideal: null, ratio: null, pass: t.tickWithScanMs.median < 60, note: range(t.tickWithScanMs) });
    figures.push({ figure: `idle: the whole first alert scan at ${t.scanRows} unfinished rows`, value: t.firstScanMs / 1000, unit: 's', target: 'reference', ideal: null, ratio: null, pass: null, note: `${t.firstScanPasses} passes of 20,000 rows; after the migration or a policy change every unfinished row is looked at once, a poll cycle giving the scan at most 20 s and the next scans going on` });
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
    // Each compared target ran INGEST_ROUNDS times in alternating order: the median run of each, with min and max.
    const of = (target: string) => g.runs.filter((r) => r.target === target).map((r) => r.perSecond).sort((a, b) => a - b);
    const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    const spread = (xs: number[]) => `min ${xs[0]!.toFixed(0)}, max ${xs.at(-1)!.toFixed(0)}/s of ${xs.length} runs`;
    const ours = of('ours');
    const http = of('ours, http vendor (ingest submits)');
    const same = of('bare (same statement as ours)');
    const plain = of('bare (same statement, no chain)');
    // Ratios per round (each round's runs were back to back), then their median.
    const ratios = [1, 2, 3].map((round) => {
      const at = (t: string) => g.runs.find((r) => r.target === t && r.round === round)?.perSecond ?? NaN;
      return at('ours') / at('bare (same statement, no chain)');
    }).filter(Number.isFinite).sort((a, b) => a - b);
    const commits = g.runs.find((r) => r.target === 'ours')!.commitsPerEvent;
    figures.push({ figure: `ingest: revocations/s to committed rows (${g.runs[0]!.events}, median)`, value: med(ours), unit: '/s', target: '≥ 800/s', ideal: 800, ratio: med(ours) / 800, pass: med(ours) >= 800, note: `${spread(ours)}; Functions Framework, ${g.concurrency} in flight, pool ${g.poolMax}, ${commits.toFixed(2)} commits/event, load generator on the same machine` });
    figures.push({ figure: 'ingest: ours / bare function, same inserts without the chain (median of rounds)', value: med(ratios), unit: '×', target: '≥ 0.9×', ideal: med(plain), ratio: med(ratios), pass: med(ratios) >= 0.9, note: `per round ${ratios.map((r) => r.toFixed(3)).join(', ')}; bare median ${med(plain).toFixed(0)}/s (${spread(plain)})` });
    figures.push({ figure: 'ingest: ours / bare function, same statement with the event log trigger', value: med(ours) / med(same), unit: '×', target: 'reference', ideal: med(same), ratio: med(ours) / med(same), pass: null, note: `bare ${med(same).toFixed(0)}/s (${spread(same)})` });
    figures.push({ figure: 'ingest: ours with the http vendor (ingest submits to the vendor)', value: med(http), unit: '/s', target: 'reference', ideal: null, ratio: null, pass: null, note: `${spread(http)}; sandbox without latency` });
    const one = (t: string) => g.runs.find((r) => r.target === t)!.perSecond;
    figures.push({ figure: 'ingest: bare, one event-log insert', value: one('bare (event log insert)'), unit: '/s', target: 'reference', ideal: one('bare (no chain)'), ratio: one('bare (event log insert)') / one('bare (no chain)'), pass: null, note: `against ${one('bare (no chain)').toFixed(0)}/s into a table without the log's trigger` });
    figures.push({ figure: 'ingest: the sealer linking the runs\' events to the chain', value: g.sealing.perSecond, unit: '/s', target: 'reference', ideal: null, ratio: null, pass: null, note: `${g.sealing.entries} events in ${g.sealing.seconds.toFixed(1)} s, off the commit path (the poller's cycle)` });
  });
  await scenario('lifecycle', async () => {
    const l = await runLifecycle(db, profile, say);
    details['lifecycle'] = l;
    for (const v of l.vendors) {
      const batch = v.kind === 'batch';
      figures.push({ figure: `lifecycle: vendor calls per deleted customer, ${v.kind} (${v.customers}, ${l.days} d)`, value: v.oursCallsPerDeleted, unit: '', target: batch ? '≤ 0.025' : 'reference', ideal: null, ratio: null, pass: batch ? v.oursCallsPerDeleted <= 0.025 : null, note: `${v.oursCalls} calls for ${v.oursDeleted} deleted` });
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
