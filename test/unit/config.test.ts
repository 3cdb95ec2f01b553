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
    assert.equal(c.deadline.days, 30);
    assert.deepEqual(
      c.vendors.map((v) => v.name),
      ['http'],
    );
    assert.equal((c.vendors[0]!.settings as Record<string, unknown>)['createPath'], '/deletions');
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ ...base, CONSENT_FIELD: '', POLL_TOPIC: '  ' });
    assert.equal(c.consentField, 'analyticsConsent');
    assert.equal(c.topics.poll, 'deletion-poll');
  });

  it('reads Cloud SQL settings when there is no DATABASE_URL', () => {
    const c = loadConfig({
      VENDOR_HTTP_BASE_URL: 'http://x',
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

  const failures: Array<[string, Record<string, string>, RegExp[]]> = [
    ['no database at all', { VENDOR_HTTP_BASE_URL: 'http://x' }, [/DATABASE_URL: required/]],
    ['half a Cloud SQL setting', { VENDOR_HTTP_BASE_URL: 'http://x', CLOUD_SQL_INSTANCE: 'p:r:i' }, [/DB_IAM_USER, DB_NAME/]],
    ['a non-postgres URL', { ...base, DATABASE_URL: 'mysql://x' }, [/DATABASE_URL: must be a postgres/]],
    ['an unknown vendor', { ...base, VENDORS: 'http,acme' }, [/unknown vendor "acme"/]],
    ['a vendor without its base URL', { DATABASE_URL: base.DATABASE_URL }, [/VENDOR_HTTP_BASE_URL/]],
    ['a bad consent field path', { ...base, CONSENT_FIELD: 'a..b' }, [/CONSENT_FIELD/]],
    ['a bad policy override', { ...base, VENDOR_HTTP_RATE_PER_SECOND: '-1' }, [/VENDOR_HTTP_RATE_PER_SECOND/]],
    ['retention without its key', { ...base, RETENTION_DAYS: '365' }, [/RETENTION_KEY: required/]],
    ['a bad recipient', { ...base, ALERT_TO: 'ops@example.com, nope' }, [/ALERT_TO: "nope"/]],
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

  it('lists every problem at once', () => {
    try {
      loadConfig({ DEADLINE_DAYS: 'soon', VENDORS: 'nope', LOG_LEVEL: 'loud' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.length >= 4, err.message);
      assert.match(err.message, /DEADLINE_DAYS/);
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
    assert.equal(c.retention?.days, 365);
    const text = JSON.stringify(redactConfig(c));
    assert.doesNotMatch(text, /vendor-secret|SG\.secret|:pw@|retention-secret/);
    assert.match(text, /\[redacted\]/);
  });
});
