import type { BacklogPoint } from './scenarios/burst.js';

/** One printed figure with its target and ideal; `ratio` is measured / ideal (or ours / seed where stated). */
export interface Figure {
  figure: string;
  value: number;
  unit: string;
  target: string;
  ideal: number | null;
  ratio: number | null;
  pass: boolean | null;
  note?: string;
  /** The machine's 1-minute load average when the figure's scenario began (the benchmark itself adds to it). */
  loadAverage?: number;
}

const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4));

/** The table printed at the end of a run. */
export function table(figures: Figure[]): string {
  const rows = [['figure', 'value', 'target', 'ideal', 'ratio', 'result']];
  for (const f of figures) {
    rows.push([f.figure, `${fmt(f.value)} ${f.unit}`, f.target, fmt(f.ideal), fmt(f.ratio), f.pass === null ? 'info' : f.pass ? 'PASS' : 'FAIL']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, k) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + (k === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

/** The same figures as a Markdown table (bench/README.md's "Latest figures" is pasted from it). */
export function markdownTable(figures: Figure[]): string {
  const rows = ['| figure | target | measured | ratio | result | load avg |', '|---|---|---|---|---|---|'];
  for (const f of figures) {
    const measured = `${fmt(f.value)}${f.unit ? ` ${f.unit}` : ''}`;
    const result = f.pass === null ? 'info' : f.pass ? 'pass' : '**FAIL**';
    rows.push(`| ${f.figure} | ${f.target} | ${measured} | ${fmt(f.ratio)} | ${result} | ${f.loadAverage === undefined ? '-' : f.loadAverage.toFixed(2)} |`);
  }
  return rows.join('\n');
}

/**
 * The burst chart: backlog over time on a log time axis (ours drains in seconds, the seed in hours), the
 * seed's measured part solid and its projection at its measured rate dashed.
 */
export function burstChart(args: { total: number; ours: BacklogPoint[]; seed: BacklogPoint[]; seedPerSecond: number; idealSeconds: number }): string {
  const W = 760;
  const H = 420;
  const L = 70;
  const R = 20;
  const T = 40;
  const B = 60;
  const tMin = 0.1;
  const tMax = Math.max(10, args.total / args.seedPerSecond) * 1.5;
  const lx = (t: number) => L + ((Math.log10(Math.max(t, tMin)) - Math.log10(tMin)) / (Math.log10(tMax) - Math.log10(tMin))) * (W - L - R);
  const ly = (n: number) => T + (1 - n / args.total) * (H - T - B);
  const path = (pts: BacklogPoint[]) => pts.map(([t, n], i) => `${i ? 'L' : 'M'}${lx(t).toFixed(1)},${ly(n).toFixed(1)}`).join(' ');
  const step = (pts: BacklogPoint[]): BacklogPoint[] => {
    const out: BacklogPoint[] = [];
    for (const [t, n] of pts) {
      if (out.length) out.push([t, out[out.length - 1]![1]]);
      out.push([t, n]);
    }
    return out;
  };
  const seedLast = args.seed.at(-1) ?? [0, args.total];
  const projection: BacklogPoint[] = [seedLast, [seedLast[0] + seedLast[1] / args.seedPerSecond, 0]];
  const ticks: string[] = [];
  for (let e = -1; 10 ** e <= tMax; e += 1) {
    const t = 10 ** e;
    const label = t >= 3600 ? `${(t / 3600).toFixed(t >= 36000 ? 0 : 1)} h` : `${t} s`;
    ticks.push(`<line x1="${lx(t)}" y1="${T}" x2="${lx(t)}" y2="${H - B}" stroke="#ddd"/><text x="${lx(t)}" y="${H - B + 18}" text-anchor="middle">${label}</text>`);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const n = Math.round(args.total * f);
    ticks.push(`<line x1="${L}" y1="${ly(n)}" x2="${W - R}" y2="${ly(n)}" stroke="#eee"/><text x="${L - 6}" y="${ly(n) + 4}" text-anchor="end">${n.toLocaleString('en')}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Burst: ${args.total.toLocaleString('en')} revocations to a batch vendor at 1 request/s — deletions not yet submitted</text>
${ticks.join('\n')}
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>
<text x="${W / 2}" y="${H - 20}" text-anchor="middle">time since the revocations arrived (log scale)</text>
<line x1="${lx(args.idealSeconds)}" y1="${T}" x2="${lx(args.idealSeconds)}" y2="${H - B}" stroke="#2a2" stroke-dasharray="3,3"/><text x="${lx(args.idealSeconds) + 4}" y="${T + 12}" fill="#2a2">ideal</text>
<path d="${path(step(args.ours))}" fill="none" stroke="#1565c0" stroke-width="2.5"/>
<path d="${path(step(args.seed))}" fill="none" stroke="#c62828" stroke-width="2.5"/>
<path d="${path(projection)}" fill="none" stroke="#c62828" stroke-width="2" stroke-dasharray="6,4"/>
<rect x="${W - 290}" y="${T + 20}" width="265" height="58" fill="white" stroke="#999"/>
<line x1="${W - 280}" y1="${T + 36}" x2="${W - 250}" y2="${T + 36}" stroke="#1565c0" stroke-width="2.5"/><text x="${W - 244}" y="${T + 40}">consent-erasure (measured)</text>
<line x1="${W - 280}" y1="${T + 56}" x2="${W - 250}" y2="${T + 56}" stroke="#c62828" stroke-width="2.5"/><text x="${W - 244}" y="${T + 60}">seed (measured, then projected - - -)</text>
</svg>
`;
}
