import { loadConfig, type Config, type Env, type LoadConfigOptions } from '../config.js';
import { findStackFile, readStackFile, readStackSecrets, stackIsAlive } from './stackFile.js';

/** Everything a command needs to reach the system: the validated configuration plus emulator addresses. */
export interface CliSettings {
  config: Config;
  /** host:port of the Firestore emulator, when talking to one. */
  firestoreEmulatorHost: string | undefined;
  /** host:port of the Pub/Sub emulator, when talking to one. */
  pubsubEmulatorHost: string | undefined;
  /** Where the settings came from, for messages: a stack file path or "environment". */
  origin: string;
}

/** Variables whose presence means the operator chose a target explicitly, so a local stack file is ignored. */
const EXPLICIT = ['DATABASE_URL', 'CLOUD_SQL_INSTANCE', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT'];

/**
 * Resolves the settings: the local stack's `.consent-erasure/stack.json` (found from `cwd` upwards, or named by
 * `stackPath`) with the credentials in `secrets.json` beside it, when the environment names no target of its
 * own, else the environment through loadConfig. `options` say what the command uses (needs.ts).
 */
export function resolveSettings(env: Env, cwd: string, stackPath?: string, options: LoadConfigOptions = {}): CliSettings {
  const explicit = EXPLICIT.some((k) => (env[k] ?? '').trim() !== '');
  const path = stackPath ?? (explicit ? undefined : findStackFile(cwd));
  if (path) {
    const stack = readStackFile(path);
    if (!stackIsAlive(stack)) {
      throw new Error(
        `${path} was written by a local stack that is no longer running (pid ${stack.pid}); start it again with npm start`,
      );
    }
    const merged: Env = {
      ...stack.env,
      ...readStackSecrets(path),
      ...env,
      DATABASE_URL: stack.databaseUrl,
      GOOGLE_CLOUD_PROJECT: stack.projectId,
    };
    return {
      config: loadConfig(merged, options),
      firestoreEmulatorHost: stack.firestoreEmulatorHost,
      pubsubEmulatorHost: stack.pubsubEmulatorHost,
      origin: path,
    };
  }
  return {
    config: loadConfig(env, options),
    firestoreEmulatorHost: nonEmpty(env['FIRESTORE_EMULATOR_HOST']),
    pubsubEmulatorHost: nonEmpty(env['PUBSUB_EMULATOR_HOST']),
    origin: 'environment',
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() !== '' ? v.trim() : undefined;
}
