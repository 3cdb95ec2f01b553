/**
 * Which deployed function holds which credentials. config.ts requires of a process only its function's
 * (the platform names the function in FUNCTION_TARGET); cloudbuild.yaml mounts exactly these, and
 * `consent-erasure check-deployment` checks that it does.
 */

/** Credentials, by the part of the system that reads them. */
export type CredentialGroup = 'vendors' | 'sendgrid' | 'retention';
export const ALL_CREDENTIALS: readonly CredentialGroup[] = ['vendors', 'sendgrid', 'retention'];

/**
 * The credentials each deployed function reads. cloudbuild.yaml mounts exactly these (--set-secrets) and the
 * platform names the function in FUNCTION_TARGET, so a function is not refused for lacking another's secrets.
 * Any other process (the CLI, the local stack) may read all of them.
 */
export const FUNCTION_CREDENTIALS: Readonly<Record<string, readonly CredentialGroup[]>> = {
  onCustomerWritten: ['vendors'],
  pollDeletions: ['vendors', 'retention'],
  sendAlert: ['sendgrid'],
  // Authenticates callers by their signature: it holds no credential of ours.
  receiveDeletionCallback: [],
};

/**
 * The credentials this process must hold: its function's (FUNCTION_TARGET), or `elsewhere` in any other process
 * (all of them unless a CLI command says it uses fewer).
 */
export interface Credentials {
  /** The deployed function, when FUNCTION_CREDENTIALS names it. */
  target: string | undefined;
  reads: readonly CredentialGroup[];
  /** A credential variable whose absence is not an error here: mounted (value unseen), or not this function's. */
  unchecked(group: CredentialGroup, variable: string): boolean;
}

export function credentialsOf(target: string | undefined, mountedSecrets: readonly string[] = [], elsewhere: readonly CredentialGroup[] = ALL_CREDENTIALS): Credentials {
  const own = target !== undefined ? FUNCTION_CREDENTIALS[target] : undefined;
  const reads = own ?? elsewhere;
  const mounted = new Set(mountedSecrets);
  return { target: own ? target : undefined, reads, unchecked: (group, variable) => mounted.has(variable) || !reads.includes(group) };
}
