// `npm run test:faults [-- mocha options]`: the fault suite's full profile under mocha.
// `npm run test:faults -- --soak [--minutes N] [--out FILE]`: the soak profile (test/faults/soak.ts), not in CI.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSoak } from './soak.js';

const args = process.argv.slice(2);
const valueOf = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

if (args.includes('--soak')) {
  const minutes = Number(valueOf('--minutes') ?? 60);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    process.stderr.write(`--minutes: "${valueOf('--minutes')}" must be a positive number of minutes\n`);
    process.exit(2);
  }
  const out = valueOf('--out') ?? fileURLToPath(new URL('./SOAK.md', import.meta.url));
  const passed = await runSoak({ minutes, out });
  process.exit(passed ? 0 : 1);
} else {
  const mocha = fileURLToPath(new URL('../../node_modules/mocha/bin/mocha.js', import.meta.url));
  const run = spawnSync(process.execPath, [mocha, 'test/faults/faults.test.ts', ...args], {
    stdio: 'inherit',
    env: { ...process.env, FAULTS_PROFILE: process.env['FAULTS_PROFILE'] || 'full' },
  });
  process.exit(run.status ?? 1);
}
