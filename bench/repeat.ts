/**
 * `npm run bench -- --repeat N [...]`: the benchmark run N times one after the other, each a whole run of its own
 * (its own databases and processes, results in <out>/run-<i>/), then every figure summarised over the runs: its
 * minimum, median and maximum, the result judged on the median, and how many runs passed on their own.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './report.js';

export interface RepeatedFigure {
  figure: string;
  unit: string;
  target: string;
  values: number[];
  min: number;
  median: number;
  max: number;
  /** Judged on the median run's result; null for reference figures. */
  pass: boolean | null;
  passedRuns: number | null;
}

const RUN = fileURLToPath(new URL('./run.ts', import.meta.url));

/** Runs bench/run.ts `n` times with `args` (without --repeat and --out) and writes the summary to `out`. */
export async function runRepeated(args: string[], n: number, out: string): Promise<boolean> {
  const runs: Figure[][] = [];
  const dirs: string[] = [];
  for (let i = 1; i <= n; i += 1) {
    const dir = join(out, `run-${i}`);
    process.stderr.write(`bench: run ${i} of ${n} → ${dir}\n`);
    const code = await new Promise<number>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args, '--out', dir], { stdio: 'inherit' });
      child.on('exit', (c) => done(c ?? 1));
    });
    if (code !== 0) {
      process.stderr.write(`bench: run ${i} failed (exit ${code}); no summary written\n`);
      return false;
    }
    dirs.push(dir);
    runs.push((JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { figures: Figure[] }).figures);
  }
  const summary = summarise(runs);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'repeats.json'), `${JSON.stringify({ runs: dirs.map((d) => resolve(d)), figures: summary }, null, 2)}\n`);
  writeFileSync(join(out, 'repeats.md'), `${repeatsMarkdown(summary, n)}\n`);
  process.stdout.write(`\n${repeatsMarkdown(summary, n)}\n\nsummary: ${resolve(out, 'repeats.md')}\n`);
  return summary.every((f) => f.pass !== false);
}

/** Every figure over the runs (matched by name, in the first run's order). */
export function summarise(runs: Figure[][]): RepeatedFigure[] {
  const first = runs[0] ?? [];
  return first.map((f) => {
    const same = runs.map((r) => r.find((x) => x.figure === f.figure)).filter((x): x is Figure => x !== undefined);
    const sorted = [...same].sort((a, b) => a.value - b.value);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const judged = same.filter((x) => x.pass !== null);
    return {
      figure: f.figure,
      unit: f.unit,
      target: f.target,
      values: same.map((x) => x.value),
      min: sorted[0]!.value,
      median: mid.value,
      max: sorted.at(-1)!.value,
      pass: mid.pass,
      passedRuns: judged.length ? judged.filter((x) => x.pass).length : null,
    };
  });
}

const fmt = (v: number) => (!Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4));

export function repeatsMarkdown(figures: RepeatedFigure[], n: number): string {
  const rows = [`| figure | target | min | median | max | result (median) | runs passed of ${n} |`, '|---|---|---|---|---|---|---|'];
  for (const f of figures) {
    const u = f.unit ? ` ${f.unit}` : '';
    const result = f.pass === null ? 'info' : f.pass ? 'pass' : '**FAIL**';
    rows.push(`| ${f.figure} | ${f.target} | ${fmt(f.min)}${u} | ${fmt(f.median)}${u} | ${fmt(f.max)}${u} | ${result} | ${f.passedRuns === null ? '-' : f.passedRuns} |`);
  }
  return rows.join('\n');
}
