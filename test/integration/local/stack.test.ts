import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackFileSchema, type StackFile } from '../../../functions/cli/stackFile.js';
import { checkPrerequisites } from '../../../local/stack.js';
import { cli } from '../cli/helpers.js';
import { eventually } from '../../helpers/eventually.js';
import { isLoopback, listeningSockets, processTree, socketInodes } from '../../helpers/listeningSockets.js';
import { createPubsubAdmin } from '../../../local/pubsubAdmin.js';
import { recordAlert } from '../../../functions/store/recordAlert.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START = join(ROOT, 'local', 'start.ts');

function listening(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.replace(/^https?:\/\//, '').split(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host: host!, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm start` as a user runs it (the same entry file), with its state in a temporary folder. */
describe('npm start: the local stack (real emulators, embedded PostgreSQL, Functions Framework)', function () {
  this.timeout(120_000);
  let dir: string;
  let stateDir: string;
  const running: ChildProcess[] = [];
  let output = '';

  function start(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', START, '--state-dir', stateDir], {
      cwd: ROOT,
      // its own process group, so the signals below reach it alone and not the test runner
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOCAL_POLL_INTERVAL_SECONDS: '2' },
    });
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    running.push(child);
    return child;
  }
  const stackPath = () => join(stateDir, 'stack.json');
  /** The readiness file written by `child`; fails at once if the stack exits first. */
  const ready = (child: ChildProcess) =>
    eventually(
      'stack.json',
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before it was ready`);
        if (!existsSync(stackPath())) return undefined;
        const info = StackFileSchema.parse(JSON.parse(readFileSync(stackPath(), 'utf8')));
        return info.pid === child.pid ? info : undefined;
      },
      60_000,
      250,
    );
  const childPids = (): number[] =>
    (JSON.parse(readFileSync(join(stateDir, 'stack.pid'), 'utf8')) as { children: Array<{ pid: number }> }).children.map((c) => c.pid);
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
    });
  const addresses = (info: StackFile) => [
    info.firestoreEmulatorHost,
    info.pubsubEmulatorHost,
    info.vendorSandboxUrl,
    info.mailSinkUrl,
    ...Object.values(info.functions),
    new URL(info.databaseUrl).host,
  ];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ce-stack-'));
    // As a clone would be: readable by others, so an embedded PostgreSQL running as its own user reaches its folder.
    chmodSync(dir, 0o755);
    stateDir = join(dir, '.consent-erasure');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- stack output ---\n${output}\n`);
    output = '';
  });
  after(async () => {
    // Whatever a failed test left running: its process group (detached) and the processes it recorded.
    for (const child of running) {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (existsSync(join(stateDir, 'stack.pid'))) {
      for (const pid of childPids()) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone, or not a group leader
        }
      }
    }
    const pg = join(stateDir, 'pg', 'postmaster.pid');
    if (existsSync(pg)) {
      const pid = Number(readFileSync(pg, 'utf8').split('\n')[0]);
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGTERM');
      await eventually('PostgreSQL to stop', () => !alive(pid), 10_000, 250).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('becomes ready, carries a revocation to a completed deletion, and stops everything on SIGINT', async () => {
    const child = start();
    const info = await ready(child);
    assert.equal(info.projectId, 'demo-consent-erasure');
    assert.equal(info.pid, child.pid);
    assert.match(output, /ready in [\d.]+ s/);
    for (const address of addresses(info)) assert.ok(await listening(address), `${address} listens`);
    const messages = await fetch(`${info.mailSinkUrl}/messages`);
    assert.deepEqual(await messages.json(), []);
    const pids = childPids();
    assert.ok(pids.length >= 5, 'PostgreSQL, two emulators and three functions are recorded');

    // The "done when": revoke, poll, and the status shows the deletion completed at the sandbox's id.
    assert.equal((await cli(['revoke', 'c-1'], { PATH: process.env['PATH'] }, dir)).code, 0);
    const done = await eventually(
      'the deletion to complete',
      async () => {
        await cli(['poll', '--customer', 'c-1'], { PATH: process.env['PATH'] }, dir);
        const run = await cli(['status', '--customer', 'c-1', '--json'], { PATH: process.env['PATH'] }, dir);
        const rows = JSON.parse(run.stdout || '[]') as Array<{ state: string; operationId: string | null }>;
        return rows[0]?.state === 'completed' ? rows[0] : undefined;
      },
      40_000,
      250,
    );
    const calls = (await (await fetch(`${info.vendorSandboxUrl}/_sandbox/http/calls`)).json()) as { calls: Array<{ method: string; path: string }> };
    assert.equal(calls.calls.filter((c) => c.method === 'POST').length, 1, 'one deletion call to the vendor');
    assert.match(done.operationId ?? '', /\S/);

    // What `ss -ltn` shows, read from /proc/net/tcp and tcp6: every port the stack's processes listen on is loopback.
    const inodes = socketInodes(processTree(child.pid!));
    const listened = listeningSockets().filter((s) => inodes.has(s.inode));
    assert.ok(listened.length >= 9, `PostgreSQL, two emulators, sandbox, mail sink, relay and three functions listen (${JSON.stringify(listened)})`);
    for (const address of addresses(info)) {
      const port = Number(address.split(':').pop());
      assert.ok(listened.some((s) => s.port === port), `port ${port} (${address}) is among the stack's listening sockets`);
    }
    assert.deepEqual(listened.filter((s) => !isLoopback(s.address)), [], 'no port of the stack on a non-loopback address');

    // A message published by hand to deletion-alerts with made-up text sends nothing and records nothing; a real
    // alert (written as the poller writes one, published twice) arrives once.
    const admin = createPubsubAdmin({ host: info.pubsubEmulatorHost, projectId: info.projectId });
    const forgedId = randomUUID();
    const madeUp = 'Made-up text: transfer the budget to account 0000';
    await admin.publish('deletion-alerts', [
      { data: { alertId: forgedId } },
      { data: { alertId: randomUUID(), kind: 'failed', vendor: 'http', summary: madeUp, items: [], totalItems: 0 } },
    ]);
    const db = new pg.Client({ connectionString: info.databaseUrl });
    await db.connect();
    try {
      const deletion = (await db.query<{ id: string }>("select id::text as id from vendor_deletion where customer_id = 'c-1'")).rows[0]!.id;
      const realId = randomUUID();
      await recordAlert(db, {
        id: realId,
        kind: 'stale',
        vendor: 'http',
        incidentKey: 'stale:http',
        escalation: 0,
        since: new Date(Date.now() - 60_000),
        raisedAt: new Date(),
        summary: '1 deletion(s) at http are past their expected completion time',
        totalItems: 1,
        incidentOpenedAt: null,
        items: [{ deletionId: deletion, since: new Date(Date.now() - 60_000) }],
      });
      await admin.publish('deletion-alerts', [{ data: { alertId: realId } }, { data: { alertId: realId } }]);
      type Email = { subject: string; text?: string; html?: string; customArgs: Record<string, string> };
      const emails = async () => (await (await fetch(`${info.mailSinkUrl}/messages`)).json()) as Email[];
      await eventually('the real alert email', async () => ((await emails()).some((e) => e.customArgs['alertId'] === realId) ? true : undefined), 30_000, 250);
      await eventually('the forged id to be refused', () => (output.includes(forgedId) && /no alert has this id/.test(output) ? true : undefined), 30_000, 250);
      await eventually('the second copy of the real alert to be handled', () => (output.match(/alert already handled/g)?.length ? true : undefined), 30_000, 250);
      const all = await emails();
      assert.equal(all.filter((e) => e.customArgs['alertId'] === realId).length, 1, 'the real alert arrives once');
      assert.equal(all.filter((e) => `${e.subject}${e.text ?? ''}${e.html ?? ''}`.includes(madeUp)).length, 0, 'no email carries the made-up text');
      assert.equal(all.filter((e) => e.customArgs['alertId'] !== realId).length, 0, 'nothing else was sent');
      const sentEvents = await db.query<{ alert_id: string }>("select detail->>'alertId' as alert_id from deletion_event where kind = 'alert_sent'");
      assert.deepEqual(sentEvents.rows.map((r) => r.alert_id), [realId], 'alert_sent for the real alert only');
    } finally {
      await db.end();
    }

    // Ctrl-C: the terminal signals the whole foreground process group (the embedded PostgreSQL is in it too).
    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited(child), 0);
    assert.ok(!existsSync(stackPath()), 'the readiness file is removed');
    for (const address of addresses(info)) assert.equal(await listening(address), false, `${address} is freed`);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} has stopped`);
  });

  it('starts again after a crash, stopping what the crashed stack left behind', async () => {
    const first = start();
    const before = await ready(first);
    const orphans = childPids();
    process.kill(first.pid!, 'SIGKILL');
    await exited(first);
    assert.ok(existsSync(stackPath()), 'a crash leaves the readiness file behind');
    const stale = await cli(['status'], { PATH: process.env['PATH'] }, dir);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /no longer running/);

    const second = start();
    const after = await ready(second);
    for (const pid of orphans) assert.equal(alive(pid), false, `leftover pid ${pid} was stopped`);
    assert.notEqual(after.startedAt, before.startedAt);
    // The data of the crashed stack's database survived: the embedded server reopened it.
    const status = await cli(['status', '--customer', 'c-1', '--json'], { PATH: process.env['PATH'] }, dir);
    assert.equal(JSON.parse(status.stdout)[0].state, 'completed');

    process.kill(second.pid!, 'SIGTERM');
    assert.equal(await exited(second), 0);
    for (const address of addresses(after)) assert.equal(await listening(address), false, `${address} is freed`);
  });

  it('stops at once naming what to install when Java is missing', () => {
    assert.throws(
      () => checkPrerequisites({ PATH: join(dir, 'no-java-here') }),
      /Java was not found: .*Java 11 or newer.*apt-get install -y openjdk-17-jre-headless/,
    );
  });

  it('refuses to start beside a running stack', async () => {
    const first = start();
    await ready(first);
    const second = start();
    assert.equal(await exited(second), 1);
    assert.match(output, /a local stack is already running \(pid \d+\)/);
    process.kill(first.pid!, 'SIGINT');
    assert.equal(await exited(first), 0);
  });
});
