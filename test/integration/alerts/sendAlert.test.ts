import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { loadConfig, type Config } from '../../../functions/config.js';
import { createLogger } from '../../../functions/log.js';
import { createFakeClock, HOUR } from '../../../functions/clock.js';
import { ConfigError } from '../../../functions/errors.js';
import { randomUUID } from 'node:crypto';
import { AlertMessageSchema, type AlertMessage } from '../../../functions/alerts/AlertMessage.js';
import { recordAlert } from '../../../functions/store/recordAlert.js';
import { AlertSendFailedError } from '../../../functions/alerts/AlertSender.js';
import { createSendgridSender, createSendgridSenderFromConfig } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { AlertInFlightError } from '../../../functions/services/deliverAlert.js';
import { freePort } from '../../../local/emulators.js';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';
import { useTestDatabase } from '../../helpers/db.js';

const API_KEY = 'SG.never-in-logs-0123456789';

interface Seeded {
  deletionId: string;
  customerId: string;
  operationId: string;
}

describe('sendAlert (real PostgreSQL, real @sendgrid/mail, local SendGrid sink)', () => {
  const db = useTestDatabase('send_alert');
  let sink: MailSink;
  let config: Config;
  const lines: string[] = [];
  const log = createLogger({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const clock = createFakeClock('2026-03-04T09:00:00Z');
  let seeded: Seeded[] = [];
  let counter = 0;

  before(async () => {
    sink = await startMailSink({ outboxDir: false });
    config = loadConfig({
      DATABASE_URL: db().url,
      VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/',
      SENDGRID_API_KEY: API_KEY,
      SENDGRID_BASE_URL: sink.url,
      ALERT_FROM: 'alerts@example.com',
      ALERT_TO: 'ops@example.com, oncall@example.com',
    });
    seeded = [];
    for (const [customerId, operationId] of [
      ['cust-<1>', 'op-A1'],
      ['cust-2', 'op-A2'],
    ] as const) {
      const r = await db().pool.query<{ id: string }>(
        `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at)
         values ($1, '2026-03-01T08:00:00Z', $2, 'test', '2026-03-31T08:00:00Z') returning id`,
        [customerId, `ev-${customerId}`],
      );
      const d = await db().pool.query<{ id: string }>(
        `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_id, submitted_at)
         values ($1, $2, 'http', 'submitted', $3, '2026-03-01T08:00:00Z') returning id`,
        [r.rows[0]!.id, customerId, operationId],
      );
      seeded.push({ deletionId: String(d.rows[0]!.id), customerId, operationId });
    }
  });
  after(async () => {
    await sink.stop();
  });
  beforeEach(() => {
    sink.clear();
    sink.setFault(null);
  });
  afterEach(() => {
    for (const line of lines) assert.ok(!line.includes(API_KEY), `the API key leaked into a log line: ${line}`);
  });

  /** Writes an alert listing `deletions` (all seeded ones by default) as the poller would; returns its message. */
  async function alert(deletions: Seeded[] = seeded): Promise<AlertMessage> {
    const id = randomUUID();
    await recordAlert(db().pool, {
      id,
      kind: 'stale',
      vendor: 'http',
      incidentKey: 'stale:http',
      escalation: 0,
      since: new Date('2026-03-01T08:00:00Z'),
      raisedAt: new Date('2026-03-04T09:00:00Z'),
      summary: `${deletions.length} deletions at http are past the expected 3 days.`,
      totalItems: deletions.length,
      incidentOpenedAt: null,
      items: deletions.map((s) => ({ deletionId: s.deletionId, since: new Date('2026-03-01T08:00:00Z') })),
    });
    return AlertMessageSchema.parse({ alertId: id });
  }

  function event(payload: unknown, id = `msg-${Math.random().toString(36).slice(2)}`): CloudEvent<unknown> {
    const data = payload === undefined ? undefined : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64');
    return {
      specversion: '1.0',
      id,
      source: '//pubsub.googleapis.com/projects/demo/topics/deletion-alerts',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      data: { message: { ...(data === undefined ? {} : { data }), messageId: id } },
    };
  }

  function handler(delivery?: { leaseMs?: number; inFlightWaitMs?: number }) {
    return createSendAlert({ config, pool: db().pool, sender: createSendgridSenderFromConfig(config), log, clock, ...(delivery ? { delivery } : {}) });
  }

  async function deliveryRow(alertId: string) {
    const r = await db().pool.query<{ state: string; attempts: number; provider_message_id: string | null; last_error: string | null }>(
      'select state, attempts, provider_message_id, last_error from alert_delivery where alert_id = $1',
      [alertId],
    );
    return r.rows[0];
  }

  async function alertSentEvents(alertId: string) {
    const r = await db().pool.query<{ vendor_deletion_id: string; customer_id: string; detail: { providerMessageId: string; recipients: string[] } }>(
      "select vendor_deletion_id, customer_id, detail from deletion_event where kind = 'alert_sent' and detail->>'alertId' = $1 order by vendor_deletion_id",
      [alertId],
    );
    return r.rows;
  }

  function logged(event: string): Array<Record<string, unknown>> {
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['event'] === event);
  }

  it('sends one email naming the operation and customer ids, and records alert_sent per deletion', async () => {
    const m = await alert();
    await handler()(event(m));
    const sent = sink.messages();
    assert.equal(sent.length, 1);
    const email = sent[0]!;
    assert.deepEqual(email.to, ['ops@example.com', 'oncall@example.com']);
    assert.equal(email.from, 'alerts@example.com');
    assert.match(email.subject, /Deletions overdue at http: 2 deletions/);
    for (const s of seeded) {
      assert.ok(email.text!.includes(s.operationId) && email.text!.includes(s.customerId));
      assert.ok(email.html!.includes(s.operationId));
    }
    assert.ok(email.html!.includes('cust-&lt;1&gt;') && !email.html!.includes('cust-<1>'));
    assert.deepEqual(email.customArgs, { alertId: m.alertId, incidentKey: 'stale:http', escalation: '0' });
    assert.deepEqual(email.categories, ['consent-erasure', 'alert-stale']);

    const row = await deliveryRow(m.alertId);
    assert.equal(row?.state, 'sent');
    assert.equal(row?.provider_message_id, email.id);
    const events = await alertSentEvents(m.alertId);
    assert.deepEqual(
      events.map((e) => e.customer_id),
      seeded.map((s) => s.customerId),
    );
    assert.equal(events[0]!.detail.providerMessageId, email.id);
    assert.deepEqual(events[0]!.detail.recipients, ['ops@example.com', 'oncall@example.com']);
  });

  it('sends once when Pub/Sub delivers the same alert twice in a row', async () => {
    const m = await alert();
    const h = handler();
    await h(event(m, 'first'));
    await h(event(m, 'second'));
    assert.equal(sink.messages().length, 1);
    assert.equal(sink.requestCount() > 0, true);
    assert.equal((await alertSentEvents(m.alertId)).length, seeded.length);
    assert.ok(logged('alert_duplicate').some((l) => l['alertId'] === m.alertId));
  });

  it('sends once when Pub/Sub delivers the same alert five times at once, and every delivery is acknowledged', async () => {
    const m = await alert();
    const before = sink.requestCount();
    // Separate handler instances, as separate function instances would be.
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => handler()(event(m, `c${n}`))));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.equal(sink.requestCount() - before, 1);
    assert.equal(sink.messages().length, 1);
    assert.equal((await alertSentEvents(m.alertId)).length, seeded.length);
  });

  for (const status of [500, 503, 429]) {
    it(`throws on SendGrid ${status} so Pub/Sub retries, and the retry sends it`, async () => {
      const m = await alert();
      sink.setFault({ status, times: 1 });
      await assert.rejects(handler()(event(m)), (err: unknown) => err instanceof AlertSendFailedError && err.status === status);
      assert.equal(sink.messages().length, 0);
      const row = await deliveryRow(m.alertId);
      assert.equal(row?.state, 'sending');
      assert.match(row?.last_error ?? '', new RegExp(`SendGrid answered ${status}`));
      assert.equal((await alertSentEvents(m.alertId)).length, 0);

      await handler()(event(m));
      assert.equal(sink.messages().length, 1);
      assert.equal((await deliveryRow(m.alertId))?.attempts, 2);
    });
  }

  it('logs a SendGrid 400 at ERROR with its messages, acknowledges, and never sends that alert again', async () => {
    const m = await alert();
    sink.setFault({ status: 400, times: 1, messages: ['The to array is required for all personalization objects.'] });
    await handler()(event(m));
    const errors = logged('alert_rejected').filter((l) => l['alertId'] === m.alertId);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!['severity'], 'ERROR');
    assert.deepEqual(errors[0]!['providerMessages'], ['The to array is required for all personalization objects.']);
    assert.equal((await deliveryRow(m.alertId))?.state, 'rejected');

    const requests = sink.requestCount();
    await handler()(event(m));
    assert.equal(sink.requestCount(), requests, 'a rejected alert is not sent again');
    assert.equal(sink.messages().length, 0);
  });

  it('throws when SendGrid cannot be reached, without the API key in the error', async () => {
    const port = await freePort();
    const sender = createSendgridSender({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}` });
    const h = createSendAlert({ config, pool: db().pool, sender, log, clock });
    const m = await alert();
    await assert.rejects(h(event(m)), (err: unknown) => {
      assert.ok(err instanceof AlertSendFailedError);
      assert.match(err.message, /could not be reached/);
      assert.ok(!JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes(API_KEY));
      return true;
    });
    assert.equal((await deliveryRow(m.alertId))?.state, 'sending');
  });

  it('acknowledges invalid messages with a warning that says what was wrong, sending nothing', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['not JSON', '{nope', /not JSON/],
      ['empty data', undefined, /no data/],
      ['wrong type', { alertId: 42 }, /alertId/],
      ['not a UUID', { alertId: 'stale-0123456789abcdef' }, /alertId/],
      ['missing id', {}, /alertId/],
      ['text beside the id', { alertId: randomUUID(), summary: 'wire money now' }, /summary|Unrecognized/],
    ];
    for (const [name, payload, reason] of cases) {
      const id = `invalid-${name.replace(/\s/g, '-')}`;
      await handler()(event(payload, id));
      const warn = logged('alert_message_invalid').find((l) => l['ceId'] === id);
      assert.ok(warn, `a warning for ${name}`);
      assert.equal(warn['severity'], 'WARNING');
      assert.match(String(warn['reason']), reason, name);
    }
    assert.equal(sink.messages().length, 0);
  });

  it('an id no alert has sends nothing, records nothing, and is acknowledged with a warning', async () => {
    const forged = randomUUID();
    const requests0 = sink.requestCount();
    const events = async () => (await db().pool.query("select count(*)::int as n from deletion_event where kind = 'alert_sent'")).rows[0].n as number;
    const before = await events();
    await handler()(event({ alertId: forged }, 'forged-1'));
    const requests = requests0;
    assert.equal(sink.requestCount(), requests, 'nothing reached SendGrid');
    assert.equal(await events(), before, 'no alert_sent event');
    assert.equal(await deliveryRow(forged), undefined, 'no delivery claimed');
    const warn = logged('alert_unknown').find((l) => l['alertId'] === forged);
    assert.equal(warn?.['severity'], 'WARNING');
  });

  it('records alert_sent only for the deletions the stored alert lists', async () => {
    const m = await alert([seeded[1]!]);
    await handler()(event(m));
    assert.equal(sink.messages().length, 1);
    const text = sink.messages()[0]!.text!;
    assert.ok(text.includes(seeded[1]!.operationId) && !text.includes(seeded[0]!.operationId), 'the email lists the stored deletion only');
    assert.deepEqual((await alertSentEvents(m.alertId)).map((e) => e.customer_id), [seeded[1]!.customerId]);
  });

  it('takes over an alert whose sender crashed once the lease has run out', async () => {
    const m = await alert();
    await db().pool.query(
      `insert into alert_delivery (alert_id, kind, vendor, incident_key, escalation, state, attempts, lease_owner,
                                   lease_expires_at, recipients, subject, first_attempt_at, updated_at)
       values ($1, 'stale', 'http', 'stale:http', 0, 'sending', 1, 'crashed-instance', $2, '{ops@example.com}', 's', $3, $3)`,
      [m.alertId, new Date(clock.now().getTime() + HOUR), clock.now()],
    );
    // While the crashed delivery's lease runs, a redelivery asks to be retried rather than send twice.
    await assert.rejects(handler({ inFlightWaitMs: 0 })(event(m)), AlertInFlightError);
    assert.equal(sink.messages().length, 0);

    clock.advance(HOUR + 1);
    await handler()(event(m));
    assert.equal(sink.messages().length, 1);
    const row = await deliveryRow(m.alertId);
    assert.equal(row?.state, 'sent');
    assert.equal(row?.attempts, 2);
  });

  it('asks SendGrid for sandbox mode when configured, and returns the message id', async () => {
    const sender = createSendgridSender({ apiKey: API_KEY, baseUrl: `${sink.url}/`, sandboxMode: true });
    const result = await sender.send({
      from: 'alerts@example.com',
      to: ['ops@example.com'],
      subject: 'sandbox',
      text: 't',
      html: '<p>h</p>',
      categories: ['consent-erasure'],
      customArgs: { alertId: 'sandbox-1' },
    });
    const [email] = sink.messages();
    assert.equal(email?.sandboxMode, true);
    assert.equal(result.messageId, email?.id);
  });

  it('lets the functions\' runtime role read, claim and mark deliveries', async () => {
    const r = await db().pool.query<{ s: boolean; i: boolean; u: boolean }>(
      `select has_table_privilege('consent_erasure_runtime', 'alert_delivery', 'select') as s,
              has_table_privilege('consent_erasure_runtime', 'alert_delivery', 'insert') as i,
              has_table_privilege('consent_erasure_runtime', 'alert_delivery', 'update') as u`,
    );
    assert.deepEqual(r.rows[0], { s: true, i: true, u: true });
  });

  it('fails at start with a clear configuration error when the sender or recipients are missing', () => {
    const base = { DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/' };
    const noAddresses = loadConfig(base);
    assert.throws(
      () => createSendAlert({ config: noAddresses, pool: db().pool, sender: createSendgridSender({ apiKey: API_KEY }), log, clock }),
      (err: unknown) => err instanceof ConfigError && /ALERT_FROM/.test(err.message) && /ALERT_TO/.test(err.message),
    );
    assert.throws(() => createSendgridSenderFromConfig(noAddresses), (err: unknown) => err instanceof ConfigError && /SENDGRID_API_KEY/.test(err.message));
  });
});
