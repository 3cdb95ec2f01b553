import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_CREDENTIALS, loadConfig, type Env } from '../../../functions/config.js';
import { checkDeployments, credentialVariables, parseDeployments } from '../../../functions/cli/deployment.js';
import { SECRET_SETTINGS } from '../../../functions/vendors/settings.js';
import { VENDOR_KINDS, type VendorKind } from '../../../functions/vendors/DeletionVendor.js';
import { ALERT_KINDS } from '../../../functions/alerts/AlertMessage.js';
import {
  PROJECT,
  ROOT,
  kebab,
  loadCloudBuild,
  loadTerraform,
  loggedEvents,
  operatorSubstitutions,
  pairs,
  registeredEntryPoints,
  type Deploy,
} from './deployFiles.js';

// cloudbuild.yaml and infra/ cannot be tried against Google Cloud from a test, so these tests compare them with
// the code and with each other: a name changed on one side only fails here. Substitutions are what an operator
// passes (infra/README.md step 6): Terraform's cloudbuild_substitutions output plus _ALERT_FROM, _ALERT_TO and
// _VENDOR_ENV; nothing else is filled in.

const tf = loadTerraform();
const cb = loadCloudBuild(operatorSubstitutions(tf));
const defaults = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1' });

/** The event-driven ceiling (Cloud Functions 2nd gen): 9 minutes. */
const EVENT_FUNCTION_MAX_TIMEOUT_S = 540;
/** Time the poller needs after its budget: finish the batch in flight, record it, publish a continuation. */
const POLL_SHUTDOWN_MARGIN_S = 30;

const FIRESTORE_WRITTEN = 'google.cloud.firestore.document.v1.written';

/** Terraform's name for each function's account, by entry point (infra/iam.tf local.function_accounts). */
const ACCOUNT_OF: Record<string, 'ingest' | 'poller' | 'mailer' | 'callback'> = {
  onCustomerWritten: 'ingest',
  pollDeletions: 'poller',
  sendAlert: 'mailer',
  receiveDeletionCallback: 'callback',
};

/** The one function reachable from outside (vendors post signed status callbacks to it). */
const PUBLIC_FUNCTION = 'receiveDeletionCallback';

function deployOf(entryPoint: string, build = cb): Deploy {
  const d = build.deploys.find((x) => x.one('--entry-point') === entryPoint);
  assert.ok(d, `cloudbuild.yaml deploys no function with --entry-point=${entryPoint}`);
  return d;
}

function seconds(duration: string): number {
  const m = /^(\d+)s$/.exec(duration);
  assert.ok(m, `"${duration}" is not a duration in seconds`);
  return Number(m[1]);
}

/** The environment a deployed function starts with: its env vars, FUNCTION_TARGET, and each secret (value made up). */
function runtimeEnv(d: Deploy): Env {
  const env: Env = { ...Object.fromEntries(d.env), FUNCTION_TARGET: d.one('--entry-point') };
  for (const name of d.secrets.keys()) env[name] = `secret-value-of-${name.toLowerCase()}-0123456789abcdef0123456789`;
  return env;
}

/** Variables that hold credentials: they may come from Secret Manager only. */
function secretVariables(vendors: readonly VendorKind[]): string[] {
  return (['vendors', 'sendgrid', 'retention'] as const).flatMap((g) => credentialVariables(g, vendors));
}

const sa = (id: string | undefined) => `${id}@${PROJECT.id}.iam.gserviceaccount.com`;

type Obj = Record<string, unknown>;
const block = (v: unknown): Obj => (v as Obj[])[0]!;

describe('deploy drift: cloudbuild.yaml, infra/ and the code agree', () => {
  describe('functions and their triggers', () => {
    it('deploys every registered entry point and registers every deployed one, as CloudEvent functions (the callback receiver as HTTP)', () => {
      const registered = registeredEntryPoints();
      const deployed = cb.deploys.map((d) => d.one('--entry-point'));
      assert.equal(new Set(deployed).size, deployed.length, 'an entry point is deployed twice');
      assert.deepEqual([...deployed].sort(), [...registered.kinds.keys()].sort(), `entry points deployed by cloudbuild.yaml differ from those registered (${registered.source})`);
      for (const name of deployed) assert.equal(registered.kinds.get(name), name === PUBLIC_FUNCTION ? 'http' : 'cloudEvent', `${name} is registered with the wrong kind`);
      assert.deepEqual(Object.keys(FUNCTION_CREDENTIALS).sort(), [...deployed].sort(), 'config.ts FUNCTION_CREDENTIALS names other functions');
    });

    it('gives onCustomerWritten the Firestore written trigger on the configured collection, at the database location', () => {
      const d = deployOf('onCustomerWritten');
      const filters = pairs(d.flags.get('--trigger-event-filters') ?? [], 'trigger-event-filters');
      assert.equal(filters.get('type'), FIRESTORE_WRITTEN);
      assert.equal(filters.get('database'), cb.values['_FIRESTORE_DATABASE']);
      assert.equal(d.one('--trigger-event-filters-path-pattern'), `document=${defaults.customersCollection}/{customerId}`);
      assert.equal(runtimeEnv(d)['CUSTOMERS_COLLECTION'] ?? defaults.customersCollection, defaults.customersCollection);
      assert.equal(d.one('--trigger-location'), cb.values['_DATABASE_LOCATION']);
      assert.notEqual(d.one('--trigger-location'), d.one('--region'), 'the trigger location must be the database location, not the region');
      assert.equal(d.one('--trigger-service-account'), sa(cb.values['_TRIGGER_SA']));
      assert.ok(d.has('--retry'), 'Eventarc must redeliver a failed Firestore event');
      assert.ok(!d.has('--trigger-topic') && !d.has('--trigger-http'));
    });

    it('deploys pollDeletions and sendAlert as HTTP services fed by the push subscriptions Terraform owns, with dead-letter and retry policies', () => {
      for (const [entryPoint, topicResource, subscription, dlq] of [
        ['pollDeletions', 'poll', 'poll_push', 'poll_dead_letter'],
        ['sendAlert', 'alerts', 'alerts_push', 'alerts_dead_letter'],
      ] as const) {
        const d = deployOf(entryPoint);
        assert.ok(d.has('--trigger-http') && !d.has('--trigger-topic') && !d.has('--trigger-event-filters'), `${entryPoint}: no trigger of Eventarc's (its subscription would not be Terraform's)`);
        assert.ok(!d.has('--retry'), `${entryPoint}: retries belong to the push subscription`);
        const topic = tf.resource('google_pubsub_topic', topicResource, undefined) as Obj;
        assert.equal(topic['name'], entryPoint === 'pollDeletions' ? defaults.topics.poll : defaults.topics.alerts);
        const sub = tf.resource('google_pubsub_subscription', subscription, undefined) as Obj;
        assert.equal(sub['topic'], topic['id'], `${subscription} must read ${topic['name']}`);
        const push = block(sub['push_config']);
        const url = `https://${d.name}-${PROJECT.number}.${cb.values['_REGION']}.run.app`;
        // The Functions Framework reads the topic from this path to build the CloudEvent the handler takes.
        assert.equal(push['push_endpoint'], `${url}/projects/${PROJECT.id}/topics/${topic['name']}`);
        const oidc = block(push['oidc_token']);
        assert.equal(oidc['service_account_email'], sa(cb.values['_TRIGGER_SA']), `${subscription} must present the trigger account`);
        assert.equal(oidc['audience'], url);
        assert.ok(Number(sub['ack_deadline_seconds']) >= seconds(d.one('--timeout')), `${subscription}: the ack deadline must cover ${d.name}'s --timeout`);
        const retry = block(sub['retry_policy']);
        assert.deepEqual([retry['minimum_backoff'], retry['maximum_backoff']], ['10s', '600s']);
        const dead = block(sub['dead_letter_policy']);
        assert.equal(dead['dead_letter_topic'], (tf.resource('google_pubsub_topic', dlq, undefined) as Obj)['id']);
        assert.ok(Number(dead['max_delivery_attempts']) >= 5 && Number(dead['max_delivery_attempts']) <= 100);
        assert.equal(block(sub['expiration_policy'])['ttl'], '', `${subscription} must never expire`);
      }
      assert.doesNotMatch(cb.text, /subscriptions update|dead-letter-topic/, 'cloudbuild.yaml patches a subscription after the deploy');
    });

    it('lets the Pub/Sub service agent dead-letter: publisher on each dead-letter topic, subscriber on each push subscription', () => {
      const agent = `serviceAccount:service-${PROJECT.number}@gcp-sa-pubsub.iam.gserviceaccount.com`;
      const topicGrants = Object.values(tf.instances('google_pubsub_topic_iam_member', 'pubsub_agent_publishes_poll_dead_letter'))
        .concat(Object.values(tf.instances('google_pubsub_topic_iam_member', 'pubsub_agent_publishes_alerts_dead_letter')))
        .map((g) => [(g as Obj)['topic'], (g as Obj)['member']]);
      assert.deepEqual(topicGrants, [
        ['projects/acme-privacy/topics/deletion-poll-dead-letter', agent],
        ['projects/acme-privacy/topics/deletion-alerts-dead-letter', agent],
      ]);
      const subGrants = Object.keys(tf.resources('google_pubsub_subscription_iam_member')).map((n) => {
        const g = tf.resource('google_pubsub_subscription_iam_member', n, undefined) as Obj;
        return [g['subscription'], g['role'], g['member']];
      });
      assert.deepEqual(subGrants.sort(), [
        ['deletion-alerts-push', 'roles/pubsub.subscriber', agent],
        ['deletion-poll-push', 'roles/pubsub.subscriber', agent],
      ]);
    });

    it('deploys each function 2nd gen on nodejs22, private but the callback receiver, as its own account', () => {
      assert.equal(cb.deploys.length, 4);
      for (const d of cb.deploys) {
        const fn = d.one('--entry-point');
        assert.ok(d.has('--gen2'), `${d.name}: --gen2`);
        assert.equal(d.one('--runtime'), 'nodejs22', `${d.name}: runtime`);
        if (fn === PUBLIC_FUNCTION) {
          // Vendors post from the internet; the function authenticates each callback by signature and certificate.
          assert.ok(d.has('--allow-unauthenticated') && !d.has('--no-allow-unauthenticated'), `${d.name}: must be public`);
          assert.equal(d.one('--ingress-settings'), 'all');
          assert.ok(d.has('--trigger-http'));
        } else {
          assert.ok(d.has('--no-allow-unauthenticated') && !d.has('--allow-unauthenticated'), `${d.name}: public access`);
          assert.equal(d.one('--ingress-settings'), 'internal-only');
        }
        assert.equal(d.one('--region'), cb.values['_REGION']);
        const account = (tf.resource('google_service_account', ACCOUNT_OF[fn]!, undefined) as Obj)['email'];
        assert.equal(d.one('--service-account'), account, `${fn} must run as its own account`);
        assert.ok(seconds(d.one('--timeout')) <= EVENT_FUNCTION_MAX_TIMEOUT_S, `${d.name}: 540 s at most`);
      }
      assert.equal(new Set(cb.deploys.map((d) => d.one('--service-account'))).size, 4, 'two functions share an account');
    });

    it('tells vendors the callback receiver\'s URL (Terraform\'s callback_url) and lets it only read, append and force a poll', () => {
      const url = String(tf.output('callback_url'));
      assert.equal(url, `https://receive-deletion-callback-${PROJECT.number}.${cb.values['_REGION']}.run.app`);
      for (const fn of ['onCustomerWritten', 'pollDeletions', PUBLIC_FUNCTION]) {
        assert.equal(deployOf(fn).env.get('CALLBACK_URL'), url, `${fn}: CALLBACK_URL`);
      }
      const receiver = deployOf(PUBLIC_FUNCTION);
      assert.equal(receiver.secrets.size, 0, 'the callback receiver holds no credential');
      assert.equal(receiver.env.get('CALLBACK_TEST_ROOT_PEM'), undefined, 'a local test root is never deployed');
      // With a vendor that calls back, every function agrees on the allow-list and the URL sent.
      const withCallbacks = { ...runtimeEnv(receiver), VENDORS: 'mparticle', VENDOR_MPARTICLE_API_KEY: 'k', VENDOR_MPARTICLE_API_SECRET: 's', K_SERVICE: 'receive-deletion-callback' };
      const settings = loadConfig(withCallbacks).callbacks;
      assert.deepEqual(settings?.policy.processors.map((p) => [p.vendor, p.domain]), [['mparticle', 'opendsr.mparticle.com']]);
      assert.equal(settings?.testRootPem, undefined);
      assert.throws(() => loadConfig({ ...withCallbacks, CALLBACK_TEST_ROOT_PEM: '-----BEGIN CERTIFICATE-----x' }), /never trusted in a deployment/);
      const bootstrap = String(tf.output('database_bootstrap_sql'));
      assert.match(bootstrap, new RegExp(`grant consent_erasure_callback to "${cb.values['_CALLBACK_SA']}@${PROJECT.id}\\.iam"`));
      assert.doesNotMatch(bootstrap, new RegExp(`grant consent_erasure_runtime to .*"${cb.values['_CALLBACK_SA']}@`), 'the public function must not get the runtime role');
    });

    it('gives the poller a time budget that fits inside its timeout', () => {
      const d = deployOf('pollDeletions');
      const budget = loadConfig(runtimeEnv(d)).poller.timeBudgetMs / 1000;
      const timeout = seconds(d.one('--timeout'));
      assert.ok(budget + POLL_SHUTDOWN_MARGIN_S <= timeout, `POLL_TIME_BUDGET_SECONDS (${budget}) + ${POLL_SHUTDOWN_MARGIN_S} s must fit in the poller's --timeout (${timeout} s)`);
    });

    it('lets only the trigger account invoke, per service, never project-wide', () => {
      const projectRoles = Object.keys(tf.resources('google_project_iam_member')).flatMap((n) => Object.values(tf.instances('google_project_iam_member', n)).map((g) => (g as Obj)['role']));
      assert.ok(!projectRoles.includes('roles/run.invoker'), 'roles/run.invoker is granted project-wide');
      const script = cb.resolved('invokers').args.join('\n');
      assert.match(script, /for fn in on-customer-written poll-deletions send-alert; do/);
      assert.deepEqual(cb.deploys.filter((d) => d.one('--entry-point') !== PUBLIC_FUNCTION).map((d) => d.name).sort(), ['on-customer-written', 'poll-deletions', 'send-alert']);
      assert.match(script, new RegExp(`gcloud functions add-invoker-policy-binding "\\$fn" --region=${cb.values['_REGION']} \\\\\\s+--member=serviceAccount:${sa(cb.values['_TRIGGER_SA'])}`));
      assert.deepEqual(cb.step('invokers')?.waitFor?.sort(), cb.deploys.filter((d) => d.one('--entry-point') !== PUBLIC_FUNCTION).map((d) => d.stepId).sort());
      // The build's custom role holds exactly what that command and a redeploy's --no-allow-unauthenticated use.
      const role = tf.resource('google_project_iam_custom_role', 'build_extras', undefined) as Obj;
      assert.deepEqual(role['permissions'], ['run.services.getIamPolicy', 'run.services.setIamPolicy']);
    });

    it('runs every Node step of the build on Node 22, and pins every step image by digest', () => {
      const nodeSteps = cb.build.steps.filter((s) => s.name.startsWith('node'));
      assert.ok(nodeSteps.length > 0);
      for (const s of nodeSteps) assert.match(s.name, /^node:22(\b|[.-])/, `step ${s.id} runs ${s.name}`);
      for (const s of cb.build.steps) assert.match(s.name, /^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$/, `step ${s.id}: image ${s.name} is not pinned by digest`);
    });
  });

  describe('one account per function, each with only its own secrets and rights', () => {
    const vendors = ['http', 'segment'] as const;
    const tf2 = loadTerraform({ ...tf.vars, vendors: [...vendors] });
    const cb2 = loadCloudBuild(operatorSubstitutions(tf2));
    /** Secret ids Terraform lets each function account read. */
    const readable = (t = tf2) => {
      const out: Record<string, string[]> = { ingest: [], poller: [], mailer: [], callback: [] };
      for (const a of Object.values(t.local('secret_access') as Record<string, { secret: string; reader: string }>)) out[a.reader]!.push(a.secret);
      for (const k of Object.keys(out)) out[k]!.sort();
      return out;
    };

    it('mounts on each function exactly the credentials it reads (config.ts FUNCTION_CREDENTIALS), under the variables it reads them as', () => {
      for (const d of cb2.deploys) {
        const fn = d.one('--entry-point');
        const expected = FUNCTION_CREDENTIALS[fn]!.flatMap((g) => credentialVariables(g, vendors)).sort();
        assert.deepEqual([...d.secrets.keys()].sort(), expected, `${fn} mounts other secrets than it reads`);
        for (const name of secretVariables(VENDOR_KINDS)) assert.ok(!d.env.has(name), `${fn}: ${name} is a credential; give it with --set-secrets`);
      }
    });

    it("gives each function's account (Terraform) exactly the secrets its deploy (cloudbuild.yaml) mounts: none of the others'", () => {
      const secrets = tf2.local('secrets') as Record<string, string>;
      const grants = readable();
      for (const d of cb2.deploys) {
        const fn = d.one('--entry-point');
        const mounted = [...d.secrets.values()].map((ref) => ref.split(':')[0]!).sort();
        assert.deepEqual(grants[ACCOUNT_OF[fn]!], mounted, `${fn}: Terraform grants other secrets than cloudbuild.yaml mounts`);
        for (const [variable, ref] of d.secrets) assert.equal(secrets[ref.split(':')[0]!], variable, `${fn}: ${ref} is mounted as ${variable}`);
      }
      assert.deepEqual(grants, {
        callback: [],
        ingest: ['vendor-http-api-key', 'vendor-segment-token'],
        mailer: ['sendgrid-api-key'],
        poller: ['retention-key', 'vendor-http-api-key', 'vendor-segment-token'],
      });
      // The grants are made on those accounts, and no function account holds a project-wide Secret Manager role.
      const accessor = tf2.instances('google_secret_manager_secret_iam_member', 'function_reads');
      for (const [key, g] of Object.entries(accessor)) {
        const [, reader] = key.split('/');
        assert.equal((g as Obj)['member'], `serviceAccount:${sa(cb2.values[`_${reader!.toUpperCase()}_SA`])}`);
        assert.equal((g as Obj)['role'], 'roles/secretmanager.secretAccessor');
      }
    });

    it('keeps a Secret Manager secret for RETENTION_KEY, mounted on the function that runs retention (the poller) only', () => {
      assert.equal((tf.local('secrets') as Record<string, string>)['retention-key'], 'RETENTION_KEY');
      assert.deepEqual(FUNCTION_CREDENTIALS['pollDeletions'], ['vendors', 'retention']);
      const poller = deployOf('pollDeletions');
      assert.equal(poller.secrets.get('RETENTION_KEY'), 'retention-key:latest');
      assert.ok(poller.env.get('RETENTION_DAYS'), 'the poller is deployed without RETENTION_DAYS: retention would stay off');
      assert.equal(loadConfig(runtimeEnv(poller)).retention?.days, Number(cb.values['_RETENTION_DAYS']));
      assert.equal(loadConfig(runtimeEnv(poller)).retention?.purgeDays, Number(cb.values['_RETENTION_PURGE_DAYS']));
      for (const fn of ['onCustomerWritten', 'sendAlert']) assert.ok(!deployOf(fn).secrets.has('RETENTION_KEY'), `${fn} mounts the retention key`);
      // Retention runs in the poller's registration (functions/index.ts): it builds the pseudonymiser.
      const index = readFileSync(join(ROOT, 'functions', 'index.ts'), 'utf8');
      const registrations = index.split(/functions\.cloudEvent\(/).slice(1);
      const runsRetention = registrations.filter((r) => r.includes('pseudonymiserFor(')).map((r) => /'(\w+)'/.exec(r)![1]);
      assert.deepEqual(runsRetention, ['pollDeletions']);
    });

    it("anchors the chain head in a bucket with a retention policy that only the poller may add to, and gives the poller that bucket", () => {
      const bucket = tf.resource('google_storage_bucket', 'anchors', undefined) as Obj;
      assert.equal(bucket['name'], `${PROJECT.id}-${String(tf.vars['anchor_bucket_suffix'])}`);
      const policy = block(bucket['retention_policy']);
      assert.ok(Number(policy['retention_period']) >= 365 * 86_400, 'anchors kept at least a year');
      assert.equal(bucket['public_access_prevention'], 'enforced');
      const grants = Object.keys(tf.resources('google_storage_bucket_iam_member')).map((n) => tf.resource('google_storage_bucket_iam_member', n, undefined) as Obj);
      const onAnchors = grants.filter((g) => g['bucket'] === bucket['name']).map((g) => `${String(g['member'])} ${String(g['role'])}`);
      assert.deepEqual(onAnchors.sort(), [`group:${String(tf.vars['operators_group'])} roles/storage.objectViewer`, `serviceAccount:${sa(cb.values['_POLLER_SA'])} roles/storage.objectCreator`].sort());
      const poller = deployOf('pollDeletions');
      assert.equal(poller.env.get('ANCHOR_BUCKET'), bucket['name'], "the poller's ANCHOR_BUCKET is the bucket Terraform makes");
      assert.equal(loadConfig(runtimeEnv(poller)).anchors.target?.kind, 'gcs');
      for (const fn of ['onCustomerWritten', 'sendAlert', PUBLIC_FUNCTION]) assert.ok(!deployOf(fn).env.has('ANCHOR_BUCKET'), `${fn} is given the anchor bucket`);
    });

    it('lets only the poller publish alerts; the poll topic takes the poller, the callback receiver and the operators group, nobody else', () => {
      const publishers: Record<string, string[]> = {};
      for (const name of Object.keys(tf.resources('google_pubsub_topic_iam_member'))) {
        const g = tf.resource('google_pubsub_topic_iam_member', name, undefined) as Obj;
        if (g['role'] !== 'roles/pubsub.publisher') continue;
        (publishers[String(g['topic'])] ??= []).push(String(g['member']));
      }
      const poller = `serviceAccount:${sa(cb.values['_POLLER_SA'])}`;
      const callback = `serviceAccount:${sa(cb.values['_CALLBACK_SA'])}`;
      assert.deepEqual(publishers['projects/acme-privacy/topics/deletion-alerts'], [poller]);
      assert.deepEqual(publishers['projects/acme-privacy/topics/deletion-poll']!.sort(), [`group:${tf.vars['operators_group']}`, poller, callback].sort());
      assert.ok(!('default' in tf.variables['operators_group']!), 'operators_group must be named by the operator');
      const projectRoles = Object.keys(tf.resources('google_project_iam_member')).flatMap((n) => Object.values(tf.instances('google_project_iam_member', n)).map((g) => String((g as Obj)['role'])));
      assert.ok(!projectRoles.some((r) => r.startsWith('roles/pubsub.') || r.startsWith('roles/secretmanager.')), `a project-wide Pub/Sub or Secret Manager role: ${projectRoles.join(', ')}`);
      // The functions' project roles: the database and nothing more.
      const fnRoles = Object.values(tf.instances('google_project_iam_member', 'functions')).map((g) => `${String((g as Obj)['member']).split('@')[0]} ${String((g as Obj)['role'])}`);
      assert.deepEqual(fnRoles.sort(), ['callback', 'ingest', 'mailer', 'poller'].flatMap((r) => [`serviceAccount:consent-erasure-${r} roles/cloudsql.client`, `serviceAccount:consent-erasure-${r} roles/cloudsql.instanceUser`]).sort());
    });
    it("sendAlert's account cannot publish to deletion-alerts: it holds no role on any topic, and no binding or policy resource could add one", () => {
      const mailer = `serviceAccount:${sa(cb.values['_MAILER_SA'])}`;
      assert.equal(deployOf('sendAlert').one('--service-account'), sa(cb.values['_MAILER_SA']), 'sendAlert runs as the mailer account');
      // A binding or policy resource replaces a topic's members wholesale, beyond what the members below show.
      for (const type of ['google_pubsub_topic_iam_binding', 'google_pubsub_topic_iam_policy', 'google_project_iam_binding', 'google_project_iam_policy']) {
        assert.deepEqual(Object.keys(tf.resources(type)), [], `${type} is not used`);
      }
      const topicGrants = Object.keys(tf.resources('google_pubsub_topic_iam_member')).flatMap((n) =>
        Object.values(tf.instances('google_pubsub_topic_iam_member', n)).map((g) => g as Obj),
      );
      assert.deepEqual(topicGrants.filter((g) => g['member'] === mailer), [], 'the mailer holds no role on any topic');
      const alertTopicRoles = topicGrants.filter((g) => g['topic'] === 'projects/acme-privacy/topics/deletion-alerts').map((g) => `${String(g['member'])} ${String(g['role'])}`);
      assert.deepEqual(alertTopicRoles, [`serviceAccount:${sa(cb.values['_POLLER_SA'])} roles/pubsub.publisher`], 'the poller alone holds a role on deletion-alerts');
    });
  });

  describe('the preflight, run as Cloud Build runs it', () => {
    it('accepts vendors http and segment from substitutions alone, and names what an operator left out', async function () {
      this.timeout(60_000);
      const { runPreflight } = await import('./preflight.js');
      const tf2 = loadTerraform({ ...tf.vars, vendors: ['http', 'segment'] });
      const ok = runPreflight(loadCloudBuild(operatorSubstitutions(tf2)));
      assert.equal(ok.status, 0, `preflight failed:\n${ok.output}`);
      assert.match(ok.output, /onCustomerWritten: configuration valid \(vendors http, segment; secrets mounted: VENDOR_HTTP_API_KEY, VENDOR_SEGMENT_TOKEN\)/);
      assert.match(ok.output, /sendAlert: configuration valid \(vendors http, segment; secrets mounted: SENDGRID_API_KEY\)/);
      // The same check in-process on what the step would pass, without the non-secret settings in _VENDOR_ENV,
      // or without _VENDOR_SECRETS from Terraform's output.
      const check = (subs: Record<string, string>) => {
        try {
          checkDeployments(parseDeployments(loadCloudBuild(subs).resolved('preflight').args.slice(3)));
          return [];
        } catch (err) {
          return (err as { problems: string[] }).problems;
        }
      };
      assert.ok(check({ ...operatorSubstitutions(tf2), _VENDOR_ENV: '' }).some((p) => /^pollDeletions: VENDOR_HTTP_BASE_URL: /.test(p)));
      assert.ok(check({ ...operatorSubstitutions(tf2), _VENDOR_SECRETS: 'VENDOR_HTTP_API_KEY=vendor-http-api-key:latest' }).includes('onCustomerWritten: VENDOR_SEGMENT_TOKEN: required credential (in a deployment, mount its secret with --set-secrets)'));
      const noFrom = runPreflight(loadCloudBuild({ ...operatorSubstitutions(tf2), _ALERT_FROM: '' }));
      assert.notEqual(noFrom.status, 0);
      assert.match(noFrom.output, /set the _ALERT_FROM substitution/);
    });

    it('passes exactly the deploy steps\' environment and secrets to the check (the same YAML anchors)', () => {
      const args = cb.resolved('preflight').args.slice(2);
      assert.equal(args[0], 'preflight');
      const groups = args.slice(1);
      for (const d of cb.deploys) {
        const at = groups.indexOf(`--function=${d.one('--entry-point')}`);
        assert.ok(at >= 0, `the preflight does not check ${d.one('--entry-point')}`);
        assert.equal(groups[at + 1], `--set-env-vars=${d.one('--set-env-vars')}`);
        if (d.secrets.size === 0 && !d.has('--set-secrets')) {
          // A function that holds no credential (the callback receiver) mounts nothing.
          assert.deepEqual(FUNCTION_CREDENTIALS[d.one('--entry-point')], []);
          assert.ok(!groups[at + 2]?.startsWith('--set-secrets='), `${d.name}: the preflight mounts secrets its deploy does not`);
        } else assert.equal(groups[at + 2], `--set-secrets=${d.one('--set-secrets')}`);
      }
      const secretsStep = cb.resolved('secret-versions').args.slice(3);
      assert.deepEqual(secretsStep, cb.deploys.filter((d) => d.has('--set-secrets')).map((d) => `--set-secrets=${d.one('--set-secrets')}`));
    });

    it('migrates as the build account through the Cloud SQL connector, as the owner role the bootstrap makes', () => {
      const migrate = cb.step('migrate');
      assert.ok(migrate?.env);
      const env = pairs(migrate.env, 'migrate env');
      assert.equal(env.get('CLOUD_SQL_INSTANCE'), '${PROJECT_ID}:${_REGION}:${_INSTANCE}');
      assert.equal(env.get('DB_IAM_USER'), '${_BUILD_SA}@${PROJECT_ID}.iam');
      assert.ok(!env.has('DATABASE_URL'));
      const role = tf.local('database_owner_role');
      assert.match(migrate.args.join('\n'), new RegExp(`consent-erasure\\.js migrate --role=${String(role)}$`, 'm'));
      const bootstrap = String(tf.output('database_bootstrap_sql'));
      assert.match(bootstrap, new RegExp(`create role ${String(role)} nologin`));
      assert.match(bootstrap, new RegExp(`grant ${String(role)} to "${cb.values['_BUILD_SA']}@${PROJECT.id}.iam" with inherit false, set true`));
      assert.doesNotMatch(bootstrap, /on schema public to "/, 'an account gets rights on the schema of its own (objects it creates would be its own)');
      for (const fn of ['_INGEST_SA', '_POLLER_SA', '_MAILER_SA'])
        assert.match(bootstrap, new RegExp(`grant consent_erasure_runtime to .*"${cb.values[fn]}@${PROJECT.id}\\.iam"`));
      assert.equal(cb.build.serviceAccount, 'projects/${PROJECT_ID}/serviceAccounts/${_BUILD_SA}@${PROJECT_ID}.iam.gserviceaccount.com');
      for (const d of cb.deploys) assert.ok(cb.step(d.stepId)?.waitFor?.includes('migrate'), `${d.name} deploys before migrations ran`);
      assert.deepEqual(cb.step('migrate')?.waitFor, ['preflight', 'secret-versions']);
    });

    it('gives every function the runtime configuration loadConfig accepts, with its own database user', () => {
      for (const d of cb.deploys) {
        const config = loadConfig(runtimeEnv(d));
        assert.deepEqual(config.database, {
          kind: 'cloudsql',
          instanceConnectionName: `${PROJECT.id}:${cb.values['_REGION']}:${cb.values['_INSTANCE']}`,
          ipType: 'PUBLIC',
          iamUser: d.one('--service-account').replace(/\.gserviceaccount\.com$/, ''),
          database: cb.values['_DB_NAME'],
          poolMax: config.database.poolMax,
        });
        assert.equal(config.projectId, PROJECT.id);
        assert.deepEqual(config.vendors.map((v) => v.name), cb.values['_VENDORS']!.split(','));
      }
      const mailer = loadConfig(runtimeEnv(deployOf('sendAlert')));
      assert.ok(mailer.alerts.sendgridApiKey && mailer.alerts.from && mailer.alerts.to.length > 0);
    });
  });

  describe('names shared by cloudbuild.yaml, infra/ and the code', () => {
    it('uses every substitution Terraform outputs, and defaults each to what Terraform makes by default', () => {
      const fromTf = operatorSubstitutions(loadTerraform(), {});
      for (const [key, value] of Object.entries(fromTf)) {
        assert.ok(key in cb.build.substitutions, `Terraform outputs ${key}, which cloudbuild.yaml does not declare (Cloud Build refuses an unmatched substitution)`);
        assert.equal(cb.build.substitutions[key], value, `cloudbuild.yaml's default ${key} differs from Terraform's`);
      }
    });

    it('uses the same topic names as the config defaults, and the Scheduler publishes {} to the poll topic', () => {
      for (const d of cb.deploys) {
        assert.equal(d.env.get('POLL_TOPIC') ?? defaults.topics.poll, defaults.topics.poll);
        assert.equal(d.env.get('ALERT_TOPIC') ?? defaults.topics.alerts, defaults.topics.alerts);
      }
      const job = Object.values(tf.resources('google_cloud_scheduler_job'));
      assert.equal(job.length, 1);
      const target = block(job[0]!['pubsub_target']);
      assert.equal(target['topic_name'], '${google_pubsub_topic.poll.id}');
      assert.equal(target['data'], '${base64encode("{}")}', 'the Scheduler must publish {} (non-empty data)');
    });

    it('drains each dead-letter topic with a subscription that never expires', () => {
      for (const [dlq, drain] of [
        ['poll_dead_letter', 'poll_dead_letter_drain'],
        ['alerts_dead_letter', 'alerts_dead_letter_drain'],
      ] as const) {
        const sub = tf.resource('google_pubsub_subscription', drain, undefined) as Obj;
        assert.equal(sub['topic'], (tf.resource('google_pubsub_topic', dlq, undefined) as Obj)['id']);
        assert.ok(!('push_config' in sub), `${drain} is for a person to pull`);
        assert.equal(block(sub['expiration_policy'])['ttl'], '');
      }
    });

    it('names the IAM database users the way Cloud SQL does, and the runtime role the migrations grant to', () => {
      for (const [name, u] of Object.entries(tf.resources('google_sql_user'))) {
        assert.equal(u['type'], 'CLOUD_IAM_SERVICE_ACCOUNT', name);
        assert.match(String(u['name']), /^\$\{trimsuffix\((google_service_account\.\w+|each\.value)\.email, "\.gserviceaccount\.com"\)\}$/);
      }
      const role = String(tf.local('database_runtime_role'));
      const migrations = readdirSync(join(ROOT, 'sql'))
        .filter((f) => f.endsWith('.sql'))
        .map((f) => readFileSync(join(ROOT, 'sql', f), 'utf8'))
        .join('\n');
      assert.match(migrations, new RegExp(`create role ${role}\\b`), `no migration creates the role ${role}`);
      assert.match(migrations, new RegExp(`to ${role}\\b`), `no migration grants anything to ${role}`);
    });

    it('agrees on region, database location, Firestore database, instance, database and repository', () => {
      const same: Array<[string, string]> = [
        ['_REGION', 'region'],
        ['_DATABASE_LOCATION', 'firestore_location'],
        ['_FIRESTORE_DATABASE', 'firestore_database'],
        ['_INSTANCE', 'sql_instance_name'],
        ['_DB_NAME', 'database_name'],
        ['_ARTIFACT_REPOSITORY', 'artifact_repository_id'],
      ];
      for (const [sub, variable] of same) assert.equal(cb.values[sub], tf.defaultOf(variable), `${sub} differs from var.${variable}`);
    });

    it('counts log events the code writes, from the functions cloudbuild.yaml deploys', () => {
      const events = loggedEvents();
      const metrics = tf.local('log_metrics') as Record<string, { event: string; kinds: string[] }>;
      assert.ok(Object.keys(metrics).length >= 4);
      for (const [name, m] of Object.entries(metrics)) {
        assert.ok(events.has(m.event), `metric ${name} counts event "${m.event}", which nothing in functions/ logs`);
        for (const k of m.kinds) assert.ok((ALERT_KINDS as readonly string[]).includes(k), `metric ${name}: unknown alert kind ${k}`);
      }
      assert.deepEqual(Object.values(tf.local('function_services') as Record<string, string>).sort(), cb.deploys.map((d) => d.name).sort());
    });
  });

  describe('secrets', () => {
    it('names in infra/secrets.tf every vendor credential the code reads, by the same rule', () => {
      const settings = tf.local('vendor_secret_settings') as Record<string, string[]>;
      assert.deepEqual(
        Object.fromEntries(Object.entries(settings).sort()),
        Object.fromEntries(Object.entries(SECRET_SETTINGS).map(([v, s]) => [v, s.map(kebab)]).sort()),
        'infra/secrets.tf vendor_secret_settings differs from functions/vendors/settings.ts SECRET_SETTINGS',
      );
      const all = loadTerraform({ ...tf.vars, vendors: [...VENDOR_KINDS] });
      assert.deepEqual(Object.values(all.local('secrets') as Record<string, string>).sort(), secretVariables(VENDOR_KINDS).sort());
    });

    it('mounts only versions that exist by name (secret:latest or a number)', () => {
      for (const d of cb.deploys)
        for (const [, ref] of d.secrets) assert.match(ref, /^[a-z0-9-]+:(latest|\d+)$/, `${d.name}: ${ref}`);
      assert.deepEqual(tf.defaultOf('vendors'), cb.build.substitutions['_VENDORS']!.split(','), 'Terraform vendors default differs from _VENDORS');
    });
  });

  describe('infra/', () => {
    it('parses every file and pins the providers', () => {
      for (const f of ['versions.tf', 'backend.tf', 'variables.tf', 'outputs.tf', 'apis.tf', 'iam.tf', 'pubsub.tf', 'scheduler.tf', 'sql.tf', 'secrets.tf', 'monitoring.tf', 'firestore.tf', 'artifacts.tf'])
        assert.ok(tf.files.includes(f), `infra/${f} is missing`);
      const terraform = block(tf.parsed['versions.tf']!['terraform']);
      const providers = block(terraform['required_providers']) as Record<string, { source: string; version: string }>;
      for (const p of ['google', 'google-beta', 'time']) assert.match(providers[p]!.version, /^\d+\.\d+\.\d+$/, `provider ${p} must be pinned exactly`);
      assert.equal(providers['google']!.version, providers['google-beta']!.version, 'google and google-beta are released together');
    });

    it('keeps the state in a GCS backend whose bucket is given at init', () => {
      const backend = block(tf.parsed['backend.tf']!['terraform'])['backend'] as Record<string, Obj[]>;
      const gcs = backend['gcs']![0]!;
      assert.ok(!('bucket' in gcs), 'the bucket is a partial configuration (-backend-config), not a literal');
      assert.ok(gcs['prefix']);
    });

    it('describes, types and validates every variable', () => {
      for (const [name, v] of Object.entries(tf.variables)) {
        assert.ok(typeof v['description'] === 'string' && v['description'].length > 10, `var.${name}: description`);
        assert.ok(v['type'], `var.${name}: type`);
        if (v['type'] !== '${bool}' && name !== 'poll_time_zone') assert.ok(v['validation'], `var.${name}: validation`);
      }
    });

    it('enables the APIs the deploy needs, and bootstrap.sh the ones Terraform needs before it can enable any', () => {
      const apis = tf.local('required_apis') as string[];
      for (const api of ['cloudfunctions', 'run', 'eventarc', 'pubsub', 'cloudscheduler', 'sqladmin', 'secretmanager', 'artifactregistry', 'cloudbuild', 'logging', 'monitoring', 'firestore'])
        assert.ok(apis.includes(`${api}.googleapis.com`), `${api}.googleapis.com is not enabled`);
      const bootstrap = readFileSync(join(ROOT, 'infra', 'bootstrap.sh'), 'utf8');
      assert.equal(spawnSync('bash', ['-n', join(ROOT, 'infra', 'bootstrap.sh')]).status, 0, 'infra/bootstrap.sh does not parse');
      const enabled = /gcloud services enable([\s\S]*?)--project/.exec(bootstrap)?.[1] ?? '';
      for (const api of ['serviceusage', 'cloudresourcemanager', 'storage']) assert.match(enabled, new RegExp(`\\b${api}\\.googleapis\\.com\\b`), `bootstrap.sh does not enable ${api}`);
      assert.ok(tf.parsed['versions.tf']!['data'], 'versions.tf reads data "google_project" (Resource Manager)');
    });

    it('makes the Pub/Sub and Eventarc service agents before any binding names them, and waits for their grants', () => {
      for (const svc of ['pubsub', 'eventarc']) {
        const id = tf.resources('google_project_service_identity')[svc];
        assert.ok(id, `no google_project_service_identity.${svc}`);
        assert.equal(id['provider'], '${google-beta}');
        assert.equal(id['service'], `${svc}.googleapis.com`);
      }
      // No agent's address written by hand: every binding goes through the identity resource.
      for (const [file, text] of tf.files.map((f) => [f, readFileSync(join(ROOT, 'infra', f), 'utf8')] as const))
        assert.doesNotMatch(text, /gcp-sa-(pubsub|eventarc)/, `infra/${file} writes a service agent's address instead of using google_project_service_identity`);
      assert.equal(tf.local('pubsub_service_agent'), `serviceAccount:service-${PROJECT.number}@gcp-sa-pubsub.iam.gserviceaccount.com`);
      const eventarc = tf.resource('google_project_iam_member', 'eventarc_agent', undefined) as Obj;
      assert.deepEqual([eventarc['role'], eventarc['member']], ['roles/eventarc.serviceAgent', `serviceAccount:service-${PROJECT.number}@gcp-sa-eventarc.iam.gserviceaccount.com`]);
      const sleep = tf.resources('time_sleep')['service_agent_grants']!;
      assert.ok(seconds(String(sleep['create_duration'])) >= 120);
      assert.match(JSON.stringify(sleep['triggers']), /google_project_iam_member\.eventarc_agent/);
      const outputs = tf.parsed['outputs.tf']!['output'] as Record<string, Obj[]>;
      assert.deepEqual(outputs['cloudbuild_substitutions']![0]!['depends_on'], ['${time_sleep.service_agent_grants}'], 'the apply must end after the wait');
    });

    it('waits for new log-based metrics before their alert policies', () => {
      const sleep = tf.resources('time_sleep')['log_metrics_known']!;
      assert.ok(seconds(String(sleep['create_duration'])) >= 600, 'Cloud Monitoring takes up to 10 minutes to know a new metric');
      assert.match(JSON.stringify(sleep['triggers']), /google_logging_metric\.events/);
      const policy = tf.resources('google_monitoring_alert_policy')['events']!;
      assert.deepEqual(policy['depends_on'], ['${time_sleep.log_metrics_known}']);
    });

    it('creates the Firestore database by default, where the trigger expects it', () => {
      assert.equal(tf.defaultOf('create_firestore_database'), true);
      const db = tf.resources('google_firestore_database')['customers']!;
      assert.equal(db['count'], '${var.create_firestore_database ? 1 : 0}');
      assert.equal(db['location_id'], '${var.firestore_location}');
      assert.equal(db['name'], '${var.firestore_database}');
      assert.equal(db['type'], 'FIRESTORE_NATIVE');
    });

    it('deletes old function images and keeps the recent ones, and lets the build delete artifacts in its repository', () => {
      const repo = tf.resources('google_artifact_registry_repository')['functions']!;
      assert.equal(repo['cleanup_policy_dry_run'], false);
      const policies = repo['cleanup_policies'] as Obj[];
      assert.ok(policies.some((p) => p['action'] === 'DELETE' && block(p['condition'])['older_than']), 'no DELETE rule: nothing is ever deleted');
      assert.ok(policies.some((p) => p['action'] === 'KEEP' && p['most_recent_versions']), 'no KEEP rule for the newest versions');
      const grant = tf.resources('google_artifact_registry_repository_iam_member')['build_repo_admin']!;
      assert.equal(grant['role'], 'roles/artifactregistry.repoAdmin', 'the build needs deleteArtifacts (roles/run.builder) on its repository');
    });

    it('turns on IAM database authentication on the Cloud SQL instance', () => {
      const instance = Object.values(tf.resources('google_sql_database_instance'))[0]!;
      const flags = block(instance['settings'])['database_flags'] as Array<{ name: string; value: string }>;
      assert.ok(flags.some((f) => f.name === 'cloudsql.iam_authentication' && f.value === 'on'));
    });
  });

  describe('infra/README.md', () => {
    const readme = readFileSync(join(ROOT, 'infra', 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

    it('runs every command from the repository root: no cd, terraform always with -chdir=infra', () => {
      assert.ok(commands.length > 10);
      for (const c of commands) assert.doesNotMatch(c, /^cd\b|[;&|]\s*cd\b/, `"${c}" changes directory`);
      for (const c of commands.filter((x) => /^terraform\b/.test(x))) assert.match(c, /^terraform -chdir=infra /, `"${c}" does not run from the repository root`);
      for (const c of commands.filter((x) => /gcloud builds submit/.test(x))) assert.match(c, /--config=cloudbuild\.yaml/);
    });

    it('walks the first deploy in order: bootstrap, init with the state bucket, apply, secrets (an empty http key too), SQL, build', () => {
      const at = (re: RegExp) => {
        const i = commands.findIndex((c) => re.test(c));
        assert.ok(i >= 0, `infra/README.md has no command matching ${re}`);
        return i;
      };
      const order = [
        at(/^infra\/bootstrap\.sh /),
        at(/^terraform -chdir=infra init -backend-config="bucket=/),
        at(/^terraform -chdir=infra apply /),
        at(/gcloud secrets versions add retention-key /),
        at(/^printf ' ' \| gcloud secrets versions add vendor-http-api-key /),
        at(/terraform -chdir=infra output -raw database_bootstrap_sql/),
        at(/^gcloud builds submit /),
      ];
      assert.deepEqual(order, [...order].sort((a, b) => a - b), 'the steps are out of order');
      for (const id of Object.keys(tf.local('secrets') as Obj)) assert.ok(commands.some((c) => c.includes(`gcloud secrets versions add ${id} `)), `no step adds a version to ${id}`);
      assert.match(readme, /terraform -chdir=infra destroy/);
    });
  });
});

