import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVendorIncident } from '../../../functions/store/openVendorIncident.js';
import { useTestDatabase } from '../../helpers/db.js';
import { cli } from './helpers.js';

describe('consent-erasure CLI: each command is checked for what it uses (real PostgreSQL)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('cli_needs');
  let cwd: string;

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-needs-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  // A shell that names vendors but set none of their credentials or settings.
  const bare = () => ({ DATABASE_URL: db().url, VENDORS: 'amplitude,mixpanel,http' });

  it('status, report, timeline, verify-log and retry run without any vendor variable', async () => {
    for (const argv of [['status', '--json'], ['report', '--since', '2026-01-01', '--format', 'json'], ['timeline', 'nobody'], ['verify-log'], ['retry', 'nobody']]) {
      const run = await cli(argv, bare(), cwd);
      assert.equal(run.code, 0, `${argv.join(' ')}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /VENDOR_/);
    }
  });

  it('a command that calls vendors still names every missing credential', async () => {
    const run = await cli(['vendors', 'check'], bare(), cwd);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /VENDOR_AMPLITUDE_API_KEY: required credential/);
    assert.match(run.stderr, /VENDOR_MIXPANEL_TOKEN: required credential/);
    assert.match(run.stderr, /VENDOR_HTTP_BASE_URL/);
  });

  it('a wrong database setting is still reported to a read-only command', async () => {
    const run = await cli(['status'], { DATABASE_URL: 'mysql://x', VENDORS: 'amplitude' }, cwd);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /DATABASE_URL: must be a postgres/);
    assert.doesNotMatch(run.stderr, /VENDOR_AMPLITUDE/);
  });

  it('against a local stack, the credentials it was started with come from secrets.json (mode 0600), not stack.json', async () => {
    const dir = join(cwd, '.consent-erasure');
    mkdirSync(dir);
    const stack = {
      projectId: 'demo-x',
      databaseUrl: db().url,
      firestoreEmulatorHost: '127.0.0.1:1',
      pubsubEmulatorHost: '127.0.0.1:2',
      vendorSandboxUrl: 'http://127.0.0.1:3',
      mailSinkUrl: 'http://127.0.0.1:4',
      functions: { onCustomerWritten: 'http://a', pollDeletions: 'http://b', sendAlert: 'http://c' },
      env: { VENDORS: 'amplitude', VENDOR_AMPLITUDE_BASE_URL: 'http://127.0.0.1:3/amplitude' },
      pid: process.pid,
    };
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(stack));
    // Without the credentials, a command that builds the vendors names the missing one.
    const without = await cli(['vendors', 'check', '--json'], {}, cwd);
    assert.match(without.stderr, /VENDOR_AMPLITUDE_API_KEY: required credential/);
    // status needs none of them either way.
    assert.equal((await cli(['status'], {}, cwd)).code, 0);
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ env: { VENDOR_AMPLITUDE_API_KEY: 'k', VENDOR_AMPLITUDE_SECRET_KEY: 's' } }), { mode: 0o600 });
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
    const withSecrets = await cli(['vendors', 'check', '--json'], {}, cwd);
    assert.doesNotMatch(withSecrets.stderr, /required credential/);
  });

  it('vendors resume releases a held vendor, once', async () => {
    const now = new Date();
    await openVendorIncident(db().pool, { vendor: 'http', kind: 'mass_refusal', detail: '12 deletions refused with the same words: no', now, holdKey: 'k' });
    const first = await cli(['vendors', 'resume', 'http'], bare(), cwd);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /http released \(it was held: 12 deletions refused/);
    const open = await db().pool.query("select 1 from vendor_incident where vendor = 'http' and kind = 'mass_refusal' and closed_at is null");
    assert.equal(open.rowCount, 0);
    const again = await cli(['vendors', 'resume', 'http'], bare(), cwd);
    assert.match(again.stdout, /http is not held/);
    const bad = await cli(['vendors', 'resume', 'nope'], bare(), cwd);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"nope" is not a vendor/);
  });
});
