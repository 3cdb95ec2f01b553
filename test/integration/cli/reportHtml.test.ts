import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeClock, DAY } from '../../../functions/clock.js';
import { findChromium, runChromium } from '../../../functions/cli/chromium.js';
import { silentLogger } from '../../../functions/log.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { useTestDatabase } from '../../helpers/db.js';
import { cli } from './helpers.js';

/** Where the rendered report, its screenshot and its PDF are kept for a person to look at (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

const VENDORS = ['amplitude', 'mparticle'] as const;
const env = (url: string) => ({
  DATABASE_URL: url,
  VENDORS: VENDORS.join(','),
  VENDOR_AMPLITUDE_API_KEY: 'k',
  VENDOR_AMPLITUDE_SECRET_KEY: 's',
  VENDOR_MPARTICLE_API_KEY: 'k',
  VENDOR_MPARTICLE_API_SECRET: 's',
});

/**
 * Requests in every outcome the report tells apart: met and verified, met with a failed verification, missed,
 * at risk (the vendor's own date past the deadline), open in time with an extension.
 */
export async function seedReportRequests(pool: import('pg').Pool, at: (days: number) => Date): Promise<void> {
  const vendors = VENDORS.map((name) => ({ name, policy: { maxBatchSize: 100, expectedDurationMs: 21 * DAY } as never }));
  const revoke = async (customerId: string, day: number, regime: 'gdpr' | 'ccpa') => {
    const recorder = createRevocationRecorder({ pool, log: silentLogger(), clock: createFakeClock(at(day)), config: { consentField: 'analyticsConsent', customersCollection: 'customers' }, vendors });
    await recorder.recordRevocation({ customerId, revokedAt: at(day).toISOString(), source: 'firestore', sourceEventId: `ev-${customerId}`, regime: { regime, source: 'document' } });
  };
  const set = (customerId: string, vendor: string, sql: string, params: unknown[] = []) =>
    pool.query(`update vendor_deletion set ${sql} where customer_id = $1 and vendor = $2`, [customerId, vendor, ...params]);
  const event = (customerId: string, vendor: string, kind: string, day: number, detail: Record<string, unknown>) =>
    pool.query(
      `insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
       select request_id, id, customer_id, vendor, $3, $4::jsonb, $5 from vendor_deletion where customer_id = $1 and vendor = $2`,
      [customerId, vendor, kind, JSON.stringify(detail), at(day)],
    );
  const complete = async (customerId: string, vendor: string, submitted: number, done: number, verified: boolean) => {
    await set(customerId, vendor, `state = 'completed', operation_id = $3, submitted_at = $4, completed_at = $5, raw_status = 'done', status_payload = '{"status":"done"}', check_count = 4, next_check_at = null`, [`op-${customerId}-${vendor}`, at(submitted), at(done)]);
    await event(customerId, vendor, 'submitted', submitted, { operationId: `op-${customerId}-${vendor}` });
    await event(customerId, vendor, 'status_seen', submitted + 1, { rawStatus: 'in_progress' });
    await event(customerId, vendor, 'completed', done, { rawStatus: 'done' });
    if (verified) {
      await set(customerId, vendor, 'verified_at = $3', [at(done)]);
      await event(customerId, vendor, 'verified', done, { evidence: { lookup: 'usersearch', type: 'nomatch', matches: 0 } });
    }
  };

  await revoke('cust-met', 0, 'gdpr');
  await complete('cust-met', 'amplitude', 0, 16, true);
  await complete('cust-met', 'mparticle', 0, 9, false);
  // The processor's signed answer (OpenDSR: X-OpenDSR-Signature over the body, checked against its certificate).
  await set('cust-met', 'mparticle', `status_payload = $3::jsonb`, [JSON.stringify({ request_status: 'completed', signature: 'MEUCIQD…(processor signature, verified)', certificate: 'https://opendsr.mparticle.com/cert.pem' })]);

  await revoke('cust-found', 1, 'gdpr');
  await complete('cust-found', 'amplitude', 1, 17, false);
  await set('cust-found', 'amplitude', `verification_failed_at = $3, verification_evidence = $4::jsonb`, [at(17), JSON.stringify({ summary: 'Amplitude user search still finds the customer (amplitude_id 100000007)', answer: { lookup: 'usersearch', type: 'match_user_or_device_id', matches: [{ user_id: 'cust-found', amplitude_id: 100000007 }] } })]);
  await event('cust-found', 'amplitude', 'verification_failed', 17, { summary: 'Amplitude user search still finds the customer' });
  await complete('cust-found', 'mparticle', 1, 10, false);

  await revoke('cust-missed', 2, 'ccpa');
  await complete('cust-missed', 'amplitude', 2, 18, true);
  await set('cust-missed', 'mparticle', `state = 'in_progress', operation_id = 'op-cust-missed', submitted_at = $3, raw_status = 'in_progress'`, [at(2)]);

  await revoke('cust-risk', 50, 'gdpr');
  await set('cust-risk', 'amplitude', `state = 'submitted', operation_id = 'default/2026-04-03/cust-risk', submitted_at = $3, raw_status = 'staging', expected_by = $4, expected_source = 'job day 2026-05-10 + 5 days'`, [at(50), at(95)]);
  await set('cust-risk', 'mparticle', `state = 'in_progress', operation_id = 'op-cust-risk', submitted_at = $3, raw_status = 'in_progress', expected_by = $4, expected_source = 'expected_completion_time'`, [at(50), at(60)]);

  await revoke('cust-extended', 55, 'ccpa');
  await set('cust-extended', 'amplitude', `state = 'submitted', operation_id = 'default/2026-04-08/cust-extended', submitted_at = $3, raw_status = 'staging', expected_by = $4, expected_source = 'job day 2026-04-08 + 5 days'`, [at(55), at(70)]);
  await set('cust-extended', 'mparticle', `state = 'in_progress', operation_id = 'op-cust-extended', submitted_at = $3, raw_status = 'in_progress', expected_by = $4, expected_source = 'expected_completion_time'`, [at(55), at(75)]);
}

describe('report --format html|pdf: the authority\'s report, rendered in headless Chromium (real PostgreSQL)', function () {
  this.timeout(120_000);
  const db = useTestDatabase('cli_report_html');
  const T0 = new Date('2026-02-01T09:00:00Z');
  const at = (days: number) => new Date(T0.getTime() + days * DAY);
  const now = createFakeClock(at(60));
  const chromium = findChromium(process.env);

  before(async function () {
    if (chromium.path === null) {
      const why = `headless Chromium is not installed at ${chromium.lookedAt} (apt-get install -y chromium, or set CHROMIUM_PATH; .ci/run installs it), so the rendered report cannot be checked`;
      if (process.env['CONSENT_ERASURE_CI']) throw new Error(why);
      console.warn(`      skipped: ${why}`);
      this.skip();
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await seedReportRequests(db().pool, at);
    const ext = await cli(['extend', 'cust-extended', '--reason', 'mParticle forwards to 40 partners; their confirmations take longer', '--by', 'privacy-officer'], env(db().url), ARTIFACTS, createFakeClock(at(58)));
    assert.equal(ext.code, 0, ext.stderr);
  });

  it('renders a summary page (met / missed / at risk) and every request with its regime, deadlines, vendor timelines, verification and receipts; a screenshot is kept', async () => {
    const run = await cli(['report', '--since', '2026-01-01', '--format', 'html', '--out', 'report.html'], env(db().url), ARTIFACTS, now);
    assert.equal(run.code, 0, run.stderr);
    const file = join(ARTIFACTS, 'report.html');
    const dom = await runChromium(chromium.path!, file, ['--dump-dom']);
    const text = dom.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    assert.match(dom, /<b id="count-met">2<\/b>/, 'cust-met and cust-found finished in time');
    assert.match(dom, /<b id="count-missed">1<\/b>/, 'cust-missed is open past its CCPA deadline');
    assert.match(dom, /<b id="count-at-risk">1<\/b>/, 'cust-risk: Amplitude\'s job day is past the GDPR deadline');
    assert.match(dom, /<b id="count-open">1<\/b>/, 'cust-extended: open, in time after its extension');
    assert.match(text, /Customer cust-extended at risk|Customer cust-extended open/);
    assert.match(text, /extended to 2026-0\d-\d\d \d\d:\d\d UTC on 2026-03-31 09:00 UTC by privacy-officer: “mParticle forwards to 40 partners/);
    assert.match(text, /expected 2026-05-07 09:00 UTC \(amplitude's own date \(job day 2026-05-10 \+ 5 days\)\)/);
    assert.match(text, /data still found/);
    assert.match(text, /amplitude_id 100000007|100000007/);
    assert.match(text, /signed receipt: vendor's completion answer \(done\)/);
    assert.match(text, /regime ccpa/);

    const screenshot = join(ARTIFACTS, 'report.png');
    await runChromium(chromium.path!, file, [`--screenshot=${screenshot}`, '--window-size=1280,2400', '--hide-scrollbars']);
    const png = readFileSync(screenshot);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(png.readUInt32BE(16), 1280, 'the screenshot is as wide as the window');
    assert.ok(statSync(screenshot).size > 20_000, 'the screenshot shows a rendered page, not a blank one');
  });

  it('prints the same report to PDF with Chromium', async () => {
    const run = await cli(['report', '--since', '2026-01-01', '--format', 'pdf', '--out', 'report.pdf'], { ...env(db().url), CHROMIUM_PATH: chromium.path! }, ARTIFACTS, now);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote report\.pdf \(\d+ bytes, 5 requests\)/);
    const pdf = readFileSync(join(ARTIFACTS, 'report.pdf'));
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(/\/Type\s*\/Page\b/.test(pdf.toString('latin1')), 'holds at least one page');
  });

  it('refuses pdf without --out, and names a missing Chromium', async () => {
    const noOut = await cli(['report', '--since', '2026-01-01', '--format', 'pdf'], env(db().url), ARTIFACTS, now);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /--format pdf needs --out/);
    const none = await cli(['report', '--since', '2026-01-01', '--format', 'pdf', '--out', 'x.pdf'], { ...env(db().url), CHROMIUM_PATH: '/nonexistent/chromium' }, ARTIFACTS, now);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /there is none at \/nonexistent\/chromium \(apt-get install chromium, or set CHROMIUM_PATH\)/);
  });
});
