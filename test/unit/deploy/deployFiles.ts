import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import hcl from 'hcl2-parser';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';

/** The repository root, found from this file (test/unit/deploy → ../../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * What a user's `--substitutions` adds to the defaults in cloudbuild.yaml: the values the file deliberately
 * leaves empty (the preflight step refuses them empty), filled as an operator would.
 */
export const OPERATOR_SUBSTITUTIONS: Record<string, string> = {
  PROJECT_ID: 'acme-privacy',
  PROJECT_NUMBER: '123456789012',
  _ALERT_FROM: 'erasure@acme.example',
  _ALERT_TO: 'privacy-ops@acme.example,dpo@acme.example',
  _VENDOR_ENV: 'VENDOR_HTTP_BASE_URL=https://deletions.acme.example',
};

/** The entry points the composition root registers when functions/index.ts does not exist yet. */
export const PLANNED_ENTRY_POINTS: Record<string, 'cloudEvent'> = {
  onCustomerWritten: 'cloudEvent',
  pollDeletions: 'cloudEvent',
  sendAlert: 'cloudEvent',
};

const StepSchema = z.object({
  id: z.string(),
  name: z.string(),
  entrypoint: z.string().optional(),
  args: z.array(z.string()).default([]),
  env: z.array(z.string()).optional(),
  waitFor: z.array(z.string()).optional(),
});
const BuildSchema = z.object({
  substitutions: z.record(z.string(), z.string()),
  serviceAccount: z.string(),
  steps: z.array(StepSchema).min(1),
});
export type Step = z.infer<typeof StepSchema>;

/** One `gcloud functions deploy` step: its flags, repeated flags kept in order, with substitutions applied. */
export interface Deploy {
  stepId: string;
  name: string;
  flags: Map<string, string[]>;
  /** The one value of a flag; throws when it is missing or repeated. */
  one(flag: string): string;
  has(flag: string): boolean;
  env: Map<string, string>;
  /** ENV name → `secret:version`. */
  secrets: Map<string, string>;
}

/** Applies Cloud Build substitutions: `$$` is a literal dollar, `${X}` and `$X` are values. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, bare) => {
    if (match === '$$') return '$';
    const key = (braced ?? bare) as string;
    const value = values[key];
    if (value === undefined) throw new Error(`cloudbuild.yaml uses the substitution ${key}, which is not defined`);
    return value;
  });
}

/** gcloud's list syntax: `^D^a D b` uses D as the delimiter, else a comma. */
export function gcloudList(value: string): string[] {
  const custom = /^\^([^^]+)\^/.exec(value);
  const delimiter = custom ? custom[1]! : ',';
  const body = custom ? value.slice(custom[0].length) : value;
  return body.split(delimiter);
}

/** `K=V` items to a map; a key given twice is an error (gcloud keeps one silently). */
export function pairs(items: string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new Error(`${what}: "${item}" is not NAME=VALUE`);
    const key = item.slice(0, at);
    if (out.has(key)) throw new Error(`${what}: ${key} is set twice`);
    out.set(key, item.slice(at + 1));
  }
  return out;
}

/** cloudbuild.yaml, parsed and validated, with the substitution values an operator's build would use. */
export function loadCloudBuild(text = readFileSync(join(ROOT, 'cloudbuild.yaml'), 'utf8'), overrides = OPERATOR_SUBSTITUTIONS) {
  const build = BuildSchema.parse(loadYaml(text));
  const values: Record<string, string> = { ...build.substitutions };
  for (const [k, v] of Object.entries(overrides)) if (values[k] === undefined || values[k] === '') values[k] = v;
  values['PROJECT_ID'] = overrides['PROJECT_ID']!;
  values['PROJECT_NUMBER'] = overrides['PROJECT_NUMBER']!;

  const deploys: Deploy[] = build.steps
    .filter((s) => s.entrypoint === 'gcloud' && s.args[0] === 'functions' && s.args[1] === 'deploy')
    .map((s) => parseDeploy(s, values));
  return { build, values, deploys, step: (id: string) => build.steps.find((s) => s.id === id) };
}

function parseDeploy(step: Step, values: Record<string, string>): Deploy {
  const [, , name, ...rest] = step.args.map((a) => substitute(a, values));
  if (!name || name.startsWith('--')) throw new Error(`step ${step.id}: gcloud functions deploy without a function name`);
  const flags = new Map<string, string[]>();
  for (const arg of rest) {
    if (!arg.startsWith('--')) throw new Error(`step ${step.id}: unexpected argument "${arg}"`);
    const at = arg.indexOf('=');
    const flag = at < 0 ? arg : arg.slice(0, at);
    const value = at < 0 ? '' : arg.slice(at + 1);
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
  }
  const one = (flag: string) => {
    const v = flags.get(flag);
    if (!v || v.length !== 1) throw new Error(`${name}: expected exactly one ${flag}, found ${v?.length ?? 0}`);
    return v[0]!;
  };
  const envFlag = flags.get('--set-env-vars');
  const secretFlag = flags.get('--set-secrets');
  return {
    stepId: step.id,
    name,
    flags,
    one,
    has: (flag) => flags.has(flag),
    env: envFlag ? pairs(gcloudList(one('--set-env-vars')), `${name} --set-env-vars`) : new Map(),
    secrets: secretFlag ? pairs(gcloudList(one('--set-secrets')), `${name} --set-secrets`) : new Map(),
  };
}

type HclObject = Record<string, unknown>;

/** Every .tf file in infra/, parsed by an HCL2 parser; throws naming the file that does not parse. */
export function loadTerraform(dir = join(ROOT, 'infra')) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  const parsed: Record<string, HclObject> = {};
  for (const file of files) {
    const result = hcl.parseToObject(readFileSync(join(dir, file), 'utf8')) as [HclObject | null, unknown];
    if (!result[0] || typeof result[0] !== 'object') throw new Error(`infra/${file} does not parse as HCL2`);
    parsed[file] = result[0];
  }
  const blocks = (kind: string) => Object.values(parsed).flatMap((p) => (p[kind] ? [p[kind] as HclObject] : []));
  const resources = (type: string): Record<string, HclObject> => {
    const out: Record<string, HclObject> = {};
    for (const r of blocks('resource')) {
      const byName = r[type] as Record<string, HclObject[]> | undefined;
      for (const [name, bodies] of Object.entries(byName ?? {})) out[name] = bodies[0]!;
    }
    return out;
  };
  const variables: Record<string, HclObject> = {};
  for (const v of blocks('variable')) for (const [name, bodies] of Object.entries(v)) variables[name] = (bodies as HclObject[])[0]!;
  const locals: HclObject = {};
  for (const l of blocks('locals')) for (const body of l as unknown as HclObject[]) Object.assign(locals, body);

  /** A variable's default; throws when the variable or its default is missing. */
  const defaultOf = (name: string): unknown => {
    const v = variables[name];
    if (!v || !('default' in v)) throw new Error(`infra: variable "${name}" with a default is missing`);
    return v['default'];
  };
  /** Resolves `${var.x}` in a literal attribute with the variables' defaults. */
  const resolve = (value: unknown): string => {
    if (typeof value !== 'string') throw new Error(`infra: expected a string, found ${JSON.stringify(value)}`);
    return value.replace(/\$\{var\.([a-z0-9_]+)\}/g, (_m, name: string) => String(defaultOf(name)));
  };
  return { files, parsed, resources, variables, locals, defaultOf, resolve };
}

/**
 * The functions the build registers: `cloudEvent('name'` / `http('name'` calls in functions/index.ts, or the
 * planned list while index.ts has not landed.
 */
export function registeredEntryPoints(indexPath = join(ROOT, 'functions', 'index.ts')): {
  source: 'functions/index.ts' | 'planned';
  kinds: Map<string, string>;
} {
  if (!existsSync(indexPath)) return { source: 'planned', kinds: new Map(Object.entries(PLANNED_ENTRY_POINTS)) };
  const text = readFileSync(indexPath, 'utf8');
  const kinds = new Map<string, string>();
  for (const m of text.matchAll(/\b(cloudEvent|http)\s*(?:<[^>]*>)?\(\s*['"`]([A-Za-z0-9_]+)['"`]/g)) kinds.set(m[2]!, m[1]!);
  return { source: 'functions/index.ts', kinds };
}

/** Every `event: 'name'` a log call in functions/ writes. */
export function loggedEvents(dir = join(ROOT, 'functions')): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/\bevent:\s*['"]([a-z0-9_]+)['"]/g)) out.add(m[1]!);
    }
  };
  walk(dir);
  return out;
}

/** camelCase → SCREAMING_SNAKE, as config.ts names vendor variables. */
export function screamingSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** camelCase → kebab-case, as infra/secrets.tf names vendor secrets. */
export function kebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
