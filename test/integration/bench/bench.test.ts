import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('npm run bench -- --smoke', function () {
  this.timeout(90_000);
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'bench-'));
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('runs every scenario at tiny sizes and writes valid results and the chart', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], { encoding: 'utf8', env: process.env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /figure\s+value\s+target/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { profile: string; figures: Array<{ figure: string; value: number; pass: boolean | null }> };
    assert.equal(results.profile, 'smoke');
    assert.ok(results.figures.length >= 8);
    for (const f of results.figures) assert.ok(Number.isFinite(f.value), `${f.figure} has a number`);
    assert.match(readFileSync(join(out, 'burst.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/);
  });
});
