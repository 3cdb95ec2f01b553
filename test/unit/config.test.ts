import assert from 'node:assert/strict';
import { loadConfig, redactConfig } from '../../functions/config.js';
import { ConfigError } from '../../functions/errors.js';

const base = { DATABASE_URL: 'postgres://u:pw@127.0.0.1:5432/db', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9000' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.consentField, 'analyticsConsent');
    assert.equal(c.customersCollection, 'customers');
    assert.deepEqual(c.topics, { poll: 'deletion-poll', alerts: 'deletion-alerts' });
    assert.deepEqual(c.deadline, { warningDays: 7, riskMarginMs: 3 * 86_400_000 });
    assert.deepEqual(
      c.vendors.map((v) => v.name),
      ['http'],
    );
    assert.equal((c.vendors[0]!.settings as Record<string, unknown>)['createPath'], '/deletions');
  });

  it('reads the request regime settings: field, default and the value mapping over the built-in one', () => {
    assert.deepEqual({ field: loadConfig(base).regime.field, defaultRegime: loadConfig(base).regime.defaultRegime }, { field: 'privacyRegion', defaultRegime: 'gdpr' });
    const c = loadConfig({ ...base, CONSENT_REGIME_FIELD: 'privacy.region', DEFAULT_REGIME: 'ccpa', REGIME_VALUES: 'California=ccpa,UK=gdpr' });
    assert.equal(c.regime.field, 'privacy.region');
    assert.equal(c.regime.defaultRegime, 'ccpa');
    assert.equal(c.regime.values['california'], 'ccpa');
    assert.equal(c.regime.values['us-va'], 'vcdpa');
    assert.match(JSON.stringify(redactConfig(c)), /"california":"ccpa"/, 'the mapping shows in the start-up log');
  });

  it('reads a monthly subject quota and its alert share per vendor', () => {
    const c = loadConfig({ ...base, VENDORS: 'segment', VENDOR_SEGMENT_TOKEN: 't', VENDOR_SEGMENT_MONTHLY_SUBJECT_QUOTA: '50000', VENDOR_SEGMENT_QUOTA_ALERT_PERCENT: '90' });
    assert.deepEqual(c.vendors[0]!.policy, { monthlySubjectQuota: 50_000, quotaAlertShare: 0.9 });
    for (const bad of ['0', '101', 'most']) {
      assert.throws(() => loadConfig({ ...base, VENDORS: 'segment', VENDOR_SEGMENT_TOKEN: 't', VENDOR_SEGMENT_QUOTA_ALERT_PERCENT: bad }), /VENDOR_SEGMENT_QUOTA_ALERT_PERCENT/);
    }
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ ...base, CONSENT_FIELD: '', POLL_TOPIC: '  ' });
    assert.equal(c.consentField, 'analyticsConsent');
    assert.equal(c.topics.poll, 'deletion-poll');
  });

  it('reads Cloud SQL settings when there is no DATABASE_URL', () => {
    const c = loadConfig({
      VENDOR_HTTP_BASE_URL: 'https://x',
      CLOUD_SQL_INSTANCE: 'p:us-central1:i',
      DB_IAM_USER: 'fn@p.iam',
      DB_NAME: 'erasure',
    });
    assert.deepEqual(c.database, {
      kind: 'cloudsql',
      instanceConnectionName: 'p:us-central1:i',
      ipType: 'PUBLIC',
      iamUser: 'fn@p.iam',
      database: 'erasure',
      poolMax: 5,
    });
  });

  it('CONCURRENCY alone fixes the calls in flight; with MAX_CONCURRENCY the poller sizes between the two', () => {
    assert.deepEqual(loadConfig({ ...base, VENDOR_HTTP_CONCURRENCY: '16' }).vendors[0]!.policy, { concurrency: 16, maxConcurrency: 16 });
    assert.deepEqual(loadConfig({ ...base, VENDOR_HTTP_CONCURRENCY: '4', VENDOR_HTTP_MAX_CONCURRENCY: '64' }).vendors[0]!.policy, { concurrency: 4, maxConcurrency: 64 });
    assert.deepEqual(loadConfig({ ...base, VENDOR_HTTP_MAX_CONCURRENCY: '64' }).vendors[0]!.policy, { maxConcurrency: 64 });
  });

  const failures: Array<[string, Record<string, string>, RegExp[]]> = [
    ['no database at all', { VENDOR_HTTP_BASE_URL: 'https://x' }, [/DATABASE_URL: required/]],
    ['half a Cloud SQL setting', { VENDOR_HTTP_BASE_URL: 'https://x', CLOUD_SQL_INSTANCE: 'p:r:i' }, [/DB_IAM_USER, DB_NAME/]],
    ['a non-postgres URL', { ...base, DATABASE_URL: 'mysql://x' }, [/DATABASE_URL: must be a postgres/]],
    ['an unknown vendor', { ...base, VENDORS: 'http,acme' }, [/unknown vendor "acme"/]],
    ['a vendor without its base URL', { DATABASE_URL: base.DATABASE_URL }, [/VENDOR_HTTP_BASE_URL/]],
    ['a bad consent field path', { ...base, CONSENT_FIELD: 'a..b' }, [/CONSENT_FIELD/]],
    ['a bad policy override', { ...base, VENDOR_HTTP_RATE_PER_SECOND: '-1' }, [/VENDOR_HTTP_RATE_PER_SECOND/]],
    ['a maximum in flight below the least', { ...base, VENDOR_HTTP_CONCURRENCY: '16', VENDOR_HTTP_MAX_CONCURRENCY: '4' }, [/VENDOR_HTTP_MAX_CONCURRENCY: must be at least VENDOR_HTTP_CONCURRENCY \(16\)/]],
    ['retention without its key', { ...base, RETENTION_DAYS: '365' }, [/RETENTION_KEY: required/]],
    ['a bad recipient', { ...base, ALERT_TO: 'ops@example.com, nope' }, [/ALERT_TO: "nope"/]],
    ['an unknown default regime', { ...base, DEFAULT_REGIME: 'hipaa' }, [/DEFAULT_REGIME/]],
    ['a bad regime field path', { ...base, CONSENT_REGIME_FIELD: 'region.' }, [/CONSENT_REGIME_FIELD/]],
    ['a vendor base URL over plain http to another host', { ...base, VENDOR_HTTP_BASE_URL: 'http://vendor.example.com' }, [/VENDOR_HTTP_BASE_URL: must be an https: URL/]],
    ['a vendor base URL over plain http to a private address', { ...base, VENDORS: 'http,segment', VENDOR_SEGMENT_TOKEN: 't', VENDOR_SEGMENT_BASE_URL: 'http://10.0.0.7:8090' }, [/VENDOR_SEGMENT_BASE_URL: must be an https: URL/]],
    ['a SendGrid base URL over plain http', { ...base, SENDGRID_BASE_URL: 'http://sendgrid.example.com' }, [/SENDGRID_BASE_URL: must be an https: URL/]],
    ['a regime mapping to no known regime', { ...base, REGIME_VALUES: 'EU=gdpr,Mars=martian' }, [/REGIME_VALUES: "Mars=martian" names no known regime/]],
  ];
  for (const [name, env, patterns] of failures) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          for (const p of patterns) assert.match(err.message, p);
          return true;
        },
      );
    });
  }

  it('accepts https base URLs anywhere and plain http to this machine only (the local stack, tests)', () => {
    for (const url of ['https://api.example.com', 'http://127.0.0.1:8090/http', 'http://localhost:8090', 'http://[::1]:8090']) {
      assert.equal(loadConfig({ ...base, VENDOR_HTTP_BASE_URL: url, SENDGRID_BASE_URL: url }).vendors?.[0]?.settings.baseUrl, url);
    }
  });

  it('lists every problem at once', () => {
    try {
      loadConfig({ DEADLINE_WARNING_DAYS: 'soon', VENDORS: 'nope', LOG_LEVEL: 'loud' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.length >= 4, err.message);
      assert.match(err.message, /DEADLINE_WARNING_DAYS/);
      assert.match(err.message, /LOG_LEVEL/);
      assert.match(err.message, /DATABASE_URL/);
      assert.match(err.message, /unknown vendor "nope"/);
    }
  });

  it('redacts credentials for the start-up log', () => {
    const c = loadConfig({
      ...base,
      VENDOR_HTTP_API_KEY: 'vendor-secret',
      SENDGRID_API_KEY: 'SG.secret',
      RETENTION_DAYS: '365',
      RETENTION_KEY: 'retention-secret-retention-secret-0123',
    });
    assert.deepEqual([c.retention?.days, c.retention?.purgeDays], [365, 730], 'the purge defaults to twice a period longer than 365 days');
    const text = JSON.stringify(redactConfig(c));
    assert.doesNotMatch(text, /vendor-secret|SG\.secret|:pw@|retention-secret/);
    assert.match(text, /\[redacted\]/);
  });
});

describe('loadConfig: each deployed function holds only its own credentials', () => {
  const segment = { ...base, VENDORS: 'http,segment' };
  const problems = (fn: () => unknown): string[] => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems;
    }
    assert.fail('expected a ConfigError');
  };

  it('refuses a missing vendor credential where vendors are called (no FUNCTION_TARGET, the ingest, the poller)', () => {
    for (const target of [undefined, 'onCustomerWritten', 'pollDeletions']) {
      const env = target ? { ...segment, FUNCTION_TARGET: target, RETENTION_KEY: 'k'.repeat(40), ANCHOR_BUCKET: 'proj-anchors' } : segment;
      assert.deepEqual(problems(() => loadConfig(env)), [
        'VENDOR_SEGMENT_TOKEN: required credential (in a deployment, mount its secret with --set-secrets)',
      ]);
    }
  });

  it('starts sendAlert without vendor credentials, but not without SendGrid', () => {
    const c = loadConfig({ ...segment, FUNCTION_TARGET: 'sendAlert', SENDGRID_API_KEY: 'SG.k' });
    assert.deepEqual(
      c.vendors.map((v) => v.name),
      ['http', 'segment'],
    );
    assert.equal((c.vendors[1]!.settings as Record<string, unknown>)['token'], undefined);
    assert.deepEqual(problems(() => loadConfig({ ...segment, FUNCTION_TARGET: 'sendAlert' })), [
      'SENDGRID_API_KEY: required by sendAlert, which sends the alert emails (mount its secret with --set-secrets)',
    ]);
  });

  it('gives the retention key to the poller only', () => {
    const env = { ...base, RETENTION_DAYS: '30', RETENTION_KEY: 'k'.repeat(40) };
    assert.equal(loadConfig({ ...env, FUNCTION_TARGET: 'pollDeletions', ANCHOR_BUCKET: 'proj-anchors' }).retention?.days, 30);
    assert.equal(loadConfig({ ...base, RETENTION_DAYS: '30', FUNCTION_TARGET: 'onCustomerWritten' }).retention, undefined);
    assert.deepEqual(problems(() => loadConfig({ ...base, RETENTION_DAYS: '30', FUNCTION_TARGET: 'pollDeletions', ANCHOR_BUCKET: 'proj-anchors' })), [
      'RETENTION_KEY: required while retention is on (RETENTION_DAYS is 30; the key of the hash that replaces customer ids; RETENTION_DAYS=off keeps them)',
    ]);
  });

  it('runs retention by default in the poller: 30 days, then the purge at 365; only an explicit off stops it', () => {
    const key = 'k'.repeat(40);
    const poller = { ...base, FUNCTION_TARGET: 'pollDeletions', ANCHOR_BUCKET: 'proj-anchors' };
    assert.deepEqual(loadConfig({ ...poller, RETENTION_KEY: key }).retention, { days: 30, purgeDays: 365, key });
    assert.deepEqual(problems(() => loadConfig(poller)), [
      'RETENTION_KEY: required while retention is on (RETENTION_DAYS defaults to 30; the key of the hash that replaces customer ids; RETENTION_DAYS=off keeps them)',
    ]);
    assert.equal(loadConfig({ ...poller, RETENTION_DAYS: 'off' }).retention, undefined);
    assert.deepEqual(loadConfig({ ...poller, RETENTION_KEY: key, RETENTION_PURGE_DAYS: 'off' }).retention, { days: 30, purgeDays: null, key });
    assert.deepEqual(loadConfig({ ...poller, RETENTION_KEY: key, RETENTION_DAYS: '7', RETENTION_PURGE_DAYS: '90' }).retention, { days: 7, purgeDays: 90, key });
    // Elsewhere (the CLI) the key only finds pseudonymised records; without it nothing is refused.
    assert.equal(loadConfig(base).retention, undefined);
  });

  const badRetention: Array<[string, Record<string, string>, string]> = [
    ['0 days', { RETENTION_DAYS: '0' }, 'RETENTION_DAYS: 0 is not a retention period: set RETENTION_DAYS=off to keep customer ids (and say why in the deployment)'],
    ['a word', { RETENTION_DAYS: 'never' }, 'RETENTION_DAYS: must be a whole number of days from 1 to 36500, or off'],
    ['a fraction', { RETENTION_PURGE_DAYS: '1.5' }, 'RETENTION_PURGE_DAYS: must be a whole number of days from 1 to 36500, or off'],
    ['a purge before the pseudonym', { RETENTION_DAYS: '60', RETENTION_PURGE_DAYS: '30' }, 'RETENTION_PURGE_DAYS: must be more than RETENTION_DAYS (60): the pseudonym is dropped after the id is replaced'],
  ];
  for (const [name, env, message] of badRetention) {
    it(`refuses a retention setting: ${name}`, () => {
      assert.deepEqual(problems(() => loadConfig({ ...base, FUNCTION_TARGET: 'pollDeletions', ANCHOR_BUCKET: 'proj-anchors', RETENTION_KEY: 'k'.repeat(40), ...env })), [message]);
    });
  }

  it('validates a deployment without secret values: mounted credentials count as present, missing ones are named', () => {
    const poller = { ...segment, FUNCTION_TARGET: 'pollDeletions', ANCHOR_BUCKET: 'proj-anchors', RETENTION_DAYS: '30' };
    const c = loadConfig(poller, { mountedSecrets: ['VENDOR_HTTP_API_KEY', 'VENDOR_SEGMENT_TOKEN', 'RETENTION_KEY'] });
    assert.equal((c.vendors[1]!.settings as Record<string, unknown>)['token'], undefined, 'no value is invented for a mounted secret');
    assert.deepEqual(problems(() => loadConfig(poller, { mountedSecrets: ['VENDOR_HTTP_API_KEY'] })), [
      'VENDOR_SEGMENT_TOKEN: required credential (in a deployment, mount its secret with --set-secrets)',
      'RETENTION_KEY: required while retention is on (RETENTION_DAYS is 30; the key of the hash that replaces customer ids; RETENTION_DAYS=off keeps them)',
    ]);
    assert.ok(loadConfig({ ...segment, FUNCTION_TARGET: 'sendAlert' }, { mountedSecrets: ['SENDGRID_API_KEY'] }));
    // Everything that is not a secret is still checked.
    assert.deepEqual(problems(() => loadConfig({ ...poller, VENDOR_HTTP_BASE_URL: 'not a url' }, { mountedSecrets: ['VENDOR_SEGMENT_TOKEN', 'RETENTION_KEY'] })).length, 1);
  });
});
