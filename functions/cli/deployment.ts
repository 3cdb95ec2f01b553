import { FUNCTION_CREDENTIALS, loadConfig, type CredentialGroup, type Env } from '../config.js';
import { ConfigError } from '../errors.js';
import { VENDOR_KINDS, isVendorKind, type VendorKind } from '../vendors/DeletionVendor.js';
import { SECRET_SETTINGS } from '../vendors/settings.js';

/**
 * The build's preflight (cloudbuild.yaml): the exact `--set-env-vars` and `--set-secrets` strings each
 * `gcloud functions deploy` step passes, validated by the functions' own loadConfig before anything is migrated
 * or deployed. Secret values live in Secret Manager and are not read here: a mounted secret counts as present.
 */

/** One function's deployment as the deploy step describes it. */
export interface FunctionDeployment {
  /** The entry point (FUNCTION_TARGET on the platform). */
  name: string;
  env: Record<string, string>;
  /** Variable → `secret:version`. */
  secrets: Record<string, string>;
}

/** gcloud's list syntax: `^D^a D b` uses D as the delimiter, else a comma. Empty items are dropped, as gcloud does. */
export function gcloudList(value: string): string[] {
  const custom = /^\^([^^]+)\^/.exec(value);
  const delimiter = custom ? custom[1]! : ',';
  const body = custom ? value.slice(custom[0].length) : value;
  return body.split(delimiter).filter((item) => item !== '');
}

function pairs(value: string, what: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of gcloudList(value)) {
    const at = item.indexOf('=');
    if (at <= 0) {
      problems.push(`${what}: "${item}" is not NAME=VALUE`);
      continue;
    }
    const key = item.slice(0, at);
    if (key in out) problems.push(`${what}: ${key} is set twice`);
    out[key] = item.slice(at + 1);
  }
  return out;
}

/**
 * Reads `--function=NAME` followed by that function's `--set-env-vars=…` and `--set-secrets=…`, repeated.
 * Throws ConfigError naming every malformed argument.
 */
export function parseDeployments(args: readonly string[]): FunctionDeployment[] {
  const problems: string[] = [];
  const out: FunctionDeployment[] = [];
  for (const arg of args) {
    const m = /^--(function|set-env-vars|set-secrets)=(.*)$/s.exec(arg);
    if (!m) {
      problems.push(`unexpected argument "${arg.slice(0, 80)}" (expected --function=, --set-env-vars= or --set-secrets=)`);
      continue;
    }
    const [, flag, value] = m as unknown as [string, string, string];
    if (flag === 'function') {
      out.push({ name: value, env: {}, secrets: {} });
      continue;
    }
    const current = out.at(-1);
    if (!current) {
      problems.push(`--${flag} before any --function`);
      continue;
    }
    const what = `${current.name} --${flag}`;
    if (flag === 'set-env-vars') Object.assign(current.env, pairs(value, what, problems));
    else {
      const secrets = pairs(value, what, problems);
      for (const [variable, ref] of Object.entries(secrets))
        if (!/^[a-zA-Z0-9_-]{1,255}:(latest|[1-9][0-9]*)$/.test(ref)) problems.push(`${what}: ${variable}=${ref} is not SECRET:VERSION`);
      Object.assign(current.secrets, secrets);
    }
  }
  if (out.length === 0) problems.push('no --function given');
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/** The variables that hold a credential group's secrets, for the enabled vendors. */
export function credentialVariables(group: CredentialGroup, vendors: readonly VendorKind[]): string[] {
  switch (group) {
    case 'sendgrid':
      return ['SENDGRID_API_KEY'];
    case 'retention':
      return ['RETENTION_KEY'];
    case 'vendors':
      return vendors.flatMap((v) => SECRET_SETTINGS[v].map((s) => `VENDOR_${v.toUpperCase()}_${s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`));
  }
}

/** Every variable that holds a credential of any vendor adapter, SendGrid or retention. */
export function allCredentialVariables(): string[] {
  return (['vendors', 'sendgrid', 'retention'] as const).flatMap((g) => credentialVariables(g, VENDOR_KINDS));
}

export interface DeploymentCheck {
  name: string;
  vendors: string[];
  mounted: string[];
}

/**
 * Validates each function's environment as loadConfig will see it at cold start (FUNCTION_TARGET set as the
 * platform sets it), with its mounted secrets present but unread; refuses a credential passed as a plain
 * variable and a secret mounted on a function that does not read it. Throws ConfigError listing every
 * problem of every function.
 */
export function checkDeployments(deployments: readonly FunctionDeployment[]): DeploymentCheck[] {
  const problems: string[] = [];
  const results: DeploymentCheck[] = [];
  const credentials = new Set(allCredentialVariables());
  for (const d of deployments) {
    const groups = FUNCTION_CREDENTIALS[d.name];
    if (!groups) {
      problems.push(`${d.name}: not a function this code registers (known: ${Object.keys(FUNCTION_CREDENTIALS).join(', ')})`);
      continue;
    }
    for (const name of Object.keys(d.env))
      if (credentials.has(name)) problems.push(`${d.name}: ${name} is a credential; mount it from Secret Manager (--set-secrets), not --set-env-vars`);
    const vendors = (d.env['VENDORS'] ?? 'http').split(',').map((v) => v.trim()).filter(isVendorKind);
    const reads = new Set(groups.flatMap((g) => credentialVariables(g, vendors)));
    for (const name of Object.keys(d.secrets))
      if (!reads.has(name)) problems.push(`${d.name}: mounts ${name}, which it does not read (each function gets only its own secrets)`);
    const env: Env = { ...d.env, FUNCTION_TARGET: d.name };
    try {
      const config = loadConfig(env, { mountedSecrets: Object.keys(d.secrets) });
      results.push({ name: d.name, vendors: config.vendors.map((v) => v.name), mounted: Object.keys(d.secrets) });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems.map((p) => `${d.name}: ${p}`));
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return results;
}
