import { spawnSync } from 'node:child_process';
import type { loadCloudBuild } from './deployFiles.js';
import { ROOT } from './deployFiles.js';

/**
 * Runs cloudbuild.yaml's preflight step as Cloud Build would: its entrypoint with its args after substitution,
 * in the checkout, with no environment but what a container has (PATH, HOME) and what the step declares.
 */
export function runPreflight(cb: ReturnType<typeof loadCloudBuild>): { status: number | null; output: string } {
  const step = cb.resolved('preflight');
  if (!step.entrypoint) throw new Error('the preflight step has no entrypoint');
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' };
  for (const e of step.env) env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  const r = spawnSync(step.entrypoint, step.args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
