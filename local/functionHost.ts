/**
 * Serves one function of functions/index.ts under the Functions Framework, bound to one address (127.0.0.1 by
 * default). The framework's own CLI (main.js, 5.x) has no host option and listens on every interface, so anyone on
 * the network could post CloudEvents to a developer's stack (forged revocations, forced polls, mail). This host
 * builds the same server through the framework's public API (`getTestServer`: the function as registered, with
 * its signature type) and listens on loopback only.
 *
 *   node --import tsx local/functionHost.ts --target=NAME --port=PORT --source=functions/index.ts [--host=127.0.0.1]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getTestServer } from '@google-cloud/functions-framework/testing';

/** The addresses a local function may listen on: loopback only. */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'] as const;

/** Reads and checks the host's arguments; throws naming what is wrong. */
export function functionHostOptions(argv: string[]): { target: string; port: number; source: string; host: string } {
  const { values } = parseArgs({
    args: argv,
    options: { target: { type: 'string' }, port: { type: 'string' }, source: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
    strict: true,
  });
  const problems: string[] = [];
  if (!values.target) problems.push('--target: the function to serve is required');
  if (!values.source) problems.push('--source: the module registering the function is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) problems.push(`--port: "${values.port ?? ''}" is not a port number`);
  const host = values.host ?? '127.0.0.1';
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(host)) problems.push(`--host: "${host}" is not a loopback address (${LOOPBACK_HOSTS.join(', ')})`);
  if (problems.length) throw new Error(`functionHost: ${problems.join('; ')}`);
  return { target: values.target!, port, source: values.source!, host };
}

async function main(): Promise<void> {
  const options = functionHostOptions(process.argv.slice(2));
  // Importing the source registers its functions with the framework (functions.cloudEvent(...)).
  await import(pathToFileURL(resolve(options.source)).href);
  const server = getTestServer(options.target);
  // As the framework's CLI does: no timeout on incoming connections (a poll cycle may run for minutes).
  server.setTimeout(0);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => ok());
  });
  process.stdout.write(`Serving function ${options.target} on http://${options.host}:${options.port}/\n`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
