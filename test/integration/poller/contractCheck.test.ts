import assert from 'node:assert/strict';
import { createFakeClock, DAY, HOUR } from '../../../functions/clock.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { vendorConfigs } from '../../../functions/vendors/settings.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle, pollerConfig } from '../../helpers/pollCycle.js';

/**
 * The poller runs the live contract check on its own schedule (CONTRACT_CHECK_HOURS), shared by every instance
 * through PostgreSQL; a mismatch opens the contract-violation incident and its alert once, not once a day.
 */
describe('the poller\'s daily contract check (real PostgreSQL, sandbox)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('contract_check');
  const clock = createFakeClock('2026-05-04T06:00:00Z');
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { appsflyer: { credential: 'af-token' }, segment: {} } });
  });
  after(async () => {
    await sandbox?.stop();
  });

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];

  it('checks once a day, records the result, and raises a mismatch once per incident', async () => {
    const configs = vendorConfigs([
      { name: 'appsflyer', settings: { baseUrl: `${sandbox.url}/appsflyer`, token: 'af-token', propertyId: 'com.example.app', platform: 'android' } },
      { name: 'segment', settings: { baseUrl: `${sandbox.url}/segment`, token: 'seg-token' } },
    ]);
    const publisher = createMemoryPublisher();
    const config = { ...pollerConfig(), contractCheck: { intervalMs: DAY }, vendors: configs };
    const cycle = buildPollCycle({ pool: db().pool, vendors: createVendors(configs, { clock }), clock, publisher, config });
    const probes = () => sandbox.control.calls('appsflyer').filter((c) => c.path === '/api/gdpr/v1/discovery').length;
    const alerts = () => publishedAlerts(publisher, db().pool);
    const stored = async () => (await q<{ vendor: string; outcome: string; differences: string }>('select vendor, outcome, differences from vendor_contract_check'));

    await cycle.run({});
    assert.equal(probes(), 1);
    assert.deepEqual(await stored(), [{ vendor: 'appsflyer', outcome: 'matches', differences: '' }], 'only vendors with a probe are checked');
    clock.advance(HOUR);
    await cycle.run({});
    assert.equal(probes(), 1, 'not again within the day');

    // The next day the stub answers with a renamed field: one alert.
    sandbox.control.configure('appsflyer', { drift: 'rename_field' });
    clock.advance(DAY);
    await cycle.run({});
    assert.equal(probes(), 2);
    const [row] = await stored();
    assert.equal(row!.outcome, 'differs');
    assert.match(row!.differences, /stub create: \$\.subject_request_id: missing/);
    assert.deepEqual((await alerts()).map((a) => [a.kind, a.vendor]), [['contract_violation', 'appsflyer']]);
    assert.match((await alerts())[0]!.detail ?? '', /^daily contract check: appsflyer contract check \(.*\): differs; stub create: \$\.subject_request_id: missing/);

    // The incident ends (the vendor's regular calls answer well); the same mismatch found the next day is the same
    // incident: no new alert.
    await q("update vendor_incident set closed_at = $1 where vendor = 'appsflyer'", [clock.now()]);
    clock.advance(DAY);
    await cycle.run({});
    assert.equal(probes(), 3);
    assert.equal((await alerts()).length, 1, 'the same mismatch is not raised again');

    // Back to the documents, then broken again: a new incident, a new alert.
    sandbox.control.configure('appsflyer', { drift: null });
    clock.advance(DAY);
    await cycle.run({});
    assert.equal((await stored())[0]!.outcome, 'matches');
    sandbox.control.configure('appsflyer', { drift: 'unknown_status' });
    clock.advance(DAY);
    await cycle.run({});
    assert.equal((await alerts()).length, 2);
    assert.match((await stored())[0]!.differences, /stub status/);
  });
});
