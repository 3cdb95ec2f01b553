// `npm start`: the whole system on this machine, in the foreground, until Ctrl-C. The entry point: the only
// place that touches process (environment, signals, exit code); everything else is in stack.ts.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../functions/log.js';
import { startStack, StackError } from './stack.js';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = createLogger({ level: process.env['LOG_LEVEL'] || 'info', service: 'local-stack' }, {
  write: (line: string) => {
    process.stdout.write(readable(line));
  },
});

function readable(line: string): string {
  try {
    const e = JSON.parse(line) as { severity?: string; message?: string; time?: string };
    return `${(e.time ?? new Date().toISOString()).slice(11, 19)} ${'stack'.padEnd(17)} ${(e.severity ?? 'INFO').padEnd(7)} ${e.message ?? line}\n`;
  } catch {
    return line;
  }
}

const args = process.argv.slice(2);
let verbose = false;
let stateDir: string | undefined;
for (let a = 0; a < args.length; a++) {
  if (args[a] === '--verbose') verbose = true;
  else if (args[a] === '--state-dir' && args[a + 1]) stateDir = resolve(args[++a]!);
  else {
    process.stderr.write(`npm start: unknown argument ${args[a]} (accepted: --verbose, --state-dir <dir>)\n`);
    process.exit(2);
  }
}

const began = Date.now();
process.stdout.write('starting the local stack (PostgreSQL, Firestore and Pub/Sub emulators, functions, sandbox, mail sink)…\n');
let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({ rootDir, env: process.env, log, verbose, ...(stateDir ? { stateDir } : {}) });
} catch (err) {
  process.stderr.write(`\nnpm start: ${err instanceof StackError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

const i = stack.info;
const shownDb = i.databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
process.stdout.write(
  [
    '',
    `ready in ${((Date.now() - began) / 1000).toFixed(1)} s (project ${i.projectId}); settings in ${join(stateDir ?? '.consent-erasure', 'stack.json')}`,
    `  database            ${shownDb}`,
    `  Firestore emulator  ${i.firestoreEmulatorHost}`,
    `  Pub/Sub emulator    ${i.pubsubEmulatorHost}`,
    `  vendor sandbox      ${i.vendorSandboxUrl}/{${(i.env['VENDORS'] ?? 'http').split(',').join(',')}}   (control: ${i.vendorSandboxUrl}/_sandbox)`,
    `  mail sink           ${i.mailSinkUrl}/messages   (files: ${join(stateDir ?? '.consent-erasure', 'outbox')}/)`,
    `  onCustomerWritten   ${i.functions.onCustomerWritten}`,
    `  pollDeletions       ${i.functions.pollDeletions}`,
    `  sendAlert           ${i.functions.sendAlert}`,
    ...(i.functions.receiveDeletionCallback ? [`  receiveDeletionCallback ${i.functions.receiveDeletionCallback} (public in production: signed vendor callbacks)`] : []),
    '',
    'try:  npx consent-erasure revoke c-1 && npx consent-erasure poll && npx consent-erasure status --customer c-1',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the local stack…\n`);
  stack.stop().then(
    () => {
      process.stdout.write('stopped\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`stopping failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// Keep the process alive until a signal: the servers it hosts are unref'd in places.
setInterval(() => {}, 1 << 30);
