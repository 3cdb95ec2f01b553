import assert from 'node:assert/strict';
import { createFakeClock, DAY, HOUR, MINUTE } from '../../../functions/clock.js';
import { loadConfig, type Config } from '../../../functions/config.js';
import { ConfigError, TransientError } from '../../../functions/errors.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxConfigInput } from '../../../local/sandbox/types.js';
import { createSubmitter } from '../../../functions/services/submitDeletions.js';
import type { DeletionVendor } from '../../../functions/vendors/DeletionVendor.js';
import { createAmplitudeVendor } from '../../../functions/vendors/amplitude/amplitudeVendor.js';
import { createAppsFlyerVendor } from '../../../functions/vendors/opendsr/appsflyerVendor.js';
import { createMParticleVendor } from '../../../functions/vendors/opendsr/mparticleVendor.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { VENDOR_SETTINGS, vendorConfigs } from '../../../functions/vendors/settings.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';

const VENDORS = ['http', 'segment', 'mixpanel', 'amplitude', 'mparticle', 'appsflyer'] as const;
type Vendor = (typeof VENDORS)[number];
const PER_CUSTOMER: readonly Vendor[] = ['http', 'mparticle', 'appsflyer'];
const BATCH: readonly Vendor[] = ['segment', 'mixpanel', 'amplitude'];

const CREDENTIAL: Record<Vendor, string> = {
  http: 'http-key',
  segment: 'seg-token',
  mixpanel: 'mp-oauth',
  amplitude: 'amp-key:amp-secret',
  mparticle: 'mpk:mps',
  appsflyer: 'af-token',
};

describe('cancel on regrant (CANCEL_ON_REGRANT, real PostgreSQL, every vendor sandbox)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('cancel_regrant');
  const T0 = new Date('2026-03-02T08:00:00Z');
  const clock = createFakeClock(T0);
  let sandbox: RunningSandbox;
  let vendors: DeletionVendor[];
  let byName: Map<string, DeletionVendor>;
  let seq = 0;
  const customer = () => `regrant-${++seq}`;

  before(async () => {
    // Every job waits an hour (cancellable), runs for an hour, then ends; Amplitude schedules 10 days ahead.
    const start = (name: Vendor): SandboxConfigInput => ({
      credential: CREDENTIAL[name],
      lifecycle: { inProgressAfterMs: HOUR, completeAfterMs: 2 * HOUR },
      ...(name === 'mixpanel' ? { options: { projectToken: 'mp-project' } } : {}),
      ...(name === 'amplitude' ? { options: { scheduleAfterDays: 10 } } : {}),
    });
    sandbox = await startSandbox({ vendors: Object.fromEntries(VENDORS.map((v) => [v, start(v)])), clock, seed: 11 });
    const url = (name: Vendor) => `${sandbox.url}/${name}`;
    const policy = { timeoutMs: 2_000 };
    // Amplitude's cancel window and OpenDSR's submitted_time read the clock: the test's, not the wall's.
    vendors = [
      ...createVendors(
        vendorConfigs([
          { name: 'http', settings: { baseUrl: url('http'), apiKey: CREDENTIAL.http }, policy },
          { name: 'segment', settings: { baseUrl: url('segment'), token: CREDENTIAL.segment }, policy },
          { name: 'mixpanel', settings: { baseUrl: url('mixpanel'), token: CREDENTIAL.mixpanel, projectToken: 'mp-project' }, policy },
        ]),
        {},
      ),
      createAmplitudeVendor(VENDOR_SETTINGS.amplitude.parse({ baseUrl: url('amplitude'), apiKey: 'amp-key', secretKey: 'amp-secret' }), policy, clock),
      createMParticleVendor(VENDOR_SETTINGS.mparticle.parse({ baseUrl: url('mparticle'), apiKey: 'mpk', apiSecret: 'mps' }), policy, clock),
      createAppsFlyerVendor(
        VENDOR_SETTINGS.appsflyer.parse({ baseUrl: url('appsflyer'), token: CREDENTIAL.appsflyer, propertyId: 'com.example', platform: 'ios' }),
        policy,
        clock,
      ),
    ];
    byName = new Map(vendors.map((v) => [v.name, v]));
  });
  after(async () => {
    await sandbox?.stop();
  });
  beforeEach(() => {
    clock.set(T0);
    for (const v of VENDORS) sandbox.control.reset(v);
  });

  const handlerWith = (env: Record<string, string>) => {
    const config: Config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`, ...env });
    return createOnCustomerWritten({ config, pool: db().pool, vendors, log: silentLogger(), clock });
  };
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];
  const rows = (customerId: string) =>
    q<{ id: string; vendor: Vendor; state: string; next_check_at: Date | null; lease_owner: string | null; operation_id: string | null }>(
      'select id::text, vendor, state, next_check_at, lease_owner, operation_id from vendor_deletion where customer_id = $1 order by vendor',
      [customerId],
    );
  const stateOf = async (customerId: string) => Object.fromEntries((await rows(customerId)).map((r) => [r.vendor, r.state]));
  const cancelEvents = (customerId: string) =>
    q<{ kind: string; vendor: Vendor; detail: Record<string, unknown> }>(
      "select kind, vendor, detail from deletion_event where customer_id = $1 and kind in ('cancelled', 'cancel_refused', 'cancel_failed') order by id",
      [customerId],
    );
  const deletes = (vendor: Vendor) => sandbox.control.calls(vendor).filter((c) => c.method === 'DELETE');

  const revoke = (c: string, at: Date) =>
    firestoreEvent({ customerId: c, before: { analyticsConsent: true }, after: { analyticsConsent: false }, updateTime: at.toISOString() });
  const regrant = (c: string, at: Date, id = `regrant-${c}`) =>
    firestoreEvent({ customerId: c, id, before: { analyticsConsent: false }, after: { analyticsConsent: true }, updateTime: at.toISOString() });

  /** Submits the customers' queued deletions at one vendor in one call, as the poller would. */
  async function submitQueued(vendor: Vendor, customers: string[]): Promise<void> {
    const queued = await q<{ deletionId: string; customerId: string; idempotencyKey: string }>(
      `select id::text as "deletionId", customer_id as "customerId", idempotency_key::text as "idempotencyKey"
         from vendor_deletion where vendor = $1 and customer_id = any($2::text[]) and state = 'queued' order by id`,
      [vendor, customers],
    );
    const outcome = await createSubmitter({ pool: db().pool, log: silentLogger(), clock }).submit(byName.get(vendor)!, queued);
    assert.equal(outcome.submitted.length, customers.length, `${vendor}: ${outcome.error?.error.message ?? ''}`);
  }

  const BASE_ENV = { DATABASE_URL: 'postgres://x@h/db', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/' };
  it('CANCEL_ON_REGRANT is off by default, on with "true", and a bad value names the variable', () => {
    assert.equal(loadConfig({ ...BASE_ENV }).cancelOnRegrant, false);
    assert.equal(loadConfig({ ...BASE_ENV, CANCEL_ON_REGRANT: 'true' }).cancelOnRegrant, true);
    assert.equal(loadConfig({ ...BASE_ENV, CANCEL_ON_REGRANT: 'false' }).cancelOnRegrant, false);
    assert.throws(
      () => loadConfig({ ...BASE_ENV, CANCEL_ON_REGRANT: 'yes' }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('CANCEL_ON_REGRANT')),
    );
  });

  it('off: a regrant is recorded and nothing is cancelled, locally or at any vendor', async () => {
    const handler = handlerWith({});
    const c = customer();
    await handler(revoke(c, T0));
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    assert.deepEqual(await stateOf(c), { amplitude: 'queued', appsflyer: 'submitted', http: 'submitted', mixpanel: 'queued', mparticle: 'submitted', segment: 'queued' });
    assert.deepEqual(await cancelEvents(c), []);
    for (const v of VENDORS) assert.equal(deletes(v).length, 0, v);
    const [request] = await q<{ regranted_at: Date }>('select regranted_at from deletion_request where customer_id = $1', [c]);
    assert.equal(request!.regranted_at.toISOString(), new Date(T0.getTime() + MINUTE).toISOString());
  });

  it('on: queued deletions are cancelled locally and never sent; submitted ones at their vendor; a redelivery changes nothing', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    const before = await rows(c);
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));

    const after = await rows(c);
    assert.deepEqual(after.map((r) => [r.vendor, r.state]), VENDORS.slice().sort().map((v) => [v, 'cancelled']));
    assert.ok(after.every((r) => r.next_check_at === null && r.lease_owner === null), 'nothing more is due and no lease is left');
    const events = await cancelEvents(c);
    assert.deepEqual(events.map((e) => e.kind), ['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
    for (const v of BATCH) {
      const e = events.find((x) => x.vendor === v)!;
      assert.equal(e.detail['where'], 'local', v);
      assert.equal(e.detail['neverSent'], true, v);
      assert.equal(sandbox.control.calls(v).length, 0, `${v} was never called`);
    }
    for (const v of PER_CUSTOMER) {
      const e = events.find((x) => x.vendor === v)!;
      assert.equal(e.detail['where'], 'vendor', v);
      assert.equal(e.detail['vendorAnswer'], 'cancelled', v);
      assert.equal(e.detail['operationId'], before.find((r) => r.vendor === v)!.operation_id, v);
      assert.equal(deletes(v).length, 1, `${v}: one DELETE`);
    }
    // The OpenDSR processors now report the request cancelled.
    const mp = sandbox.control.state('mparticle') as { byStatus: Record<string, number> };
    assert.deepEqual(mp.byStatus, { cancelled: 1 });

    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    assert.equal((await cancelEvents(c)).length, 6, 'no new outcome on redelivery');
    for (const v of PER_CUSTOMER) assert.equal(deletes(v).length, 1, `${v}: no second DELETE`);
  });

  it('on: submitted single-customer jobs at Segment, Mixpanel and Amplitude are cancelled at the vendor while they allow it', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    for (const v of BATCH) await submitQueued(v, [c]);
    clock.advance(10 * MINUTE);
    await handler(regrant(c, new Date(T0.getTime() + 10 * MINUTE)));

    assert.deepEqual(Object.values(await stateOf(c)), VENDORS.map(() => 'cancelled'));
    for (const v of VENDORS) assert.equal(deletes(v).length, 1, `${v}: one DELETE`);
    const amplitudeDelete = deletes('amplitude')[0]!;
    assert.match(amplitudeDelete.path, /^\/api\/2\/deletions\/users\/\d+\/2026-03-12$/);
    assert.deepEqual(sandbox.control.state('mixpanel'), { tasks: 1, distinctIds: 1, byStatus: { REVOKED: 1 } });
    assert.equal((sandbox.control.state('segment') as { regulations: number }).regulations, 0, 'the regulation was withdrawn');
  });

  it('on: too late is recorded as cancel_refused and the deletion goes on (started, shared job, past the window)', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    const other = customer();
    await handler(revoke(c, T0));
    await handler(revoke(other, T0));
    // Segment and Mixpanel jobs shared with another customer; Amplitude's job is 10 days out.
    for (const v of BATCH) await submitQueued(v, [c, other]);
    // Eight days on: every vendor job has started, and Amplitude's job is within 3 days of its day.
    clock.advance(8 * DAY);
    const before = await rows(c);
    await handler(regrant(c, new Date(clock.now().getTime())));

    const after = await rows(c);
    assert.deepEqual(after.map((r) => r.state), before.map((r) => r.state), 'states unchanged');
    assert.deepEqual(after.map((r) => r.next_check_at?.toISOString()), before.map((r) => r.next_check_at?.toISOString()), 'schedule unchanged');
    assert.ok(after.every((r) => r.state === 'submitted' && r.lease_owner === null));
    const events = await cancelEvents(c);
    assert.deepEqual(events.map((e) => e.kind), VENDORS.map(() => 'cancel_refused'));
    assert.ok(events.every((e) => e.detail['vendorAnswer'] === 'refused'));
    // The vendors that allow it were asked and said no; shared jobs and Amplitude's closed window are not asked.
    for (const v of PER_CUSTOMER) assert.equal(deletes(v).length, 1, `${v} asked`);
    for (const v of BATCH) assert.equal(deletes(v).length, 0, `${v} not asked`);
    assert.equal((await cancelEvents(other)).length, 0, 'the other customer is untouched');

    await handler(regrant(c, new Date(clock.now().getTime())));
    assert.equal((await cancelEvents(c)).length, 6, 'a refusal is final: no new attempt on redelivery');
  });

  it('on: an in-progress deletion has started and goes on, without a vendor call', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    await db().pool.query("update vendor_deletion set state = 'in_progress', raw_status = 'in_progress' where customer_id = $1 and vendor = 'http'", [c]);
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    const states = await stateOf(c);
    assert.equal(states['http'], 'in_progress');
    const refused = (await cancelEvents(c)).filter((e) => e.vendor === 'http');
    assert.deepEqual(refused.map((e) => e.kind), ['cancel_refused']);
    assert.match(String(refused[0]!.detail['reason']), /started/);
    assert.equal(deletes('http').length, 0);
  });

  it('on: a vendor fault is recorded as cancel_failed, the deletion keeps its state, and a later delivery tries again', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    const before = (await rows(c)).find((r) => r.vendor === 'http')!;
    sandbox.control.configure('http', { failureShare: 1, failureStatus: 503 });
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));

    const http = (await rows(c)).find((r) => r.vendor === 'http')!;
    assert.equal(http.state, 'submitted');
    assert.equal(http.next_check_at?.toISOString(), before.next_check_at?.toISOString());
    assert.equal(http.lease_owner, null);
    const failed = (await cancelEvents(c)).filter((e) => e.vendor === 'http');
    assert.deepEqual(failed.map((e) => e.kind), ['cancel_failed']);
    assert.equal(failed[0]!.detail['errorKind'], 'transient');
    assert.equal(failed[0]!.detail['httpStatus'], 503);
    assert.equal((await stateOf(c))['mparticle'], 'cancelled', 'the other vendors are not held up');

    sandbox.control.configure('http', { failureShare: 0 });
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    assert.equal((await stateOf(c))['http'], 'cancelled');
    assert.deepEqual((await cancelEvents(c)).filter((e) => e.vendor === 'http').map((e) => e.kind), ['cancel_failed', 'cancelled']);
  });

  it('on: a deletion leased by another process is left alone, the event is retried, and the retry cancels it', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    await db().pool.query(
      "update vendor_deletion set lease_owner = 'poller-x', lease_expires_at = $2 where customer_id = $1 and vendor = 'segment'",
      [c, new Date(T0.getTime() + 10 * MINUTE)],
    );
    const event = regrant(c, new Date(T0.getTime() + MINUTE));
    await assert.rejects(handler(event), (err: unknown) => err instanceof TransientError);
    const states = await stateOf(c);
    assert.equal(states['segment'], 'queued');
    assert.equal((await rows(c)).find((r) => r.vendor === 'segment')!.lease_owner, 'poller-x', 'the other lease is untouched');
    assert.equal(Object.values(states).filter((s) => s === 'cancelled').length, 5, 'the others were cancelled meanwhile');

    // The other process finished (its lease ended); the platform redelivers the event.
    clock.advance(11 * MINUTE);
    await handler(event);
    assert.equal((await stateOf(c))['segment'], 'cancelled');
    assert.equal((await cancelEvents(c)).length, 6, 'one outcome per deletion');
  });

  it('on: a regrant that belongs to an older request cancels nothing on the newer one', async () => {
    const handler = handlerWith({ CANCEL_ON_REGRANT: 'true' });
    const c = customer();
    await handler(revoke(c, T0));
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    await handler(revoke(c, new Date(T0.getTime() + 2 * MINUTE)));
    // The first regrant is delivered again after the second revocation.
    await handler(regrant(c, new Date(T0.getTime() + MINUTE)));
    const states = await q<{ state: string }>(
      `select d.state from vendor_deletion d join deletion_request r on r.id = d.request_id
        where d.customer_id = $1 and r.revoked_at = $2`,
      [c, new Date(T0.getTime() + 2 * MINUTE)],
    );
    assert.equal(states.length, 6);
    assert.ok(states.every((s) => s.state !== 'cancelled'));
  });
});
