import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';

/** A started emulator: its host:port and how to stop it (the whole process group, JVM included). */
export interface RunningEmulator {
  host: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class EmulatorUnavailableError extends Error {}

const SDK_HINTS = ['/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk'];

/** Finds the Google Cloud SDK root, or explains what to install. */
export function findSdkRoot(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env['CLOUDSDK_ROOT_DIR'];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const hint of SDK_HINTS) if (existsSync(join(hint, 'platform'))) return hint;
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8' }).trim();
    if (root && existsSync(root)) return root;
  } catch {
    // fall through to the explanation
  }
  throw new EmulatorUnavailableError(
    'The Google Cloud SDK was not found. Install it (https://cloud.google.com/sdk/docs/install) with the emulators: ' +
      '`gcloud components install cloud-firestore-emulator pubsub-emulator beta` (or Debian packages ' +
      'google-cloud-cli-firestore-emulator and google-cloud-cli-pubsub-emulator), and Java 11+.',
  );
}

function requireFile(path: string, component: string): string {
  if (!existsSync(path)) {
    throw new EmulatorUnavailableError(
      `${path} is missing: install the ${component} component (\`gcloud components install ${component}\`).`,
    );
  }
  return path;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves when `GET http://host/` answers 200, or rejects after `timeoutMs` or if the process exits. */
export async function waitForHttpOk(host: string, child: ChildProcess | undefined, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child?.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new EmulatorUnavailableError(`${what} exited before it was ready`);
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new EmulatorUnavailableError(`${what} did not become ready on ${host} within ${timeoutMs} ms`);
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

function launch(cmd: string, args: string[], logTo?: (line: string) => void): ChildProcess {
  // detached: own process group, so stop() also reaches the JVM a wrapper script forked.
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (buf: Buffer) => {
    if (logTo) for (const line of buf.toString().split('\n')) if (line.trim()) logTo(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return child;
}

/**
 * Starts Google's Firestore emulator. With `functionsEmulator` (host:port) it delivers Eventarc-style
 * trigger events there, as Google's own tooling does (it must be started through the SDK's script for that).
 */
export async function startFirestoreEmulator(options: {
  port?: number;
  projectId: string;
  functionsEmulator?: string;
  log?: (line: string) => void;
  timeoutMs?: number;
}): Promise<RunningEmulator> {
  const sdk = findSdkRoot();
  const script = requireFile(join(sdk, 'platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator'), 'cloud-firestore-emulator');
  const port = options.port ?? (await freePort());
  const args = ['--host', '127.0.0.1', '--port', String(port), '--project_id', options.projectId];
  if (options.functionsEmulator) args.push('--functions_emulator', options.functionsEmulator);
  const child = launch(script, args, options.log);
  const host = `127.0.0.1:${port}`;
  try {
    await waitForHttpOk(host, child, options.timeoutMs ?? 30_000, 'Firestore emulator');
  } catch (err) {
    await stopGroup(child);
    throw err;
  }
  return { host, process: child, stop: () => stopGroup(child) };
}

/** Starts Google's Pub/Sub emulator (the jar, directly, so its PID is the JVM). */
export async function startPubsubEmulator(options: {
  port?: number;
  log?: (line: string) => void;
  timeoutMs?: number;
}): Promise<RunningEmulator> {
  const sdk = findSdkRoot();
  const bin = requireFile(join(sdk, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator'), 'pubsub-emulator');
  const port = options.port ?? (await freePort());
  const child = launch(bin, ['--host=127.0.0.1', `--port=${port}`], options.log);
  const host = `127.0.0.1:${port}`;
  try {
    await waitForHttpOk(host, child, options.timeoutMs ?? 30_000, 'Pub/Sub emulator');
  } catch (err) {
    await stopGroup(child);
    throw err;
  }
  return { host, process: child, stop: () => stopGroup(child) };
}

/**
 * Registers an Eventarc-style Firestore trigger with the emulator (per project; must be redone after every
 * emulator start). Events for matching documents are POSTed to the functions emulator address given at start,
 * at /functions/projects/{projectId}/triggers/{triggerId}.
 */
export async function registerFirestoreTrigger(options: {
  firestoreHost: string;
  projectId: string;
  triggerId: string;
  documentPattern: string;
  eventType?: string;
}): Promise<void> {
  const url = `http://${options.firestoreHost}/emulator/v1/projects/${options.projectId}/eventarcTrigger?eventarcTriggerId=${encodeURIComponent(options.triggerId)}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      eventType: options.eventType ?? 'google.cloud.firestore.document.v1.written',
      database: '(default)',
      namespace: '(default)',
      document: { value: options.documentPattern, matchType: 'PATH_PATTERN' },
    }),
  });
  if (!res.ok) throw new Error(`registering the Firestore trigger failed: ${res.status} ${await res.text()}`);
}
