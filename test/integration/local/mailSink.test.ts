import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMailSink, type MailSink } from '../../../local/mailSink.js';

const valid = {
  from: { email: 'alerts@example.com' },
  subject: 'Deletion stale at http',
  personalizations: [{ to: [{ email: 'ops@example.com' }, { email: 'oncall@example.com' }] }],
  content: [
    { type: 'text/plain', value: 'plain body' },
    { type: 'text/html', value: '<p>html body</p>' },
  ],
  categories: ['consent-erasure', 'stale'],
  custom_args: { alertId: 'a-1' },
};

async function post(sink: MailSink, body: unknown, headers: Record<string, string> = { authorization: 'Bearer SG.test' }) {
  const res = await fetch(`${sink.url}/v3/mail/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, messageId: res.headers.get('x-message-id'), json: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

describe('mail sink (SendGrid-compatible, over HTTP)', () => {
  let dir: string;
  let sink: MailSink;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ce-outbox-'));
    sink = await startMailSink({ outboxDir: dir });
  });
  after(async () => {
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sink.clear();
    sink.setFault(null);
  });

  it('accepts a valid send with 202 and an X-Message-Id, keeps it, serves it at GET /messages and writes it to the outbox', async () => {
    const r = await post(sink, valid);
    assert.equal(r.status, 202);
    assert.ok(r.messageId && r.messageId.length >= 16);

    const listed = (await (await fetch(`${sink.url}/messages`)).json()) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!['id'], r.messageId);
    assert.deepEqual(listed[0]!['to'], ['ops@example.com', 'oncall@example.com']);
    assert.equal(listed[0]!['subject'], 'Deletion stale at http');
    assert.equal(listed[0]!['text'], 'plain body');
    assert.equal(listed[0]!['html'], '<p>html body</p>');
    assert.deepEqual(listed[0]!['customArgs'], { alertId: 'a-1' });

    const files = await readdir(dir);
    const mine = files.filter((f) => f.includes(r.messageId!));
    assert.equal(mine.length, 1);
    const written = JSON.parse(await readFile(join(dir, mine[0]!), 'utf8')) as Record<string, unknown>;
    assert.equal(written['subject'], 'Deletion stale at http');
    assert.equal(sink.messages()[0]!.file, join(dir, mine[0]!));
  });

  it('answers 200 in sandbox mode, as SendGrid does', async () => {
    const r = await post(sink, { ...valid, mail_settings: { sandbox_mode: { enable: true } } });
    assert.equal(r.status, 200);
    assert.equal(sink.messages()[0]!.sandboxMode, true);
  });

  const invalid: Array<[string, unknown, string]> = [
    ['no from', { ...valid, from: undefined }, 'from'],
    ['a from without an address', { ...valid, from: { email: 'not-an-address' } }, 'from'],
    ['no personalizations', { ...valid, personalizations: [] }, 'personalizations'],
    ['a bad recipient', { ...valid, personalizations: [{ to: [{ email: 'nobody' }] }] }, 'personalizations.0.to'],
    ['no subject', { ...valid, subject: undefined }, 'subject'],
    ['no content', { ...valid, content: [] }, 'content'],
  ];
  for (const [name, body, field] of invalid) {
    it(`rejects ${name} with 400 in SendGrid's error shape, keeping nothing`, async () => {
      const r = await post(sink, body);
      assert.equal(r.status, 400);
      const errors = (r.json as { errors: Array<{ field: string | null; message: string }> }).errors;
      assert.ok(errors.some((e) => e.field === field && e.message.length > 0), JSON.stringify(errors));
      assert.equal(sink.messages().length, 0);
    });
  }

  it('rejects a body that is not JSON with 400', async () => {
    const r = await post(sink, '{not json');
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.json), /not valid JSON/);
  });

  it('answers 401 without an API key', async () => {
    const r = await post(sink, valid, {});
    assert.equal(r.status, 401);
    assert.equal(sink.messages().length, 0);
  });

  it('fails the given number of sends with 429 (rate-limit headers) or 500, then accepts again', async () => {
    sink.setFault({ status: 429, times: 2 });
    const a = await post(sink, valid);
    const b = await post(sink, valid);
    assert.equal(a.status, 429);
    assert.equal(b.status, 429);
    assert.equal(a.headers.get('x-ratelimit-remaining'), '0');
    assert.deepEqual(a.json, { errors: [{ message: 'too many requests', field: null, help: null }] });
    assert.equal((await post(sink, valid)).status, 202);

    sink.setFault({ status: 500 });
    assert.equal((await post(sink, valid)).status, 500);
    assert.equal((await post(sink, valid)).status, 500);
    sink.setFault(null);
    assert.equal((await post(sink, valid)).status, 202);
    assert.equal(sink.messages().length, 2);
  });

  it('can be steered over HTTP: PUT /fault, DELETE /fault, DELETE /messages', async () => {
    const put = await fetch(`${sink.url}/fault`, { method: 'PUT', body: JSON.stringify({ status: 503, messages: ['down for a while'] }) });
    assert.equal(put.status, 204);
    const r = await post(sink, valid);
    assert.equal(r.status, 503);
    assert.deepEqual(r.json, { errors: [{ message: 'down for a while', field: null, help: null }] });
    assert.equal((await fetch(`${sink.url}/fault`, { method: 'DELETE' })).status, 204);
    assert.equal((await post(sink, valid)).status, 202);
    assert.equal((await fetch(`${sink.url}/messages`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await (await fetch(`${sink.url}/messages`)).json(), []);

    const bad = await fetch(`${sink.url}/fault`, { method: 'PUT', body: JSON.stringify({ status: 200 }) });
    assert.equal(bad.status, 400);
  });

  it('reports a port already in use clearly', async () => {
    await assert.rejects(startMailSink({ port: sink.port, outboxDir: false }), /already in use/);
  });
});
