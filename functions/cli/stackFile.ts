import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../events/pubsub.js';

/** Where `npm start` writes its readiness file, relative to the project root. */
export const STACK_DIR = '.consent-erasure';
export const STACK_FILE = 'stack.json';
/** Beside the stack file, mode 0600: the credentials the stack's functions were started with. */
export const SECRETS_FILE = 'secrets.json';

/** Variables that hold credentials: they go in secrets.json, never in stack.json. */
export function isSecretVariable(name: string): boolean {
  return /KEY|SECRET|TOKEN|PASSWORD/.test(name);
}

/** The local stack's credentials file. */
export const StackSecretsSchema = z.object({ env: z.record(z.string(), z.string()) });
export type StackSecrets = z.infer<typeof StackSecretsSchema>;

/**
 * The credentials a stack wrote beside its stack file (`secrets.json`), or none when there is no such file
 * (a stack from before it existed). Throws naming the file when it is there but not readable as one.
 */
export function readStackSecrets(stackPath: string): Record<string, string> {
  const path = join(dirname(stackPath), SECRETS_FILE);
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not readable JSON (${(err as Error).message}); restart the stack with npm start`);
  }
  const parsed = StackSecretsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a stack secrets file: ${formatIssues(parsed.error)}`);
  return parsed.data.env;
}

/** The local stack's readiness file: every address a client needs, written when the stack is ready. */
export const StackFileSchema = z.object({
  projectId: z.string().min(1),
  databaseUrl: z.string().min(1),
  firestoreEmulatorHost: z.string().min(1),
  pubsubEmulatorHost: z.string().min(1),
  vendorSandboxUrl: z.string().min(1),
  mailSinkUrl: z.string().min(1),
  functions: z.object({
    onCustomerWritten: z.string().min(1),
    pollDeletions: z.string().min(1),
    sendAlert: z.string().min(1),
    /** The callback receiver (HTTP): the URL the local vendors post signed status callbacks to. */
    receiveDeletionCallback: z.string().min(1).optional(),
  }),
  /** The settings the stack handed its functions (no credentials: those are in secrets.json), so the CLI sees the same configuration. */
  env: z.record(z.string(), z.string()).default({}),
  /** The `npm start` process; a file whose process is gone is left over from a crash. */
  pid: z.number().int().positive().optional(),
  startedAt: z.string().optional(),
});
export type StackFile = z.infer<typeof StackFileSchema>;

/** Finds `.consent-erasure/stack.json` in `cwd` or the nearest folder above it. */
export function findStackFile(cwd: string): string | undefined {
  let dir = cwd;
  for (;;) {
    const candidate = join(dir, STACK_DIR, STACK_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Reads and validates a stack file; throws naming the file and what was wrong. */
export function readStackFile(path: string): StackFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not readable JSON (${(err as Error).message}); restart the stack with npm start`);
  }
  const parsed = StackFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a stack file: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** True when the process that wrote the stack file is still running. */
export function stackIsAlive(stack: StackFile): boolean {
  if (stack.pid === undefined) return true;
  try {
    process.kill(stack.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
