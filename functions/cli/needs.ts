import type { CredentialGroup, LoadConfigOptions } from '../config.js';

/**
 * What a command uses, so that loading the configuration checks only that: a read-only command runs in a shell
 * that set no vendor credential. A command that declares nothing is given (and checked for) everything.
 */
export interface CommandNeeds {
  /** Reads the vendors' settings (and, with `credentials` naming 'vendors', their secrets). */
  vendors: boolean;
  /** The credentials the command must hold (the retention key is read where set, to find pseudonymised ids). */
  credentials: readonly CredentialGroup[];
  /** What it talks to, for the help text and the README. */
  parts: ReadonlyArray<'database' | 'pubsub' | 'firestore' | 'vendors'>;
}

export const NEEDS = {
  /** status, report, timeline, verify-log, retry, vendors resume. */
  database: { vendors: false, credentials: ['retention'], parts: ['database'] },
  /** poll: publishes to the poll topic. */
  pubsub: { vendors: false, credentials: [], parts: ['pubsub'] },
  /** revoke, grant: write the consent field. */
  firestore: { vendors: false, credentials: [], parts: ['firestore'] },
  /** Everything: commands that call vendors or build them (vendors check, reconcile). */
  everything: { vendors: true, credentials: ['vendors', 'sendgrid', 'retention'], parts: ['database', 'pubsub', 'firestore', 'vendors'] },
} as const satisfies Record<string, CommandNeeds>;

/** The configuration loader's options for a command's needs. */
export function loadOptionsOf(needs: CommandNeeds): LoadConfigOptions {
  return { uses: { vendors: needs.vendors, credentials: needs.credentials } };
}
