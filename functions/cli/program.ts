import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, type CommanderError } from 'commander';
import { ConfigError } from '../errors.js';
import { createCliContext, UsageError, type CliCommand, type CliIo } from './context.js';

/** Exit codes: 0 done, 1 failed (a fault in the database, Firestore, Pub/Sub or the configuration), 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Loads every command module in commands/ (one file per command, default export from defineCommand), so adding
 * a command is adding one file.
 */
export async function loadCommands(): Promise<CliCommand[]> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'));
  const modules = await Promise.all(
    files.map(async (f) => (await import(pathToFileURL(join(dir, f)).href)) as { default?: CliCommand }),
  );
  return modules
    .map((m) => m.default)
    .filter((c): c is CliCommand => c !== undefined && typeof c.register === 'function')
    .sort((a, b) => a.order - b.order);
}

/** Runs the `consent-erasure` command line with injected argv (user arguments only), environment and output. */
export async function runCli(io: CliIo): Promise<number> {
  const program = new Command('consent-erasure');
  const ctx = createCliContext(io, () => program.opts<{ stack?: string }>().stack);
  program
    .description(
      'Operate consent-erasure: follow customers\' analytics-data deletions at every vendor, force polls, retry, ' +
        'reconcile and export evidence.\nSettings come from .consent-erasure/stack.json (written by npm start) when ' +
        'present and no DATABASE_URL / CLOUD_SQL_INSTANCE / GOOGLE_CLOUD_PROJECT is set, else from the environment.',
    )
    .option('--stack <file>', 'use this local stack file instead of looking for .consent-erasure/stack.json')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    // Each command declares what it uses (needs.ts): the configuration is checked for that only.
    .hook('preAction', (_program, command) => ctx.use(command));
  for (const command of await loadCommands()) command.register(program, ctx);

  try {
    await program.parseAsync(io.argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    // Matched by name and code, not instanceof: a command module may be loaded through another module
    // system than this file (tsx under mocha), which duplicates the classes.
    if (isCommanderError(err)) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (isNamed(err, UsageError.name)) {
      io.stderr(`error: ${(err as Error).message}\n(run with --help for usage)\n`);
      return EXIT.usage;
    }
    if (isNamed(err, 'CommandFailedError')) {
      io.stderr(`${(err as Error).message}\n`);
      return (err as { exitCode: number }).exitCode;
    }
    if (isNamed(err, ConfigError.name)) {
      io.stderr(`consent-erasure: ${(err as Error).message}\n`);
      return EXIT.failed;
    }
    io.stderr(`consent-erasure: ${describe(err)}\n`);
    return EXIT.failed;
  } finally {
    await ctx.close();
  }
}

/** The error message with its causes, which name the underlying fault (refused connection, SQLSTATE…). */
function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.filter(Boolean).join(': ');
}

function isNamed(err: unknown, name: string): boolean {
  return err instanceof Error && err.name === name;
}

function isCommanderError(err: unknown): err is CommanderError {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('commander.') && typeof (err as CommanderError).exitCode === 'number';
}
