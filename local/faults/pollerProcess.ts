// A poller in a process of its own, for the fault suite's SIGKILL scenario: it runs poll cycles back to back
// against DATABASE_URL and the configured vendors and writes `phase <name>` to stdout as it enters each point
// (claim, call, write, cycle), so a test can SIGKILL it exactly there. The only place that touches process.
//   node --import tsx local/faults/pollerProcess.ts [--lease-ms N] [--pause-ms N] [--until-idle]
import { systemClock } from '../../functions/clock.js';
import { loadConfig } from '../../functions/config.js';
import { createLogger } from '../../functions/log.js';
import { createPool } from '../../functions/store/pool.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { runPollerLoop } from './pollerLoop.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

function number(name: string, fallback: number): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`pollerProcess: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, service: 'faults-poller' }, { write: (line: string) => void process.stderr.write(line) });
const { pool, close } = await createPool(config.database);
// Synchronous on a pipe under Linux, so the line is out before the statement or call it announces.
const mark = (phase: string) => void process.stdout.write(`phase ${phase}\n`);
try {
  const cycles = await runPollerLoop({
    pool,
    vendors: createVendors(config.vendors),
    config: { ...config, poller: { ...config.poller, leaseMs: number('--lease-ms', config.poller.leaseMs) } },
    log,
    clock: systemClock,
    mark,
    pauseMs: number('--pause-ms', 20),
    untilIdle: process.argv.includes('--until-idle'),
  });
  process.stdout.write(`idle after ${cycles} cycle(s)\n`);
} finally {
  await close();
}
