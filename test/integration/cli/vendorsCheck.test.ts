import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import type { ContractCheck } from '../../../functions/services/contractChecks.js';
import { cli } from './helpers.js';

/**
 * `consent-erasure vendors check` against the vendor sandbox, which replays the transcribed documents: the
 * probes of mParticle (discovery) and AppsFlyer (discovery documents, a stub request, its status and cancel) find
 * the documented shapes; a vendor with no documented probe says so; drift and a rejected credential are reported
 * and fail the command.
 */
describe('consent-erasure vendors check (vendor sandbox)', function () {
  this.timeout(30_000);
  let sandbox: RunningSandbox;
  const cwd = mkdtempSync(join(tmpdir(), 'vendors-check-'));
  let env: Record<string, string>;

  before(async () => {
    sandbox = await startSandbox({
      vendors: { mparticle: { credential: 'mpk:mps' }, appsflyer: { credential: 'af-token' }, mixpanel: {}, segment: {} },
    });
    env = {
      DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      VENDORS: 'mixpanel,segment,mparticle,appsflyer',
      VENDOR_MIXPANEL_BASE_URL: `${sandbox.url}/mixpanel`,
      VENDOR_MIXPANEL_TOKEN: 'mp-oauth',
      VENDOR_MIXPANEL_PROJECT_TOKEN: 'mp-project',
      VENDOR_SEGMENT_BASE_URL: `${sandbox.url}/segment`,
      VENDOR_SEGMENT_TOKEN: 'seg-token',
      VENDOR_MPARTICLE_BASE_URL: `${sandbox.url}/mparticle`,
      VENDOR_MPARTICLE_API_KEY: 'mpk',
      VENDOR_MPARTICLE_API_SECRET: 'mps',
      VENDOR_APPSFLYER_BASE_URL: `${sandbox.url}/appsflyer`,
      VENDOR_APPSFLYER_TOKEN: 'af-token',
      VENDOR_APPSFLYER_PROPERTY_ID: 'com.example.app',
      VENDOR_APPSFLYER_PLATFORM: 'ios',
    };
  });
  after(async () => {
    await sandbox?.stop();
  });
  beforeEach(() => {
    for (const m of ['mparticle', 'appsflyer', 'mixpanel', 'segment']) sandbox.control.reset(m);
  });

  const run = async (args: string[] = []) => {
    const r = await cli(['vendors', 'check', '--json', ...args], env, cwd);
    return { ...r, checks: r.stdout ? (JSON.parse(r.stdout) as ContractCheck[]) : [] };
  };

  it('finds the documented shapes at mParticle and AppsFlyer, and reports the others as having no probe', async () => {
    const { code, stderr, checks } = await run();
    assert.equal(code, 0, stderr);
    const by = new Map(checks.map((c) => [c.vendor, c]));
    assert.deepEqual(checks.map((c) => [c.vendor, c.outcome]), [
      ['mixpanel', 'no_probe'],
      ['segment', 'no_probe'],
      ['mparticle', 'matches'],
      ['appsflyer', 'matches'],
    ]);
    assert.match(by.get('mixpanel')!.note, /^no probe documented/);
    assert.deepEqual(by.get('mparticle')!.calls.map((c) => [c.call, c.request.replace(sandbox.url, ''), c.status, c.closest]), [
      ['discovery', 'GET /mparticle/v3/discovery/', 200, 'opendsr/discovery-mparticle-v3.json'],
    ]);
    assert.deepEqual(by.get('appsflyer')!.calls.map((c) => [c.call, c.status, c.outcome, c.closest]), [
      ['discovery', 200, 'matches', 'appsflyer/discovery-openapi.json'],
      ['stub discovery', 200, 'matches', 'appsflyer/discovery-openapi.json'],
      ['stub create', 201, 'matches', 'appsflyer/create-openapi-stub.json'],
      ['stub status', 200, 'matches', 'appsflyer/status-openapi-stub-pending.json'],
      ['stub cancel', 202, 'matches', 'appsflyer/cancel-openapi-stub.json'],
    ]);
    // Read-only: no deletion was created at any vendor; AppsFlyer's one request was in stub mode and is cancelled.
    const calls = ['mparticle', 'appsflyer', 'mixpanel', 'segment'].flatMap((m) => sandbox.control.calls(m).map((c) => `${m} ${c.method} ${c.path}`));
    assert.deepEqual(calls.filter((c) => / POST /.test(c)), ['appsflyer POST /api/gdpr/v1/stub']);
    assert.deepEqual(sandbox.control.state('appsflyer'), { requests: 0, byStatus: {} });
    const stub = sandbox.control.calls('appsflyer').find((c) => c.method === 'POST')!.body as Record<string, unknown>;
    assert.deepEqual(stub['subject_identities'], [{ identity_type: 'customer_user_id', identity_value: 'consent-erasure-contract-probe', identity_format: 'raw' }]);
  });

  it('prints a table for people, and checks one vendor with --vendor', async () => {
    const table = await cli(['vendors', 'check'], env, cwd);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^VENDOR\s+RESULT\s+CALLS/);
    assert.match(table.stdout, /appsflyer\s+matches the documents\s+discovery 200 matches, stub discovery 200 matches, stub create 201 matches/);
    assert.match(table.stdout, /mixpanel\s+no probe documented/);
    const one = await run(['--vendor', 'mparticle']);
    assert.deepEqual(one.checks.map((c) => c.vendor), ['mparticle']);
    const unknown = await cli(['vendors', 'check', '--vendor', 'amplitude'], env, cwd);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--vendor: "amplitude" is not configured \(configured: mixpanel, segment, mparticle, appsflyer\)/);
  });

  it('a renamed field is a difference naming the call, the field and the closest document; the command fails', async () => {
    sandbox.control.configure('appsflyer', { drift: 'rename_field' });
    const { code, stderr, checks } = await run(['--vendor', 'appsflyer']);
    assert.equal(code, 1);
    assert.match(stderr, /vendors check: appsflyer DIFFERS from the documents/);
    const create = checks[0]!.calls.find((c) => c.call === 'stub create')!;
    assert.equal(checks[0]!.outcome, 'differs');
    assert.equal(create.outcome, 'differs');
    assert.ok(create.differences.includes('$.subject_request_id: missing'), create.differences.join('; '));
  });

  it('a rejected credential means the contract could not be checked, never a pass', async () => {
    sandbox.control.configure('mparticle', { rejectCredentials: true });
    const { code, checks } = await run(['--vendor', 'mparticle']);
    assert.equal(code, 1);
    assert.equal(checks[0]!.outcome, 'failed');
    assert.match(checks[0]!.calls[0]!.problem ?? '', /^answered 401 \(the credential was rejected\); the documents show 200/);
    assert.doesNotMatch(JSON.stringify(checks), /mps|bXBrOm1wcw/, 'no credential in the report');
  });

  it('an unreachable vendor is a failed check', async () => {
    const { code, checks } = await cli(['vendors', 'check', '--json', '--vendor', 'mparticle'], { ...env, VENDOR_MPARTICLE_BASE_URL: 'http://127.0.0.1:1' }, cwd).then((r) => ({
      ...r,
      checks: JSON.parse(r.stdout) as ContractCheck[],
    }));
    assert.equal(code, 1);
    assert.equal(checks[0]!.outcome, 'failed');
    assert.match(checks[0]!.calls[0]!.problem ?? '', /could not be reached/);
  });
});
