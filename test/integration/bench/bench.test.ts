import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Results {
  profile: string;
  figures: Array<{ figure: string; value: number; target: string; pass: boolean | null }>;
  details: {
    memory: { runs: Array<{ rows: number; due: number; checked: number; peakMB: number }> };
    ingest: { runs: Array<{ target: string; round: number; events: number; committed: number; commitsPerEvent: number }>; sealing: { entries: number } };
    lifecycle: { vendors: Array<{ kind: string; customers: number; oursDeleted: number; oursCalls: number; seedDeleted: number; seedCallsPerDeleted: number; oursCallsPerDeleted: number }> };
  };
}

describe('npm run bench -- --smoke', function () {
  this.timeout(240_000);
  let out: string;
  let results: Results;
  let stdout: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'bench-'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], { encoding: 'utf8', env: process.env });
    assert.equal(run.status, 0, run.stderr);
    stdout = run.stdout;
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('runs every scenario at tiny sizes and writes valid results and the chart', () => {
    assert.match(stdout, /figure\s+value\s+target/);
    assert.equal(results.profile, 'smoke');
    for (const scenario of ['burst', 'polling', 'db', 'idle', 'memory', 'ingest', 'lifecycle']) {
      assert.ok(results.figures.some((f) => f.figure.startsWith(`${scenario}:`)), `a ${scenario} figure is printed`);
    }
    for (const f of results.figures) {
      assert.ok(Number.isFinite(f.value), `${f.figure} has a number`);
      assert.ok(f.target.length > 0, `${f.figure} has a target`);
    }
    assert.match(readFileSync(join(out, 'burst.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/);
  });

  it('measures the poller child at both sizes, each having done the same due work', () => {
    const runs = results.details.memory.runs;
    assert.equal(runs.length, 2);
    assert.ok(runs[0]!.rows < runs[1]!.rows);
    for (const r of runs) {
      assert.ok(r.checked >= r.due, `${r.rows} rows: ${r.checked} of ${r.due} due checked`);
      assert.ok(r.peakMB > 0);
    }
  });

  it('counts ingest only once every event became a committed row; compared targets in 3 alternating rounds; the sealer links what they wrote', () => {
    const runs = results.details.ingest.runs;
    const compared = ['ours', 'bare (same statement, no chain)', 'bare (same statement as ours)', 'ours, http vendor (ingest submits)'];
    assert.deepEqual(
      runs.map((r) => `${r.round} ${r.target}`),
      [1, 2, 3].flatMap((round) => compared.map((t) => `${round} ${t}`)).concat(['1 bare (event log insert)', '1 bare (no chain)']),
    );
    for (const r of runs) {
      assert.equal(r.committed, r.events, r.target);
      // pg_stat_database: each event is one autocommitted statement; the http vendor's also records the vendor's answer.
      const most = r.target.includes('http vendor') ? 3.5 : 1.5;
      assert.ok(r.commitsPerEvent > 0.5 && r.commitsPerEvent < most, `${r.target}: ${r.commitsPerEvent} commits per event`);
    }
    assert.ok(results.details.ingest.sealing.entries > 0, 'the sealer linked the events');
  });

  it('follows every lifecycle deletion to completion, the batch vendor at a fraction of a call per customer', () => {
    const [batch, perOp] = results.details.lifecycle.vendors;
    assert.equal(batch!.kind, 'batch');
    assert.equal(perOp!.kind, 'per-operation');
    for (const v of [batch!, perOp!]) {
      assert.equal(v.oursDeleted, v.customers);
      assert.ok(v.seedDeleted > 0);
      // The seed checks every pending row every hour: more calls per customer than ours at either vendor.
      assert.ok(v.seedCallsPerDeleted > v.oursCallsPerDeleted, `${v.kind}: seed ${v.seedCallsPerDeleted}, ours ${v.oursCallsPerDeleted}`);
    }
    assert.ok(batch!.oursCallsPerDeleted < 1, `batch vendor: ${batch!.oursCallsPerDeleted} calls per deleted customer`);
  });
});
