import assert from 'node:assert/strict';
import { checkDeployments, credentialVariables, gcloudList, parseDeployments } from '../../../functions/cli/deployment.js';
import { ConfigError } from '../../../functions/errors.js';

const env = '--set-env-vars=^|^DATABASE_URL=postgres://u@127.0.0.1/db|VENDORS=http,segment|VENDOR_HTTP_BASE_URL=https://d.example|ALERT_FROM=a@example.org|ALERT_TO=b@example.org|';
const vendorSecrets = 'VENDOR_HTTP_API_KEY=vendor-http-api-key:latest,VENDOR_SEGMENT_TOKEN=vendor-segment-token:3';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return assert.fail('expected a ConfigError');
}

describe('deployment check (the build preflight)', () => {
  it("reads gcloud's list syntax: a custom delimiter, and a trailing empty item dropped as gcloud drops it", () => {
    assert.deepEqual(gcloudList('^|^A=1|B=a,b|'), ['A=1', 'B=a,b']);
    assert.deepEqual(gcloudList('A=s:latest,B=t:1'), ['A=s:latest', 'B=t:1']);
  });

  it('accepts each function with exactly its own secrets, values unread', () => {
    const checked = checkDeployments(
      parseDeployments([
        '--function=onCustomerWritten', env, `--set-secrets=${vendorSecrets}`,
        '--function=pollDeletions', `${env}ANCHOR_BUCKET=p-consent-erasure-anchors`, `--set-secrets=RETENTION_KEY=retention-key:latest,${vendorSecrets}`,
        '--function=sendAlert', env, '--set-secrets=SENDGRID_API_KEY=sendgrid-api-key:latest',
      ]),
    );
    assert.deepEqual(
      checked.map((c) => [c.name, c.vendors.join(','), c.mounted.length]),
      [['onCustomerWritten', 'http,segment', 2], ['pollDeletions', 'http,segment', 3], ['sendAlert', 'http,segment', 1]],
    );
  });

  it("refuses another function's secret, a missing one and a credential passed as a plain variable, naming each", () => {
    assert.deepEqual(
      problems(() =>
        checkDeployments(
          parseDeployments([
            '--function=onCustomerWritten', env, '--set-secrets=VENDOR_HTTP_API_KEY=vendor-http-api-key:latest,SENDGRID_API_KEY=sendgrid-api-key:latest',
            '--function=sendAlert', `${env}SENDGRID_API_KEY=SG.x`, `--set-secrets=${vendorSecrets}`,
          ]),
        ),
      ),
      [
        'onCustomerWritten: mounts SENDGRID_API_KEY, which it does not read (each function gets only its own secrets)',
        'onCustomerWritten: VENDOR_SEGMENT_TOKEN: required credential (in a deployment, mount its secret with --set-secrets)',
        'sendAlert: SENDGRID_API_KEY is a credential; mount it from Secret Manager (--set-secrets), not --set-env-vars',
        'sendAlert: mounts VENDOR_HTTP_API_KEY, which it does not read (each function gets only its own secrets)',
        'sendAlert: mounts VENDOR_SEGMENT_TOKEN, which it does not read (each function gets only its own secrets)',
      ],
    );
  });

  it('refuses malformed arguments and unknown functions', () => {
    assert.equal(problems(() => parseDeployments([env])).length, 2, '--set-env-vars before any --function, and no function');
    assert.match(problems(() => parseDeployments(['--function=x', '--set-secrets=A=not a ref']))[0]!, /A=not a ref is not SECRET:VERSION/);
    assert.match(problems(() => checkDeployments(parseDeployments(['--function=nope', env])))[0]!, /nope: not a function this code registers/);
  });

  it('names credential variables as config.ts reads them', () => {
    assert.deepEqual(credentialVariables('vendors', ['mixpanel', 'amplitude']), [
      'VENDOR_MIXPANEL_TOKEN',
      'VENDOR_MIXPANEL_PROJECT_TOKEN',
      'VENDOR_AMPLITUDE_API_KEY',
      'VENDOR_AMPLITUDE_SECRET_KEY',
    ]);
  });
});
