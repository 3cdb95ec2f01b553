import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createFakeClock } from '../../../functions/clock.js';
import { loadConfig, type Config } from '../../../functions/config.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { createLogger } from '../../../functions/log.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { REGIME_IDS } from '../../../functions/domain/regimes.js';
import { createVendors } from '../../../functions/vendors/registry.js';
import { firestoreEvent, type Plain } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: 'debug' }, stream), lines };
}

/**
 * The request's legal regime, from the customer's document to the vendors: read from the protobuf event by the
 * ingest, stored on the request, and sent as GDPR or CCPA to mParticle and AppsFlyer (submitted by the ingest) and
 * Mixpanel (submitted by the poller from its claim), on real PostgreSQL against the sandboxes.
 */
describe('the request regime carried to vendors (real PostgreSQL, vendor sandboxes)', function () {
  this.timeout(60_000);
  const db = useTestDatabase('regime');
  const clock = createFakeClock('2026-11-27T10:00:00Z');
  let sandbox: RunningSandbox;
  let config: Config;
  let seq = 0;
  const customer = () => `regime-${process.pid}-${++seq}`;

  before(async () => {
    sandbox = await startSandbox({ clock, vendors: { mixpanel: { options: { projectToken: 'mp-project' } }, mparticle: {}, appsflyer: {} } });
    config = loadConfig({
      DATABASE_URL: db().url,
      VENDORS: 'mixpanel,mparticle,appsflyer',
      VENDOR_MIXPANEL_BASE_URL: `${sandbox.url}/mixpanel`,
      VENDOR_MIXPANEL_TOKEN: 'mp-oauth',
      VENDOR_MIXPANEL_PROJECT_TOKEN: 'mp-project',
      VENDOR_MPARTICLE_BASE_URL: `${sandbox.url}/mparticle`,
      VENDOR_MPARTICLE_API_KEY: 'mpk',
      VENDOR_MPARTICLE_API_SECRET: 'mps',
      VENDOR_APPSFLYER_BASE_URL: `${sandbox.url}/appsflyer`,
      VENDOR_APPSFLYER_TOKEN: 'af-token',
      VENDOR_APPSFLYER_PROPERTY_ID: 'com.example.app',
      VENDOR_APPSFLYER_PLATFORM: 'ios',
      REGIME_VALUES: 'California=ccpa',
    });
  });
  after(async () => {
    await sandbox?.stop();
  });

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];

  async function revoke(customerId: string, fields: Record<string, Plain>, over: Partial<Config['regime']> = {}) {
    const captured = captureLog();
    const vendors = createVendors(config.vendors, { clock, fetchTimeoutMs: 2_000 });
    const handler = createOnCustomerWritten({ config: { ...config, regime: { ...config.regime, ...over } }, pool: db().pool, vendors, log: captured.log, clock });
    await handler(firestoreEvent({ customerId, before: { analyticsConsent: true, ...fields }, after: { analyticsConsent: false, ...fields } }));
    // The poller submits Mixpanel (a batch vendor) from its claim.
    await buildPollCycle({ pool: db().pool, vendors, clock, submit: true, sleep: async (ms) => clock.advance(ms) }).run({});
    return captured.lines;
  }

  /** What each vendor was sent for this customer. */
  function sent(customerId: string) {
    const mp = sandbox.control.calls('mixpanel').find((c) => c.method === 'POST' && (c.body as { distinct_ids: string[] }).distinct_ids.includes(customerId));
    const mpa = sandbox.control.calls('mparticle').find((c) => c.method === 'POST' && JSON.stringify(c.body).includes(customerId));
    const af = sandbox.control.calls('appsflyer').find((c) => c.method === 'POST' && JSON.stringify(c.body).includes(customerId));
    return {
      mixpanel: (mp?.body as { compliance_type?: string } | undefined)?.compliance_type,
      mparticle: (mpa?.body as { regulation?: string } | undefined)?.regulation,
      appsflyer: (af?.body as { regulation?: string } | undefined)?.regulation,
    };
  }
  const requestOf = async (customerId: string) =>
    (await q<{ regime: string }>('select regime from deletion_request where customer_id = $1', [customerId]))[0]!.regime;
  const revokedEvent = async (customerId: string) =>
    (await q<{ detail: Record<string, unknown> }>("select detail from deletion_event where customer_id = $1 and kind = 'revoked'", [customerId]))[0]!.detail;

  it('a CCPA customer (privacyRegion "US-CA"): the request is ccpa and every vendor is told CCPA', async () => {
    const c = customer();
    await revoke(c, { privacyRegion: 'US-CA' });
    assert.equal(await requestOf(c), 'ccpa');
    assert.deepEqual(sent(c), { mixpanel: 'CCPA', mparticle: 'ccpa', appsflyer: 'ccpa' });
    const detail = await revokedEvent(c);
    assert.deepEqual([detail['regime'], detail['regimeSource'], detail['regimeValue']], ['ccpa', 'document', 'US-CA']);
  });

  it('an operator mapping (REGIME_VALUES California=ccpa) and a GDPR customer', async () => {
    const ca = customer();
    await revoke(ca, { privacyRegion: 'california' });
    assert.deepEqual([await requestOf(ca), sent(ca)], ['ccpa', { mixpanel: 'CCPA', mparticle: 'ccpa', appsflyer: 'ccpa' }]);
    const eu = customer();
    await revoke(eu, { privacyRegion: 'EU' });
    assert.deepEqual([await requestOf(eu), sent(eu)], ['gdpr', { mixpanel: 'GDPR', mparticle: 'gdpr', appsflyer: 'gdpr' }]);
  });

  it('a US state regime (Virginia) is kept on the request and sent as CCPA', async () => {
    const c = customer();
    await revoke(c, { privacyRegion: 'US-VA' });
    assert.equal(await requestOf(c), 'vcdpa');
    assert.deepEqual(sent(c), { mixpanel: 'CCPA', mparticle: 'ccpa', appsflyer: 'ccpa' });
  });

  it('no field: the configured default regime (DEFAULT_REGIME), quietly', async () => {
    const c = customer();
    const lines = await revoke(c, {}, { defaultRegime: 'ccpa' });
    assert.equal(await requestOf(c), 'ccpa');
    assert.deepEqual(sent(c), { mixpanel: 'CCPA', mparticle: 'ccpa', appsflyer: 'ccpa' });
    assert.equal(lines.filter((l) => l['event'] === 'regime_unknown').length, 0);
    assert.equal((await revokedEvent(c))['regimeSource'], 'default');
  });

  it('an unknown value or a non-text value: a WARNING naming the value and the default, and the revocation is recorded', async () => {
    const c = customer();
    const lines = await revoke(c, { privacyRegion: 'Atlantis' });
    assert.equal(await requestOf(c), 'gdpr');
    assert.deepEqual(sent(c), { mixpanel: 'GDPR', mparticle: 'gdpr', appsflyer: 'gdpr' });
    const warning = lines.find((l) => l['event'] === 'regime_unknown');
    assert.ok(warning, 'a warning was logged');
    assert.equal(warning['severity'], 'WARNING');
    assert.match(String(warning['message']), /privacyRegion = "Atlantis" names no known regime; the default regime "gdpr" is used/);
    assert.equal((await revokedEvent(c))['regimeProblem'], warning['message']);

    const n = customer();
    const numeric = await revoke(n, { privacyRegion: 7 });
    assert.equal(await requestOf(n), 'gdpr');
    assert.match(String(numeric.find((l) => l['event'] === 'regime_unknown')?.['message']), /holds a value of type integerValue/);
  });

  it('the regime field may be a dotted path', async () => {
    const c = customer();
    await revoke(c, { privacy: { region: 'US-TX' } }, { field: 'privacy.region' });
    assert.equal(await requestOf(c), 'tdpsa');
    assert.equal(sent(c).mixpanel, 'CCPA');
  });

  it('the database keeps only known regimes, and rows written before the column have gdpr', async () => {
    const [row] = await q<{ regime: string }>(
      `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at)
       values ('old-row', now(), 'e', 's', now()) returning regime`,
    );
    assert.equal(row!.regime, 'gdpr');
    await assert.rejects(
      db().pool.query(`update deletion_request set regime = 'hipaa' where customer_id = 'old-row'`),
      (err: Error & { code?: string }) => err.code === '23514',
    );
    const [check] = await q<{ def: string }>(`select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'deletion_request_regime_known'`);
    for (const id of REGIME_IDS) assert.match(check!.def, new RegExp(`'${id}'`), `the check knows ${id}`);
  });
});
