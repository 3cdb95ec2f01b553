import type { Firestore } from '@google-cloud/firestore';
import type { Command } from 'commander';
import type { Env, LoadConfigOptions } from '../config.js';
import { systemClock, type Clock } from '../clock.js';
import { createLogger, type Log } from '../log.js';
import { createPool, type Pool } from '../store/pool.js';
import { createPubsubPublisher, type Publisher } from '../services/publisher.js';
import { createFirestore } from './firestoreAdmin.js';
import { resolveSettings, type CliSettings } from './settings.js';
import { loadOptionsOf, type CommandNeeds } from './needs.js';

/** What the CLI reads and writes: injected, so tests run it in-process. */
export interface CliIo {
  argv: string[];
  env: Env;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock?: Clock;
}

/** Bad arguments: the message names what was wrong; the CLI exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command ran and found a failure (e.g. a broken event log): the message goes to stderr, the CLI exits `exitCode`. */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Lazily opened connections and settings, shared by the commands of one invocation and closed at its end. */
export interface CliContext {
  readonly io: CliIo;
  readonly clock: Clock;
  readonly log: Log;
  /** Writes one line (or several) to stdout. */
  out(text: string): void;
  /**
   * The validated settings; `options` apply to the first call of an invocation (a command reads them once), on
   * top of what the running command declared it needs (`needs`).
   */
  settings(options?: LoadConfigOptions): CliSettings;
  /** Declares what `command` uses, so that only that is required of the configuration (needs.ts). */
  needs(command: Command, needs: CommandNeeds): void;
  /** The command about to run (commander's preAction hook): its declared needs apply from here on. */
  use(command: Command): void;
  pool(): Promise<Pool>;
  firestore(): Firestore;
  publisher(): Publisher;
  close(): Promise<void>;
}

/** One `consent-erasure` command; each lives in its own file under commands/ and default-exports one of these. */
export interface CliCommand {
  /** Position in the help listing (lower first). */
  order: number;
  register(program: Command, ctx: CliContext): void;
}

/** Declares a command module (the identity function, for the type). */
export function defineCommand(command: CliCommand): CliCommand {
  return command;
}

/** Builds the context; `stackPath()` reads the global --stack option once the arguments are parsed. */
export function createCliContext(io: CliIo, stackPath: () => string | undefined): CliContext {
  const clock = io.clock ?? systemClock;
  // Progress goes to stderr so stdout stays clean for --json and CSV; quiet unless LOG_LEVEL says otherwise.
  const log = createLogger({ level: io.env['LOG_LEVEL'] || 'warn', service: 'consent-erasure-cli' }, {
    write: (line: string) => io.stderr(line),
  });
  let settings: CliSettings | undefined;
  const declared = new WeakMap<Command, CommandNeeds>();
  let running: LoadConfigOptions = {};
  let pool: Promise<{ pool: Pool; close: () => Promise<void> }> | undefined;
  let firestore: Firestore | undefined;
  let publisher: Publisher | undefined;
  const ctx: CliContext = {
    io,
    clock,
    log,
    out: (text) => io.stdout(text.endsWith('\n') ? text : `${text}\n`),
    settings(options) {
      settings ??= resolveSettings(io.env, io.cwd, stackPath(), { ...running, ...options });
      return settings;
    },
    needs(command, needs) {
      declared.set(command, needs);
    },
    use(command) {
      const needs = declared.get(command);
      running = needs ? loadOptionsOf(needs) : {};
    },
    async pool() {
      pool ??= createPool(ctx.settings().config.database);
      return (await pool).pool;
    },
    firestore() {
      const s = ctx.settings();
      firestore ??= createFirestore({ projectId: s.config.projectId, emulatorHost: s.firestoreEmulatorHost });
      return firestore;
    },
    publisher() {
      const s = ctx.settings();
      publisher ??= createPubsubPublisher({
        ...(s.config.projectId ? { projectId: s.config.projectId } : {}),
        ...(s.pubsubEmulatorHost ? { apiEndpoint: s.pubsubEmulatorHost } : {}),
      });
      return publisher;
    },
    async close() {
      const closing: Promise<unknown>[] = [];
      if (pool) closing.push(pool.then((p) => p.close()));
      if (firestore) closing.push(firestore.terminate());
      if (publisher) closing.push(publisher.close());
      await Promise.allSettled(closing);
    },
  };
  return ctx;
}
