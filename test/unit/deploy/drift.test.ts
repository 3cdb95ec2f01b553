import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Env } from '../../../functions/config.js';
import { SECRET_SETTINGS } from '../../../functions/vendors/settings.js';
import { VENDOR_KINDS } from '../../../functions/vendors/DeletionVendor.js';
import { ALERT_KINDS } from '../../../functions/alerts/AlertMessage.js';
import {
  ROOT,
  gcloudList,
  kebab,
  loadCloudBuild,
  loadTerraform,
  loggedEvents,
  pairs,
  registeredEntryPoints,
  screamingSnake,
  type Deploy,
} from './deployFiles.js';

// cloudbuild.yaml and infra/ cannot be tried against Google Cloud from a test, so these tests compare them with
// the code and with each other: a name changed on one side only fails here.

const cb = loadCloudBuild();
const tf = loadTerraform();
const defaults = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1' });

/** The event-driven ceiling (Cloud Functions 2nd gen): 9 minutes. */
const EVENT_FUNCTION_MAX_TIMEOUT_S = 540;
/** Time the poller needs after its budget: finish the batch in flight, record it, publish a continuation. */
const POLL_SHUTDOWN_MARGIN_S = 30;

const FIRESTORE_WRITTEN = 'google.cloud.firestore.document.v1.written';

function deployOf(entryPoint: string): Deploy {
  const d = cb.deploys.find((x) => x.one('--entry-point') === entryPoint);
  assert.ok(d, `cloudbuild.yaml deploys no function with --entry-point=${entryPoint}`);
  return d;
}

function seconds(duration: string): number {
  const m = /^(\d+)s$/.exec(duration);
  assert.ok(m, `"${duration}" is not a duration in seconds`);
  return Number(m[1]);
}

/** The environment a deployed function starts with: its env vars plus each secret (value made up). */
function runtimeEnv(d: Deploy): Env {
  const env: Env = Object.fromEntries(d.env);
  for (const name of d.secrets.keys()) env[name] = `secret-value-of-${name.toLowerCase()}-0123456789abcdef0123456789`;
  return env;
}

/** Names of config variables that hold credentials: they may come from Secret Manager only. */
function secretVariables(vendors: readonly string[]): string[] {
  return [
    'SENDGRID_API_KEY',
    'RETENTION_KEY',
    ...vendors.flatMap((v) => (SECRET_SETTINGS[v as keyof typeof SECRET_SETTINGS] ?? []).map((s) => `VENDOR_${v.toUpperCase()}_${screamingSnake(s)}`)),
  ];
}

describe('deploy drift: cloudbuild.yaml, infra/ and the code agree', () => {
  describe('functions and their triggers', () => {
    it('deploys every registered entry point and registers every deployed one, as CloudEvent functions', () => {
      const registered = registeredEntryPoints();
      const deployed = cb.deploys.map((d) => d.one('--entry-point'));
      assert.equal(new Set(deployed).size, deployed.length, 'an entry point is deployed twice');
      assert.deepEqual(
        [...deployed].sort(),
        [...registered.kinds.keys()].sort(),
        `entry points deployed by cloudbuild.yaml differ from those registered (${registered.source})`,
      );
      for (const name of deployed) assert.equal(registered.kinds.get(name), 'cloudEvent', `${name} is not registered with cloudEvent()`);
    });

    it('gives onCustomerWritten the Firestore written trigger on the configured collection, at the database location', () => {
      const d = deployOf('onCustomerWritten');
      const filters = pairs(d.flags.get('--trigger-event-filters') ?? [], 'trigger-event-filters');
      assert.equal(filters.get('type'), FIRESTORE_WRITTEN);
      assert.equal(filters.get('database'), cb.values['_FIRESTORE_DATABASE']);
      assert.equal(d.one('--trigger-event-filters-path-pattern'), `document=${defaults.customersCollection}/{customerId}`);
      assert.equal(
        runtimeEnv(d)['CUSTOMERS_COLLECTION'] ?? defaults.customersCollection,
        defaults.customersCollection,
        'CUSTOMERS_COLLECTION is deployed with a value the path pattern does not watch',
      );
      assert.equal(d.one('--trigger-location'), cb.values['_DATABASE_LOCATION']);
      assert.notEqual(d.one('--trigger-location'), d.one('--region'), 'the trigger location must be the database location, not the region');
      assert.ok(!d.has('--trigger-topic') && !d.has('--trigger-http'));
    });

    it('triggers pollDeletions and sendAlert from the configured poll and alert topics', () => {
      for (const [entryPoint, topic] of [
        ['pollDeletions', defaults.topics.poll],
        ['sendAlert', defaults.topics.alerts],
      ] as const) {
        const d = deployOf(entryPoint);
        assert.equal(d.one('--trigger-topic'), topic, `${entryPoint} must be triggered by ${topic}`);
        assert.ok(!d.has('--trigger-event-filters') && !d.has('--trigger-http'), `${entryPoint} has a second trigger`);
      }
    });

    it('deploys each function 2nd gen on nodejs22 with retries, private, as the runtime and trigger accounts', () => {
      assert.equal(cb.deploys.length, 3);
      const sa = (id: string | undefined) => `${id}@${cb.values['PROJECT_ID']}.iam.gserviceaccount.com`;
      for (const d of cb.deploys) {
        assert.ok(d.has('--gen2'), `${d.name}: --gen2`);
        assert.equal(d.one('--runtime'), 'nodejs22', `${d.name}: runtime`);
        assert.ok(d.has('--retry'), `${d.name}: --retry`);
        assert.ok(d.has('--no-allow-unauthenticated') && !d.has('--allow-unauthenticated'), `${d.name}: public access`);
        assert.equal(d.one('--region'), cb.values['_REGION']);
        assert.equal(d.one('--service-account'), sa(cb.values['_RUNTIME_SA']));
        assert.equal(d.one('--trigger-service-account'), sa(cb.values['_TRIGGER_SA']));
        assert.ok(seconds(d.one('--timeout')) <= EVENT_FUNCTION_MAX_TIMEOUT_S, `${d.name}: event functions time out at 540 s at most`);
      }
    });

    it('gives the poller a time budget that fits inside its timeout', () => {
      const d = deployOf('pollDeletions');
      const budget = loadConfig(runtimeEnv(d)).poller.timeBudgetMs / 1000;
      const timeout = seconds(d.one('--timeout'));
      assert.ok(
        budget + POLL_SHUTDOWN_MARGIN_S <= timeout,
        `POLL_TIME_BUDGET_SECONDS (${budget}) + ${POLL_SHUTDOWN_MARGIN_S} s must fit in the poller's --timeout (${timeout} s)`,
      );
    });

    it('runs every Node step of the build on Node 22', () => {
      const nodeSteps = cb.build.steps.filter((s) => s.name.startsWith('node'));
      assert.ok(nodeSteps.length > 0);
      for (const s of nodeSteps) assert.match(s.name, /^node:22(\b|[.-])/, `step ${s.id} runs ${s.name}`);
    });
  });

  describe('configuration', () => {
    it('sets every variable the configuration requires (env vars or secrets), so loadConfig accepts it', () => {
      for (const d of cb.deploys) {
        const config = loadConfig(runtimeEnv(d));
        assert.deepEqual(config.database, {
          kind: 'cloudsql',
          instanceConnectionName: `${cb.values['PROJECT_ID']}:${cb.values['_REGION']}:${cb.values['_INSTANCE']}`,
          ipType: 'PUBLIC',
          iamUser: `${cb.values['_RUNTIME_SA']}@${cb.values['PROJECT_ID']}.iam`,
          database: cb.values['_DB_NAME'],
          poolMax: config.database.poolMax,
        });
        assert.equal(config.projectId, cb.values['PROJECT_ID'], `${d.name}: GOOGLE_CLOUD_PROJECT`);
        assert.ok(config.alerts.sendgridApiKey, `${d.name}: SENDGRID_API_KEY`);
        assert.ok(config.alerts.from, `${d.name}: ALERT_FROM`);
        assert.ok(config.alerts.to.length > 0, `${d.name}: ALERT_TO`);
        assert.deepEqual(
          config.vendors.map((v) => v.name),
          cb.values['_VENDORS']!.split(','),
        );
      }
    });

    it('gives the three functions the same environment and secrets, which the preflight step validates', () => {
      const [first, ...rest] = cb.deploys;
      for (const d of rest) {
        assert.deepEqual(Object.fromEntries(d.env), Object.fromEntries(first!.env), `${d.name} env differs from ${first!.name}`);
        assert.deepEqual(Object.fromEntries(d.secrets), Object.fromEntries(first!.secrets), `${d.name} secrets differ`);
      }
      const preflight = cb.step('preflight');
      assert.ok(preflight?.env, 'cloudbuild.yaml has no preflight step with env');
      const stepEnv = pairs(preflight.env.map((e) => e.replace(/\$\{([A-Z_]+)\}/g, (_m, k: string) => cb.values[k]!)), 'preflight env');
      const vendorEnv = stepEnv.get('VENDOR_ENV');
      stepEnv.delete('VENDOR_ENV');
      for (const [k, v] of pairs(gcloudList(`^|^${vendorEnv ?? ''}`), 'VENDOR_ENV')) stepEnv.set(k, v);
      assert.deepEqual(Object.fromEntries(stepEnv), Object.fromEntries(first!.env), 'preflight validates another environment than the deploys get');
      assert.match(preflight.args.join('\n'), /loadConfig\(process\.env\)/);
    });

    it('migrates as the build account through the Cloud SQL connector, with IAM authentication', () => {
      const migrate = cb.step('migrate');
      assert.ok(migrate?.env);
      const env = pairs(migrate.env, 'migrate env');
      assert.equal(env.get('CLOUD_SQL_INSTANCE'), '${PROJECT_ID}:${_REGION}:${_INSTANCE}');
      assert.equal(env.get('DB_IAM_USER'), '${_BUILD_SA}@${PROJECT_ID}.iam');
      assert.equal(env.get('DB_NAME'), '${_DB_NAME}');
      assert.ok(!env.has('DATABASE_URL'));
      assert.match(migrate.args.join('\n'), /consent-erasure(\.js)? migrate/);
      assert.equal(cb.build.serviceAccount, 'projects/${PROJECT_ID}/serviceAccounts/${_BUILD_SA}@${PROJECT_ID}.iam.gserviceaccount.com');
      const order = cb.build.steps.map((s) => s.id);
      for (const d of cb.deploys) assert.ok(cb.step(d.stepId)?.waitFor?.includes('migrate'), `${d.name} deploys before migrations ran`);
      assert.ok(order.indexOf('migrate') < order.indexOf(cb.deploys[0]!.stepId));
    });

    it('never passes a credential as a plain environment variable', () => {
      for (const d of cb.deploys)
        for (const name of secretVariables(VENDOR_KINDS))
          assert.ok(!d.env.has(name), `${d.name}: ${name} is a credential; give it with --set-secrets`);
    });
  });

  describe('secrets', () => {
    const secretIds = () => {
      const vendors = tf.defaultOf('vendors') as string[];
      const settings = tf.locals['vendor_secret_settings'] as Record<string, string[]>;
      const fixed = [...String(tf.locals['secrets']).matchAll(/"([a-z0-9-]+)"\s*=\s*"([A-Z0-9_]+)"/g)].map((m) => [m[1]!, m[2]!] as const);
      const vendorSecrets = vendors.flatMap((v) => (settings[v] ?? []).map((s) => [`vendor-${v}-${s}`, `vendor-${v}-${s}`.toUpperCase().replaceAll('-', '_')] as const));
      return new Map([...fixed, ...vendorSecrets]);
    };

    it('names in infra/secrets.tf every vendor credential the code reads, by the same rule', () => {
      const settings = tf.locals['vendor_secret_settings'] as Record<string, string[]>;
      assert.deepEqual(
        Object.fromEntries(Object.entries(settings).sort()),
        Object.fromEntries(Object.entries(SECRET_SETTINGS).map(([v, s]) => [v, s.map(kebab)]).sort()),
        'infra/secrets.tf vendor_secret_settings differs from functions/vendors/settings.ts SECRET_SETTINGS',
      );
    });

    it('creates in Terraform every secret cloudbuild.yaml mounts, under the variable the code reads', () => {
      const ids = secretIds();
      for (const d of cb.deploys) {
        assert.ok(d.secrets.size > 0);
        for (const [envName, ref] of d.secrets) {
          const [secret, version] = ref.split(':');
          assert.ok(secret && ids.has(secret), `${d.name}: secret ${secret} is not created by infra/secrets.tf`);
          assert.equal(ids.get(secret), envName, `${d.name}: secret ${secret} is mounted as ${envName}`);
          assert.ok(version === 'latest' || /^\d+$/.test(version ?? ''), `${d.name}: ${ref} has no version`);
        }
      }
    });

    it('mounts SendGrid and every credential of every enabled vendor', () => {
      for (const d of cb.deploys) {
        const vendors = cb.values['_VENDORS']!.split(',');
        const expected = ['SENDGRID_API_KEY', ...secretVariables(vendors).filter((n) => n.startsWith('VENDOR_'))];
        for (const name of expected) assert.ok(d.secrets.has(name), `${d.name}: --set-secrets lacks ${name}`);
      }
      assert.deepEqual((tf.defaultOf('vendors') as string[]).join(','), cb.values['_VENDORS'], 'Terraform vendors default differs from _VENDORS');
    });
  });

  describe('names shared by cloudbuild.yaml and infra/', () => {
    it('uses the same topic names as the config defaults', () => {
      const topics = tf.resources('google_pubsub_topic');
      assert.equal(tf.resolve(topics['poll']?.['name']), defaults.topics.poll);
      assert.equal(tf.resolve(topics['alerts']?.['name']), defaults.topics.alerts);
      for (const d of cb.deploys) {
        assert.equal(d.env.get('POLL_TOPIC') ?? defaults.topics.poll, defaults.topics.poll);
        assert.equal(d.env.get('ALERT_TOPIC') ?? defaults.topics.alerts, defaults.topics.alerts);
      }
      const job = Object.values(tf.resources('google_cloud_scheduler_job'));
      assert.equal(job.length, 1);
      const target = (job[0]!['pubsub_target'] as Array<Record<string, string>>)[0]!;
      assert.equal(target['topic_name'], '${google_pubsub_topic.poll.id}');
      assert.equal(target['data'], '${base64encode("{}")}', 'the Scheduler must publish {} (non-empty data)');
    });

    it('attaches the dead-letter topics Terraform creates, each drained by a subscription', () => {
      const topics = tf.resources('google_pubsub_topic');
      const subs = Object.values(tf.resources('google_pubsub_subscription'));
      const script = cb.step('dead-letter-policies')?.args.join('\n') ?? '';
      const attached = [...script.matchAll(/^\s*attach_dead_letter\s+(\S+)\s+(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]);
      const byFunction = new Map(cb.deploys.map((d) => [d.name, d]));
      assert.equal(attached.length, 2);
      for (const [fn, dlq] of attached) {
        const d = byFunction.get(fn!);
        assert.ok(d, `the dead-letter step names ${fn}, which cloudbuild.yaml does not deploy`);
        assert.equal(dlq, `${d.one('--trigger-topic')}-dead-letter`);
        const topic = Object.entries(topics).find(([, t]) => tf.resolve(t['name']) === dlq);
        assert.ok(topic, `infra/pubsub.tf creates no topic ${dlq}`);
        assert.ok(
          subs.some((s) => s['topic'] === `\${google_pubsub_topic.${topic[0]}.id}`),
          `no subscription drains ${dlq}`,
        );
      }
    });

    it('agrees on region, database location, Firestore database, instance, database, accounts and repository', () => {
      const same: Array<[string, string]> = [
        ['_REGION', 'region'],
        ['_DATABASE_LOCATION', 'firestore_location'],
        ['_FIRESTORE_DATABASE', 'firestore_database'],
        ['_INSTANCE', 'sql_instance_name'],
        ['_DB_NAME', 'database_name'],
        ['_RUNTIME_SA', 'runtime_service_account_id'],
        ['_TRIGGER_SA', 'trigger_service_account_id'],
        ['_BUILD_SA', 'build_service_account_id'],
        ['_ARTIFACT_REPOSITORY', 'artifact_repository_id'],
      ];
      for (const [sub, variable] of same) assert.equal(cb.values[sub], tf.defaultOf(variable), `${sub} differs from var.${variable}`);
    });

    it('names the IAM database users the way Cloud SQL does, and the runtime role the migrations grant to', () => {
      const users = tf.resources('google_sql_user');
      for (const u of Object.values(users)) {
        assert.equal(u['type'], 'CLOUD_IAM_SERVICE_ACCOUNT');
        assert.match(String(u['name']), /^\$\{trimsuffix\(google_service_account\.\w+\.email, "\.gserviceaccount\.com"\)\}$/);
      }
      const bootstrap = readFileSync(join(ROOT, 'infra', 'sql', 'bootstrap.sql.tftpl'), 'utf8');
      const role = /runtime_role\s*=\s*"([a-z_]+)"/.exec(String(tf.locals['database_bootstrap_sql']))?.[1];
      assert.ok(role && bootstrap.includes('${runtime_role}'));
      const migrations = readdirSync(join(ROOT, 'sql'))
        .filter((f) => f.endsWith('.sql'))
        .map((f) => readFileSync(join(ROOT, 'sql', f), 'utf8'))
        .join('\n');
      assert.match(migrations, new RegExp(`create role ${role}\\b`), `no migration creates the role ${role}`);
      assert.match(migrations, new RegExp(`to ${role}\\b`), `no migration grants anything to ${role}`);
    });

    it('counts log events the code writes, from the functions cloudbuild.yaml deploys', () => {
      const events = loggedEvents();
      const metrics = tf.locals['log_metrics'] as Record<string, { event: string; kinds: string[] }>;
      assert.ok(Object.keys(metrics).length >= 4);
      for (const [name, m] of Object.entries(metrics)) {
        assert.ok(events.has(m.event), `metric ${name} counts event "${m.event}", which nothing in functions/ logs`);
        for (const k of m.kinds) assert.ok((ALERT_KINDS as readonly string[]).includes(k), `metric ${name}: unknown alert kind ${k}`);
      }
      assert.deepEqual([...(tf.locals['function_services'] as string[])].sort(), cb.deploys.map((d) => d.name).sort());
      assert.equal(Object.keys(tf.resources('google_monitoring_alert_policy')).length >= 2, true);
    });
  });

  describe('infra/', () => {
    it('parses every file and pins the provider', () => {
      for (const f of ['versions.tf', 'variables.tf', 'outputs.tf', 'apis.tf', 'iam.tf', 'pubsub.tf', 'scheduler.tf', 'sql.tf', 'secrets.tf', 'monitoring.tf'])
        assert.ok(tf.files.includes(f), `infra/${f} is missing`);
      const terraform = (tf.parsed['versions.tf']!['terraform'] as Array<Record<string, unknown>>)[0]!;
      const google = (terraform['required_providers'] as Array<Record<string, { version: string }>>)[0]!['google']!;
      assert.match(google.version, /^\d+\.\d+\.\d+$/, 'the google provider version must be pinned exactly');
    });

    it('describes, types and validates every variable', () => {
      for (const [name, v] of Object.entries(tf.variables)) {
        assert.ok(typeof v['description'] === 'string' && v['description'].length > 10, `var.${name}: description`);
        assert.ok(v['type'], `var.${name}: type`);
        if (v['type'] !== '${bool}' && name !== 'poll_time_zone') assert.ok(v['validation'], `var.${name}: validation`);
      }
    });

    it('enables the APIs the deploy needs', () => {
      const apis = tf.locals['required_apis'] as string[];
      for (const api of ['cloudfunctions', 'run', 'eventarc', 'pubsub', 'cloudscheduler', 'sqladmin', 'secretmanager', 'artifactregistry', 'cloudbuild', 'logging', 'monitoring'])
        assert.ok(apis.includes(`${api}.googleapis.com`), `${api}.googleapis.com is not enabled`);
    });

    it('turns on IAM database authentication on the Cloud SQL instance', () => {
      const instance = Object.values(tf.resources('google_sql_database_instance'))[0]!;
      const settings = (instance['settings'] as Array<Record<string, unknown>>)[0]!;
      const flags = settings['database_flags'] as Array<{ name: string; value: string }>;
      assert.ok(flags.some((f) => f.name === 'cloudsql.iam_authentication' && f.value === 'on'));
    });
  });
});
