import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import hcl from 'hcl2-parser';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { evaluateAttribute, renderTemplate, type Scope, type Value } from './hcl.js';

/** The repository root, found from this file (test/unit/deploy → ../../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The project a test deploys into, as Cloud Build and Terraform would know it. */
export const PROJECT = { id: 'acme-privacy', number: '123456789012' };

/** What the operator types besides Terraform's output (infra/README.md step 6). */
export const OPERATOR_INPUT: Record<string, string> = {
  _ALERT_FROM: 'erasure@acme.example',
  _ALERT_TO: 'privacy-ops@acme.example,dpo@acme.example',
  _VENDOR_ENV: 'VENDOR_HTTP_BASE_URL=https://deletions.acme.example',
};

/** The variables an operator passes to `terraform apply` in infra/README.md (those without a default). */
export const OPERATOR_TF_VARS: Record<string, Value> = {
  project_id: PROJECT.id,
  operators_group: 'privacy-ops@acme.example',
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

/** gcloud's list syntax: `^D^a D b` uses D as the delimiter, else a comma; a trailing empty item is dropped, as gcloud does. */
export function gcloudList(value: string): string[] {
  const custom = /^\^([^^]+)\^/.exec(value);
  const delimiter = custom ? custom[1]! : ',';
  const body = custom ? value.slice(custom[0].length) : value;
  const items = body.split(delimiter);
  if (items.at(-1) === '') items.pop();
  return items;
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

/**
 * cloudbuild.yaml, parsed and validated, with substitutions applied as Cloud Build applies them: the file's
 * defaults, overridden by what the user passes with --substitutions, and the built-in PROJECT_ID/PROJECT_NUMBER.
 */
export function loadCloudBuild(userSubstitutions: Record<string, string>, text = readFileSync(join(ROOT, 'cloudbuild.yaml'), 'utf8')) {
  const build = BuildSchema.parse(loadYaml(text));
  const values: Record<string, string> = { ...build.substitutions, ...userSubstitutions, PROJECT_ID: PROJECT.id, PROJECT_NUMBER: PROJECT.number };
  const deploys: Deploy[] = build.steps
    .filter((s) => s.entrypoint === 'gcloud' && s.args[0] === 'functions' && s.args[1] === 'deploy')
    .map((s) => parseDeploy(s, values));
  const step = (id: string) => build.steps.find((s) => s.id === id);
  /** A step's args and env as the step's container gets them. */
  const resolved = (id: string) => {
    const st = step(id);
    if (!st) throw new Error(`cloudbuild.yaml has no step ${id}`);
    return { ...st, args: st.args.map((a) => substitute(a, values)), env: (st.env ?? []).map((e) => substitute(e, values)) };
  };
  return { build, text, values, deploys, step, resolved };
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

/** Attributes Terraform computes at apply, for the resource types whose values the tests compare. */
function computed(type: string, args: Record<string, Value>, project: { id: string; number: string; region: string }): Record<string, Value> {
  const a = (k: string) => String(args[k]);
  switch (type) {
    case 'google_service_account': {
      const email = `${a('account_id')}@${project.id}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}`, name: `projects/${project.id}/serviceAccounts/${email}`, id: `projects/${project.id}/serviceAccounts/${email}` };
    }
    case 'google_pubsub_topic':
      return { id: `projects/${project.id}/topics/${a('name')}` };
    case 'google_pubsub_subscription':
      return { id: `projects/${project.id}/subscriptions/${a('name')}` };
    case 'google_secret_manager_secret':
      return { id: `projects/${project.id}/secrets/${a('secret_id')}`, name: `projects/${project.number}/secrets/${a('secret_id')}` };
    case 'google_sql_database_instance':
      return { connection_name: `${project.id}:${project.region}:${a('name')}` };
    case 'google_artifact_registry_repository':
      return { id: `projects/${project.id}/locations/${a('location')}/repositories/${a('repository_id')}`, name: a('repository_id') };
    case 'google_project_service_identity': {
      const agent = a('service').split('.')[0];
      return { email: `service-${project.number}@gcp-sa-${agent}.iam.gserviceaccount.com` };
    }
    case 'google_project_iam_custom_role':
      return { id: `projects/${project.id}/roles/${a('role_id')}` };
    case 'data.google_project':
      return { number: project.number, project_id: project.id };
    default:
      return {};
  }
}

/**
 * Every .tf file in infra/, parsed by an HCL2 parser (throws naming the file that does not parse), with an
 * evaluator for its expressions: variables take their defaults, overridden by `vars` (what `-var` would give).
 */
export function loadTerraform(vars: Record<string, Value> = OPERATOR_TF_VARS, dir = join(ROOT, 'infra')) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  const parsed: Record<string, HclObject> = {};
  for (const file of files) {
    const result = hcl.parseToObject(readFileSync(join(dir, file), 'utf8')) as [HclObject | null, unknown];
    if (!result[0] || typeof result[0] !== 'object') throw new Error(`infra/${file} does not parse as HCL2`);
    parsed[file] = result[0];
  }
  const blocks = (kind: string) => Object.values(parsed).flatMap((p) => (p[kind] ? [p[kind] as HclObject] : []));
  const byType = (kind: string, type: string): Record<string, HclObject> => {
    const out: Record<string, HclObject> = {};
    for (const r of blocks(kind)) {
      const byName = r[type] as Record<string, HclObject[]> | undefined;
      for (const [name, bodies] of Object.entries(byName ?? {})) out[name] = bodies[0]!;
    }
    return out;
  };
  const resources = (type: string) => byType('resource', type);
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
  const varValues: Record<string, Value> = {};
  for (const [name, v] of Object.entries(variables)) if ('default' in v) varValues[name] = v['default'] as Value;
  Object.assign(varValues, vars);
  const region = String(varValues['region']);
  const project = { id: String(varValues['project_id']), number: PROJECT.number, region };

  const localCache = new Map<string, Value>();
  const functions = {
    templatefile: (path: Value, vars: Value) => renderTemplate(readFileSync(join(dir, String(path)), 'utf8'), vars as Record<string, Value>),
  };
  const scope = (bindings: Record<string, Value> = {}): Scope => ({ functions, var: varValues, local, resource, bindings });
  function local(name: string): Value {
    if (!localCache.has(name)) {
      if (!(name in locals)) throw new Error(`infra: local.${name} is not defined`);
      localCache.set(name, evaluateAttribute(locals[name], scope()));
    }
    return localCache.get(name)!;
  }
  /** One instance of a resource (or data source): its arguments evaluated on demand, and what Terraform computes. */
  function instance(type: string, name: string, body: HclObject, bindings: Record<string, Value>): Value {
    const cache = new Map<string, Value>();
    const arg = (k: string): Value => {
      if (!cache.has(k)) cache.set(k, evaluateAttribute(body[k], scope(bindings)));
      return cache.get(k)!;
    };
    return new Proxy({} as Record<string, Value>, {
      get(_t, key) {
        if (typeof key !== 'string') return undefined;
        if (key in body) return arg(key);
        const args = new Proxy({}, { get: (_x, k) => (typeof k === 'string' && k in body ? arg(k) : k === 'location' ? region : undefined) });
        const c = computed(type, args as Record<string, Value>, project);
        return key in c ? c[key] : `⟨${type}.${name}.${key}⟩`;
      },
      has: (_t, key) => typeof key === 'string' && key in body,
      ownKeys: () => Object.keys(body),
      getOwnPropertyDescriptor: (_t, key) => ({ enumerable: true, configurable: true, value: typeof key === 'string' ? arg(key) : undefined }),
    }) as Value;
  }
  /** The instances of a resource: one, or one per for_each key. */
  function instances(type: string, name: string): Record<string, Value> {
    const isData = type.startsWith('data.');
    const body = (isData ? byType('data', type.slice(5)) : resources(type))[name];
    if (!body) throw new Error(`infra: ${type}.${name} is not defined`);
    if (body['for_each'] === undefined) return { '': instance(type, name, body, {}) };
    const forEach = evaluateAttribute(body['for_each'], scope());
    const entries: Array<[string, Value]> = Array.isArray(forEach)
      ? forEach.map((k) => [String(k), k])
      : Object.keys(forEach as Record<string, Value>).map((k) => [k, (forEach as Record<string, Value>)[k]!]);
    return Object.fromEntries(entries.map(([k, v]) => [k, instance(type, name, body, { 'each.key': k, 'each.value': v })]));
  }
  function resource(type: string, name: string, key: string | undefined): Value {
    const all = instances(type, name);
    if (key !== undefined) {
      const one = all[key];
      if (one === undefined) throw new Error(`infra: ${type}.${name}["${key}"] does not exist (keys: ${Object.keys(all).join(', ')})`);
      return one;
    }
    return '' in all ? all['']! : all;
  }
  /** Evaluates a raw attribute (as hcl2-parser gives it) in the module's scope, with optional each.* bindings. */
  const evaluate = (raw: unknown, bindings: Record<string, Value> = {}) => evaluateAttribute(raw, scope(bindings));
  /** Resolves `${var.x}` in a literal attribute with the variables' values. */
  const resolve = (value: unknown): string => String(evaluate(value));
  /** The value of an output, as `terraform output` would print it. */
  const output = (name: string): Value => {
    const body = byType('output', '')[name] ?? (blocks('output').map((o) => (o[name] as HclObject[] | undefined)?.[0]).find(Boolean) as HclObject | undefined);
    if (!body) throw new Error(`infra: output ${name} is not defined`);
    return evaluate(body['value']);
  };
  return { files, parsed, resources, instances, variables, locals, local, defaultOf, vars: varValues, evaluate, resolve, output, resource };
}

/** The substitutions an operator passes: Terraform's cloudbuild_substitutions output and their own three. */
export function operatorSubstitutions(tf: ReturnType<typeof loadTerraform>, input = OPERATOR_INPUT): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of String(tf.output('cloudbuild_substitutions')).split(';')) {
    const at = pair.indexOf('=');
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { ...out, ...input };
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
