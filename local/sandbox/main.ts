// The vendor sandbox on its own, for manual use:
//   node --import tsx local/sandbox/main.ts --port 8090 [--vendors http] [--config '{"http":{"credential":"k"}}']
// Ctrl-C stops it.
import { Command, InvalidArgumentError } from 'commander';
import { BUILTIN_MODULES } from './modules.js';
import { startSandbox } from './server.js';
import type { SandboxConfigInput } from './types.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 for any free port)');
  return n;
}

function configJson(value: string): Record<string, SandboxConfigInput> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON: {"<module>": {<config>}}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('must be a JSON object keyed by module name');
  }
  return parsed as Record<string, SandboxConfigInput>;
}

const program = new Command('sandbox')
  .description('Serves the vendor deletion APIs the tests and the local stack talk to (README.md in this folder).')
  .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', port, 8090)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--vendors <names>', `modules to mount, comma-separated (known: ${Object.keys(BUILTIN_MODULES).join(', ')})`, 'http')
  .option('--config <json>', 'starting config per module, e.g. {"http":{"rateLimit":{"requests":50}}}', configJson, {})
  .option('--seed <n>', 'seed of the random faults', (v) => Number.parseInt(v, 10))
  .parse();

const opts = program.opts<{ port: number; host: string; vendors: string; config: Record<string, SandboxConfigInput>; seed?: number }>();
const names = opts.vendors.split(',').map((s) => s.trim()).filter(Boolean);
const unknownConfig = Object.keys(opts.config).filter((k) => !names.includes(k));
if (unknownConfig.length) program.error(`--config names modules not in --vendors: ${unknownConfig.join(', ')}`);

try {
  const sandbox = await startSandbox({
    port: opts.port,
    host: opts.host,
    seed: opts.seed,
    vendors: Object.fromEntries(names.map((n) => [n, opts.config[n] ?? {}])),
  });
  console.log(`vendor sandbox listening on ${sandbox.url}`);
  for (const name of sandbox.control.modules()) console.log(`  ${name}: ${sandbox.url}/${name}  (control: ${sandbox.url}/_sandbox/${name}/…)`);
  const stop = () => {
    sandbox.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
