import assert from 'node:assert/strict';
import { createFakeClock, HOUR, MINUTE, SECOND } from '../../../functions/clock.js';
import { silentLogger } from '../../../functions/log.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import type { DeletionVendor, VendorPolicy } from '../../../functions/vendors/DeletionVendor.js';
import { publishedAlerts } from '../../helpers/alerts.js';
import { renderAlert } from '../../../functions/alerts/renderAlert.js';
import { queryStatus } from '../../../functions/store/queryStatus.js';
import { retryDeletions } from '../../../functions/store/retryDeletions.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle, pollerConfig } from '../../helpers/pollCycle.js';
import { openVendorIncident } from '../../../functions/store/openVendorIncident.js';
import { vendorConfigs } from '../../../functions/vendors/settings.js';
import { seedDeletions } from './fixtures.js';

const WORDS = 'identity type user_id is not supported for this project';

describe('refused creates end (real PostgreSQL, the http sandbox refusing every create)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('poller_refusals');
  const T0 = new Date('2026-03-02T00:00:00Z');
  const clock = createFakeClock(T0);
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: SECOND, completeAfterMs: 2 * SECOND } } } });
  });
  after(async () => {
    await sandbox?.stop();
  });
  beforeEach(async () => {
    sandbox.control.reset('http');
    clock.set(T0);
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null");
    await db().pool.query('truncate vendor_pause, vendor_incident, deletion_alert');
  });

  function vendor(policy: Partial<VendorPolicy> = {}): DeletionVendor {
    return createHttpVendor(
      { baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' },
      { requestsPerSecond: 10_000, concurrency: 4, minCheckIntervalMs: MINUTE, maxCheckIntervalMs: HOUR, ...policy },
    );
  }

  async function queued(n: number, prefix: string): Promise<string[]> {
    return seedDeletions(
      db().pool,
      Array.from({ length: n }, (_, i) => ({ customerId: `${prefix}-${i}`, vendor: 'http', state: 'queued' as const, operationId: null, submittedAt: null, revokedAt: clock.now(), nextCheckAt: clock.now() })),
    );
  }

  const creates = () => sandbox.control.calls('http').filter((c) => c.method === 'POST').length;
  const states = async (ids: string[]) =>
    (await db().pool.query<{ state: string }>('select state from vendor_deletion where id = any($1::bigint[]) order by id', [ids])).rows.map((r) => r.state);

  /** Runs cycles an hour apart until none of `ids` is queued (at most `max`); returns how many ran. */
  async function cyclesUntilSettled(cycle: ReturnType<typeof buildPollCycle>, ids: string[], max = 20): Promise<number> {
    for (let n = 1; n <= max; n++) {
      await cycle.run({});
      if (!(await states(ids)).includes('queued')) return n;
      clock.advance(HOUR);
    }
    throw new Error(`still queued after ${max} cycles`);
  }

  it('a vendor refusing every create: each deletion is tried MAX_REFUSALS times, goes to error with the words, one failed alert; retry after the fix completes them', async () => {
    sandbox.control.configure('http', { refuseCreates: { status: 400, words: WORDS } });
    const ids = await queued(3, 'refused');
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, publisher, submit: true, log: silentLogger() });

    const cycles = await cyclesUntilSettled(cycle, ids);
    assert.deepEqual(await states(ids), ['error', 'error', 'error']);
    assert.equal(creates(), 9, '3 deletions × the default 3 refusals, and not one call more');
    assert.equal(cycles, 3);

    const rows = await db().pool.query<{ refusals: number; last_error: string; next_check_at: Date | null }>(
      'select refusals, last_error, next_check_at from vendor_deletion where id = any($1::bigint[])',
      [ids],
    );
    for (const r of rows.rows) {
      assert.equal(r.refusals, 3);
      assert.equal(r.next_check_at, null, 'nothing more is due');
      assert.match(r.last_error, new RegExp(WORDS));
    }
    const events = await db().pool.query<{ kind: string; detail: { refusals?: number; reason?: string } }>(
      "select kind, detail from deletion_event where vendor_deletion_id = $1::bigint and kind in ('submit_failed', 'error') order by id",
      [ids[0]],
    );
    assert.deepEqual(events.rows.map((e) => e.kind), ['submit_failed', 'submit_failed', 'submit_failed', 'error']);
    assert.deepEqual(events.rows.slice(0, 3).map((e) => e.detail.refusals), [1, 2, 3]);
    assert.match(events.rows[3]!.detail.reason!, /refused by the vendor 3 times/);

    // The operator sees the words in status.
    const shown = await queryStatus(db().pool, { vendor: 'http', state: 'error', limit: 10 });
    assert.equal(shown.length, 3);
    assert.ok(shown.every((r) => (r.lastError ?? '').includes(WORDS)));

    // Nothing more happens: later cycles make no call, and the failed alert was raised once.
    clock.advance(HOUR);
    await cycle.run({});
    assert.equal(creates(), 9);
    const failed = (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === 'failed');
    assert.equal(failed.length, 1, 'one failed alert for the three deletions');
    const alert = failed[0]!;
    assert.equal(alert.totalItems, 3);
    const email = renderAlert(alert);
    assert.match(email.text, new RegExp(WORDS));
    assert.match(email.text, /consent-erasure retry --vendor http/);

    // The cause is fixed: retry puts them back, and they complete.
    sandbox.control.configure('http', { refuseCreates: null });
    const retried = await retryDeletions(db().pool, { vendor: 'http' }, clock.now());
    assert.equal(retried.length, 3);
    const after = await db().pool.query<{ refusals: number }>('select refusals from vendor_deletion where id = any($1::bigint[])', [ids]);
    assert.deepEqual(after.rows.map((r) => r.refusals), [0, 0, 0]);
    await cycle.run({});
    assert.equal(creates(), 12, 'one create each');
    for (let i = 0; i < 5 && (await states(ids)).some((s) => s !== 'completed'); i++) {
      clock.advance(HOUR);
      await cycle.run({});
    }
    assert.deepEqual(await states(ids), ['completed', 'completed', 'completed']);
  });

  it('VENDOR_<NAME>_MAX_REFUSALS sets the bound per vendor', async () => {
    sandbox.control.configure('http', { refuseCreates: { status: 422, words: WORDS } });
    const ids = await queued(1, 'one');
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor({ maxRefusals: 1 })], clock, submit: true });
    await cyclesUntilSettled(cycle, ids);
    assert.deepEqual(await states(ids), ['error']);
    assert.equal(creates(), 1);
  });

  it('a transient fault (503) is not a refusal: the deletion stays queued and is tried again', async () => {
    sandbox.control.configure('http', { failureShare: 1, failureStatus: 503 });
    const ids = await queued(1, 'outage');
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, submit: true });
    for (let i = 0; i < 5; i++) {
      await cycle.run({});
      clock.advance(HOUR);
    }
    assert.deepEqual(await states(ids), ['queued']);
    assert.equal(creates(), 5);
    const r = await db().pool.query<{ refusals: number }>('select refusals from vendor_deletion where id = $1::bigint', [ids[0]]);
    assert.equal(r.rows[0]!.refusals, 0);
  });

  it('the same refusal across many deletions holds the vendor: one incident, one alert, a bounded number of calls; resume releases it', async () => {
    // Words of its own: the refusals of the tests above are in the same log, within the window.
    const words = 'the project has deletion requests turned off';
    sandbox.control.configure('http', { refuseCreates: { status: 400, words } });
    const ids = await queued(40, 'mass');
    const publisher = createMemoryPublisher();
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, publisher, submit: true });
    await cycle.run({});
    const calls = creates();
    assert.ok(calls >= 10 && calls <= 10 + 4, `the hold came after 10 refused deletions and the calls in flight (${calls})`);
    const incident = await db().pool.query<{ detail: string; hold_key: string }>(
      "select detail, hold_key from vendor_incident where vendor = 'http' and kind = 'mass_refusal' and closed_at is null",
    );
    assert.equal(incident.rowCount, 1);
    assert.match(incident.rows[0]!.detail, new RegExp(words));
    const alerts = async () => (await publishedAlerts(publisher, db().pool)).filter((m) => m.kind === 'mass_refusal');
    assert.equal((await alerts()).length, 1);
    assert.match(renderAlert((await alerts())[0]!).text, /consent-erasure vendors resume http/);

    // Held: later cycles call nothing, and nobody's deletion is pushed to error by the hold.
    for (let i = 0; i < 3; i++) {
      clock.advance(HOUR);
      await cycle.run({});
    }
    assert.equal(creates(), calls);
    assert.equal((await alerts()).length, 1, 'one alert while it lasts (the escalation is a day)');
    assert.ok((await states(ids)).every((st) => st === 'queued'));

    // The cause is fixed and the vendor released: every deletion is submitted.
    sandbox.control.configure('http', { refuseCreates: null });
    await db().pool.query("update vendor_incident set closed_at = $1 where kind = 'mass_refusal'", [clock.now()]);
    clock.advance(HOUR);
    await cycle.run({});
    assert.ok((await states(ids)).every((st) => st !== 'queued' && st !== 'error'));
  });

  it('a hold made under another configuration is released by the deployment of a new one', async () => {
    sandbox.control.configure('http', { refuseCreates: null });
    await openVendorIncident(db().pool, { vendor: 'http', kind: 'mass_refusal', detail: 'held', now: clock.now(), holdKey: 'an-older-configuration' });
    const ids = await queued(2, 'deployed');
    const config = { ...pollerConfig(), vendors: vendorConfigs([{ name: 'http', settings: { baseUrl: `${sandbox.url}/http` } }]), failures: { massRefusal: { deletions: 10, windowMs: HOUR }, revision: 'rev-2' } };
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor()], clock, submit: true, config });
    await cycle.run({});
    assert.equal(creates(), 2);
    assert.ok((await states(ids)).every((st) => st !== 'queued'));
    const open = await db().pool.query("select 1 from vendor_incident where kind = 'mass_refusal' and closed_at is null");
    assert.equal(open.rowCount, 0);
  });
});
