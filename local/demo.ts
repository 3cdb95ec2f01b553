// `npm run demo`: a scripted tour of the running local stack (start it first with `npm start`). It revokes three
// customers and shows one deletion completing, one going stale and emailed, and one vendor answering in an
// undocumented shape and emailed; then prints their status and the evidence report. Settings come from
// .consent-erasure/stack.json, like the CLI's.
import { runCli } from '../functions/cli/program.js';
import { findStackFile, readStackFile, stackIsAlive, type StackFile } from '../functions/cli/stackFile.js';
import { queryStatus } from '../functions/store/queryStatus.js';
import { createPool } from '../functions/store/pool.js';
import type { SinkMessage } from './mailSink.js';
import { SANDBOX_HTTP_CONFIG } from './stack.js';

// Off Google Cloud the client libraries would probe the metadata server and warn.
process.env['METADATA_SERVER_DETECTION'] ??= 'none';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s`;
const step = (text: string) => process.stdout.write(`\n[${elapsed()}] ${text}\n`);
const note = (text: string) => process.stdout.write(`         ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fail(message: string): never {
  process.stderr.write(`\nnpm run demo: ${message}\n`);
  process.exit(1);
}

const stackPath = findStackFile(process.cwd());
if (!stackPath) fail('no .consent-erasure/stack.json here: start the local stack first with `npm start` (in another terminal)');
const stack: StackFile = readStackFile(stackPath);
if (!stackIsAlive(stack)) fail(`${stackPath} is left over from a stack that is no longer running: start it with \`npm start\``);

/** Runs a CLI command in-process against the stack, printing what it prints. */
async function cli(...argv: string[]): Promise<void> {
  process.stdout.write(`\n  $ consent-erasure ${argv.join(' ')}\n`);
  const code = await runCli({
    argv: ['--stack', stackPath!, ...argv],
    env: { PATH: process.env['PATH'] },
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t.replace(/^(?=.)/gm, '  ')),
    stderr: (t) => process.stderr.write(t),
  });
  if (code !== 0) fail(`consent-erasure ${argv.join(' ')} exited ${code}`);
}

async function sandbox(path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${stack.vendorSandboxUrl}/_sandbox/http/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!res.ok) fail(`the vendor sandbox refused ${path}: ${res.status} ${await res.text()}`);
}

async function emails(): Promise<SinkMessage[]> {
  const res = await fetch(`${stack.mailSinkUrl}/messages`);
  if (!res.ok) fail(`the mail sink answered ${res.status}`);
  return (await res.json()) as SinkMessage[];
}

const { pool, close } = await createPool({ kind: 'url', url: stack.databaseUrl, poolMax: 2 });

async function stateOf(customerId: string): Promise<{ state: string; operationId: string | null } | undefined> {
  const [row] = await queryStatus(pool, { customerIds: [customerId], limit: 1 });
  return row;
}

/** Polls (forcing a check of the customer) until `done` holds, or fails after `timeoutMs`. */
async function until(what: string, timeoutMs: number, done: () => Promise<boolean>, customerId?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastPoll = 0;
  while (Date.now() < deadline) {
    if (await done()) return;
    if (Date.now() - lastPoll > 4000) {
      lastPoll = Date.now();
      await runCli({
        argv: ['--stack', stackPath!, 'poll', ...(customerId ? ['--customer', customerId] : []), '--reason', 'demo'],
        env: { PATH: process.env['PATH'] },
        cwd: process.cwd(),
        stdout: () => {},
        stderr: (t) => process.stderr.write(t),
      });
    }
    await sleep(1000);
  }
  fail(`timed out waiting for ${what}; the stack's log shows why`);
}

/** The first email of one of these alert kinds received since `since`, naming the customer when one is given. */
async function emailAbout(kinds: string[], customerId: string | null, since: number): Promise<SinkMessage | undefined> {
  return (await emails()).find(
    (m) =>
      Date.parse(m.receivedAt) >= since &&
      m.categories.some((c) => kinds.includes(c.replace(/^alert-/, ''))) &&
      (customerId === null || `${m.text ?? ''}${m.html ?? ''}`.includes(customerId)),
  );
}

try {
  const run = Date.now().toString(36);
  const done = `demo-${run}-completes`;
  const stale = `demo-${run}-stale`;
  const drift = `demo-${run}-drift`;
  const since = Date.now() - 1000;
  // Not a reset: that would forget operations earlier deletions are still being checked against.
  await sandbox('config', { ...SANDBOX_HTTP_CONFIG, drift: null });

  step(`1. ${done} withdraws consent; the vendor sandbox completes deletions in about six seconds`);
  await cli('revoke', done);
  await until('the first deletion to complete', 45_000, async () => (await stateOf(done))?.state === 'completed', done);
  note(`completed at the vendor, operation ${(await stateOf(done))?.operationId}`);
  await cli('status', '--customer', done);

  step(`2. ${stale} withdraws consent, but the vendor never finishes this one (stale after 45 s on the local stack)`);
  await sandbox('config', { lifecycle: { inProgressAfterMs: 3_600_000, completeAfterMs: 7_200_000 } });
  await cli('revoke', stale);
  await until('the stale deletion to be submitted', 30_000, async () => ['submitted', 'in_progress'].includes((await stateOf(stale))?.state ?? ''), stale);
  const staleSubmittedAt = Date.now();
  // Operations the sandbox creates from now on complete normally again; this one keeps its timetable.
  await sandbox('config', SANDBOX_HTTP_CONFIG);
  note(`submitted as operation ${(await stateOf(stale))?.operationId}; it will stay pending`);

  step(`3. ${drift} withdraws consent, then the vendor changes its API: status answers carry an undocumented word`);
  await cli('revoke', drift);
  await until('the third deletion to be submitted', 30_000, async () => ['submitted', 'in_progress'].includes((await stateOf(drift))?.state ?? ''), drift);
  const driftFrom = Date.now();
  await sandbox('config', { drift: 'unknown_status' });
  await cli('poll', '--customer', drift, '--reason', 'demo: contract drift');
  // One email per vendor incident: it names the vendor and the sample, whichever operation showed it first.
  await until('the contract-violation email', 45_000, async () => (await emailAbout(['contract_violation'], null, driftFrom)) !== undefined, drift);
  const driftMail = (await emailAbout(['contract_violation'], null, driftFrom))!;
  note(`emailed: "${driftMail.subject}" (file ${driftMail.file ?? 'kept in memory'})`);
  await sandbox('config', { drift: null });
  note('the vendor answers as documented again; polling recovers by itself');

  step(`4. waiting for ${stale} to go stale and the alert email (about ${Math.max(0, Math.round((staleSubmittedAt + 47_000 - Date.now()) / 1000))} s)`);
  await until('the stale email', 90_000, async () => (await emailAbout(['stale', 'no_progress'], stale, since)) !== undefined);
  const staleMail = (await emailAbout(['stale', 'no_progress'], stale, since))!;
  note(`emailed: "${staleMail.subject}" (file ${staleMail.file ?? 'kept in memory'})`);

  step('5. where everything stands');
  for (const c of [done, stale, drift]) await cli('status', '--customer', c);

  step('6. the evidence report for today (CSV; --format json for more detail)');
  await cli('report', '--since', new Date(since).toISOString());
  process.stdout.write(`\ndemo finished in ${elapsed().trim()}; every email is in ${stack.mailSinkUrl}/messages and .consent-erasure/outbox/\n`);
} finally {
  await close();
}
