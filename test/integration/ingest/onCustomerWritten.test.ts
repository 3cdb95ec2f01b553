import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../../functions/config.js';
import { systemClock } from '../../../functions/clock.js';
import { TransientError } from '../../../functions/errors.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { createLogger } from '../../../functions/log.js';
import { freePort } from '../../../local/emulators.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { createPool } from '../../../functions/store/pool.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { fakeVendor } from '../../helpers/fakeVendor.js';

/** A vendor that takes batches: the ingest must leave its deletions to the poller and never call it. */
function batchVendor() {
  return fakeVendor('segment', {
    policy: {
      maxBatchSize: 100,
      requestsPerSecond: 10,
      concurrency: 1,
      expectedDurationMs: 30 * 86_400_000,
      noProgressMs: 7 * 86_400_000,
      minCheckIntervalMs: 60_000,
      maxCheckIntervalMs: 3_600_000,
      maxSubmitAttempts: 5,
      timeoutMs: 1000,
    },
    async submit() {
      throw new Error('the ingest must not submit batch vendors');
    },
  });
}

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

describe('onCustomerWritten (real PostgreSQL, vendor sandbox)', function () {
  this.timeout(30_000);
  const db = useTestDatabase('ingest');
  let sandbox: RunningSandbox;
  let config: Config;
  let segment: ReturnType<typeof batchVendor>;
  let captured: ReturnType<typeof captureLog>;
  let handler: ReturnType<typeof createOnCustomerWritten>;
  let seq = 0;
  const customer = () => `cust-${process.pid}-${++seq}`;

  before(async () => {
    sandbox = await startSandbox({ vendors: { http: {} } });
    config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` });
  });
  after(async () => {
    await sandbox?.stop();
  });
  beforeEach(() => {
    sandbox.control.reset('http');
    segment = batchVendor();
    captured = captureLog();
    const http = createHttpVendor(VENDOR_SETTINGS.http.parse({ baseUrl: `${sandbox.url}/http` }), { timeoutMs: 400 });
    handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [http, segment], log: captured.log, clock: systemClock });
  });

  const creates = () => sandbox.control.calls('http').filter((c) => c.method === 'POST');
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];
  const deletions = (customerId: string) =>
    q<Record<string, unknown>>('select * from vendor_deletion where customer_id = $1 order by vendor', [customerId]);
  const requests = (customerId: string) =>
    q<Record<string, unknown>>('select * from deletion_request where customer_id = $1 order by revoked_at', [customerId]);
  const events = (customerId: string) =>
    q<{ kind: string; vendor: string | null; detail: Record<string, unknown> }>(
      'select kind, vendor, detail from deletion_event where customer_id = $1 order by id',
      [customerId],
    );
  const revoke = (customerId: string, extra: Parameters<typeof firestoreEvent>[0] = {}) =>
    firestoreEvent({ customerId, before: { analyticsConsent: true, email: 'a@example.com' }, after: { analyticsConsent: false, email: 'a@example.com' }, ...extra });

  it('records a revocation: one request, one deletion per vendor, submitted at once to the one-per-call vendor', async () => {
    const c = customer();
    await handler(revoke(c, { id: 'ev-1', updateTime: '2026-11-27T09:30:00.123456Z' }));

    const [request, ...more] = await requests(c);
    assert.equal(more.length, 0);
    assert.equal((request!['revoked_at'] as Date).toISOString(), '2026-11-27T09:30:00.123Z');
    // GDPR (the default regime): one calendar month from 27 November in Helsinki is Sunday 27 December, so the
    // period ends with Monday 28 December (Reg. 1182/71 Art. 3(4)), at midnight Helsinki time.
    assert.equal((request!['deadline_at'] as Date).toISOString(), '2026-12-28T22:00:00.000Z');
    assert.equal(request!['source_event_id'], 'ev-1');

    const [http, seg] = await deletions(c);
    assert.equal(http!['vendor'], 'http');
    assert.equal(http!['state'], 'submitted');
    const calls = creates();
    assert.equal(calls.length, 1);
    const body = calls[0]!.body as { customerId: string; requestId: string };
    assert.equal(body.customerId, c);
    assert.equal(body.requestId, http!['idempotency_key']);
    // The stored operation id is the sandbox's own: it answers for it.
    const status = await fetch(`${sandbox.url}/http/deletions/${encodeURIComponent(String(http!['operation_id']))}`);
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { operationId: string }).operationId, http!['operation_id']);
    assert.deepEqual(http!['operation_ref'], { operationId: http!['operation_id'] });
    assert.equal(http!['lease_owner'], null);
    assert.equal(http!['submit_attempts'], 1);
    assert.ok((http!['next_check_at'] as Date) > new Date());

    assert.equal(seg!['vendor'], 'segment');
    assert.equal(seg!['state'], 'queued');
    assert.equal(seg!['lease_owner'], null, 'batch vendors are left to the poller, unleased');
    assert.ok((seg!['next_check_at'] as Date) <= new Date(), 'and due now');
    assert.equal(segment.calls.length, 0);

    const kinds = (await events(c)).map((e) => `${e.kind}${e.vendor ? `:${e.vendor}` : ''}`);
    assert.deepEqual(kinds, ['revoked', 'queued:http', 'queued:segment', 'submitted:http']);
    const revoked = (await events(c))[0]!;
    assert.equal(revoked.detail['eventId'], 'ev-1');
    assert.equal(revoked.detail['reason'], 'analyticsConsent changed from true to false');

    const pending = await q('select * from pending_deletion where customer_id = $1 and vendor = $2', [c, 'http']);
    assert.equal(pending[0]!['operation_id'], http!['operation_id']);
  });

  it('is idempotent: the same event three times in a row gives one request and one vendor call', async () => {
    const c = customer();
    const event = revoke(c, { id: 'ev-seq' });
    for (let i = 0; i < 3; i++) await handler(event);
    assert.equal((await requests(c)).length, 1);
    assert.equal((await deletions(c)).length, 2);
    assert.equal(creates().length, 1);
    assert.equal((await events(c)).filter((e) => e.kind === 'revoked').length, 1);
  });

  it('is idempotent under ten concurrent deliveries', async () => {
    const c = customer();
    const event = revoke(c, { id: 'ev-par' });
    await Promise.all(Array.from({ length: 10 }, () => handler(event)));
    assert.equal((await requests(c)).length, 1);
    const rows = await deletions(c);
    assert.deepEqual(rows.map((r) => r['vendor']), ['http', 'segment']);
    assert.equal(creates().length, 1);
    assert.equal(rows[0]!['state'], 'submitted');
    assert.equal((await events(c)).filter((e) => e.kind === 'submitted').length, 1);
  });

  it('records nothing for writes that are not revocations', async () => {
    const c = customer();
    await handler(firestoreEvent({ customerId: c, after: { email: 'x' } }));
    await handler(firestoreEvent({ customerId: c, before: { analyticsConsent: false }, after: { analyticsConsent: false, email: 'y' } }));
    await handler(firestoreEvent({ customerId: c, before: { analyticsConsent: true }, after: { analyticsConsent: true, email: 'y' } }));
    await handler(firestoreEvent({ customerId: c, before: { analyticsConsent: false } }));
    assert.equal((await requests(c)).length, 0);
    assert.equal((await events(c)).length, 0);
    assert.equal(creates().length, 0);
  });

  it('dates a delete by the event time, and a regrant then a new revocation makes a second request', async () => {
    const c = customer();
    await handler(revoke(c, { updateTime: '2026-11-01T00:00:00Z' }));
    await handler(
      firestoreEvent({ customerId: c, before: { analyticsConsent: false }, after: { analyticsConsent: true }, updateTime: '2026-11-02T00:00:00Z' }),
    );
    await handler(firestoreEvent({ customerId: c, before: { analyticsConsent: true }, time: '2026-11-03T00:00:00Z' }));
    const rs = await requests(c);
    assert.equal(rs.length, 2);
    assert.equal((rs[0]!['regranted_at'] as Date).toISOString(), '2026-11-02T00:00:00.000Z');
    assert.equal(rs[1]!['regranted_at'], null);
    assert.equal((rs[1]!['revoked_at'] as Date).toISOString(), '2026-11-03T00:00:00.000Z');
    const kinds = (await events(c)).map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === 'regranted').length, 1);
    assert.equal(creates().length, 2);
    // The deletion already submitted is not undone.
    assert.equal((await deletions(c)).filter((d) => d['vendor'] === 'http' && d['state'] === 'submitted').length, 2);
  });

  it('records a late regrant on the request it follows, not on a newer one, and only once', async () => {
    const c = customer();
    await handler(revoke(c, { updateTime: '2026-11-01T00:00:00Z' }));
    await handler(revoke(c, { updateTime: '2026-11-05T00:00:00Z' }));
    const regrant = firestoreEvent({ customerId: c, before: { analyticsConsent: false }, after: { analyticsConsent: true }, updateTime: '2026-11-02T00:00:00Z' });
    await handler(regrant);
    await handler(regrant);
    const rs = await requests(c);
    assert.equal((rs[0]!['regranted_at'] as Date).toISOString(), '2026-11-02T00:00:00.000Z');
    assert.equal(rs[1]!['regranted_at'], null);
    assert.equal((await events(c)).filter((e) => e.kind === 'regranted').length, 1);
  });

  const faults: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a vendor 500', { failureShare: 1, failureStatus: 500 }, 'transient', /answered 500/],
    ['a vendor timeout', { timeoutShare: 1, hangMs: 3000 }, 'transient', /timed out/],
    ['contract drift (a renamed field)', { drift: 'rename_field' }, 'contract', /operationId/],
    ['a rejected credential', { rejectCredentials: true }, 'auth', /credential/],
  ];
  for (const [name, fault, kind, message] of faults) {
    it(`keeps the deletion queued with the error recorded on ${name}, and acknowledges`, async () => {
      sandbox.control.configure('http', fault);
      const c = customer();
      await handler(revoke(c));
      const [http] = await deletions(c);
      assert.equal(http!['state'], 'queued');
      assert.equal(http!['operation_id'], null);
      assert.equal(http!['last_error_kind'], kind);
      assert.match(String(http!['last_error']), message);
      assert.equal(http!['submit_attempts'], 1);
      assert.equal(http!['lease_owner'], null, 'lease released so the poller can retry');
      assert.ok((http!['next_check_at'] as Date) > new Date(), 'retry scheduled after a backoff');
      const failed = (await events(c)).filter((e) => e.kind === 'submit_failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.detail['errorKind'], kind);
      assert.ok(captured.lines.some((l) => l['event'] === 'vendor_submit_failed'));
    });
  }

  it('stores the Retry-After of a 429 as the next try', async () => {
    sandbox.control.configure('http', { rateLimit: { requests: 1, perMs: 60_000 } });
    await handler(revoke(customer()));
    const c = customer();
    await handler(revoke(c));
    const [http] = await deletions(c);
    assert.equal(http!['last_error_kind'], 'rate_limited');
    const wait = (http!['next_check_at'] as Date).getTime() - Date.now();
    assert.ok(wait > 30_000 && wait <= 61_000, `next try in ${wait} ms follows Retry-After`);
  });

  const badInput: Array<[string, () => unknown, RegExp]> = [
    ['malformed protobuf', () => ({ ...revoke('b1'), data: Buffer.from([0x0a, 0xff, 0xff]) }), /malformed protobuf/],
    ['JSON of the wrong shape', () => ({ ...revoke('b2', { encoding: 'json' }), data: { value: { fields: { analyticsConsent: { booleanValue: 'no' } } } } }), /booleanValue/],
    ['another collection', () => revoke('o1', { collection: 'orders' }), /not in collection "customers"/],
    ['a subcollection', () => revoke('c1/orders/o1'), /subcollection/],
    ['an empty customer id', () => revoke('', {}), /empty customer id/],
    ['a customer id over 1500 bytes', () => revoke('x'.repeat(1501)), /1501 bytes/],
    ['a customer id holding a NUL character', () => revoke('nul\u0000id'), /NUL character/],
    ['a customer id with the pseudonym prefix hmac-sha256:', () => revoke(`hmac-sha256:${'ab'.repeat(32)}`), /starts with "hmac-sha256:", a prefix reserved for pseudonymised ids/],
    ['a customer id with the purged: prefix', () => revoke('PURGED:c-9'), /starts with "purged:", a prefix reserved/],
    ['a non-Firestore event', () => ({ ...revoke('b3'), type: 'google.cloud.pubsub.topic.v1.messagePublished' }), /Firestore document event/],
  ];
  for (const [name, build, reason] of badInput) {
    it(`acknowledges ${name} with a WARNING naming the reason, writing nothing`, async () => {
      const before = await q<{ n: string }>('select (select count(*) from deletion_request) + (select count(*) from deletion_event) as n');
      await handler(build() as Parameters<typeof handler>[0]);
      const after = await q<{ n: string }>('select (select count(*) from deletion_request) + (select count(*) from deletion_event) as n');
      assert.equal(after[0]!.n, before[0]!.n);
      const warning = captured.lines.find((l) => l['event'] === 'invalid_firestore_event');
      assert.ok(warning, 'a warning was logged');
      assert.equal(warning['severity'], 'WARNING');
      assert.match(String(warning['reason']), reason);
      assert.equal(creates().length, 0);
    });
  }

  it('throws a TransientError when the database is unreachable, so the platform retries', async () => {
    const port = await freePort();
    const { pool, close } = await createPool({ kind: 'url', url: `postgres://postgres@127.0.0.1:${port}/none`, poolMax: 1 });
    try {
      const down = createOnCustomerWritten({ config, pool, vendors: [segment], log: captured.log, clock: systemClock });
      await assert.rejects(down(revoke(customer())), (err: unknown) => err instanceof TransientError);
      assert.ok(captured.lines.some((l) => l['event'] === 'firestore_event_retry' && l['severity'] === 'ERROR'));
    } finally {
      await close();
    }
  });
});
