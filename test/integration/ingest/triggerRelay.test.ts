import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTriggerRelay, type TriggerRelay } from '../../../local/triggerRelay.js';
import { EMULATOR_UPDATE_PAYLOAD_BASE64 } from '../../fixtures/firestoreEvent.js';

describe('startTriggerRelay', () => {
  let relay: TriggerRelay;
  let target: Server;
  let targetUrl: string;
  let answer = 204;
  const got: Array<{ headers: IncomingHttpHeaders; rawHeaders: string[]; body: Buffer }> = [];

  before(async () => {
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
    relay = await startTriggerRelay({ port: 0 });
    relay.route('demo-proj', 'trig', targetUrl);
  });
  after(async () => {
    await relay?.stop();
    target?.closeAllConnections();
    await new Promise<void>((r) => target?.close(() => r()));
  });
  beforeEach(() => {
    got.length = 0;
    answer = 204;
  });

  const emulatorHeaders = {
    'content-type': 'application/protobuf',
    'ce-specversion': '1.0',
    'ce-type': 'google.cloud.firestore.document.v1.written',
    'ce-source': '//firestore.googleapis.com/projects/projects/demo-proj/databases/(default)',
    'ce-id': 'e-1',
    'ce-subject': 'documents/customers/c1',
    'ce-document': 'customers/c1',
    'user-agent': 'Google-HTTP-Java-Client/1.0',
  };

  it('base64-decodes the emulator body, repairs ce-source and forwards the ce-* headers', async () => {
    const res = await fetch(`${relay.url}/functions/projects/demo-proj/triggers/trig`, {
      method: 'POST',
      headers: emulatorHeaders,
      body: EMULATOR_UPDATE_PAYLOAD_BASE64,
    });
    assert.equal(res.status, 204);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.body, Buffer.from(EMULATOR_UPDATE_PAYLOAD_BASE64, 'base64'));
    assert.equal(got[0]!.headers['ce-source'], '//firestore.googleapis.com/projects/demo-proj/databases/(default)');
    assert.equal(got[0]!.headers['ce-document'], 'customers/c1');
    assert.equal(got[0]!.headers['ce-id'], 'e-1');
    assert.equal(got[0]!.headers['content-type'], 'application/protobuf');
    assert.ok(!got[0]!.headers['user-agent']?.startsWith('Google-HTTP'), 'only ce-* and content headers pass');
  });

  it("answers with the target's status, so a failing function shows as a failed delivery", async () => {
    answer = 500;
    const res = await fetch(`${relay.url}/functions/projects/demo-proj/triggers/trig`, {
      method: 'POST',
      headers: emulatorHeaders,
      body: EMULATOR_UPDATE_PAYLOAD_BASE64,
    });
    assert.equal(res.status, 500);
  });

  it('passes a JSON body through unchanged', async () => {
    const body = JSON.stringify({ value: { fields: {} } });
    await fetch(`${relay.url}/functions/projects/demo-proj/triggers/trig`, {
      method: 'POST',
      headers: { ...emulatorHeaders, 'content-type': 'application/json' },
      body,
    });
    assert.equal(got[0]!.body.toString(), body);
  });

  it('forwards the bytes of ce-* headers unchanged (UTF-8 the emulator sends unencoded, percent-encoding)', async () => {
    const ids = ['ünicøde', 'emoji😀', 'with space', 'a%41b', 'plus+sign', `q"uote's`];
    for (const id of ids) {
      got.length = 0;
      const document = Buffer.from(`customers/${id}`, 'utf8');
      const encoded = `documents/customers/${encodeURIComponent(id)}`;
      // node:http writes a header string's characters as single bytes: Latin-1 text is how raw bytes are sent.
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${relay.url}/functions/projects/demo-proj/triggers/trig`, {
          method: 'POST',
          headers: { ...emulatorHeaders, 'ce-document': document.toString('latin1'), 'ce-subject': encoded },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(Buffer.from(EMULATOR_UPDATE_PAYLOAD_BASE64)); // a string body would make node:http write the headers as UTF-8 with it
      });
      assert.equal(status, 204, id);
      const raw = got[0]!.rawHeaders;
      const value = (name: string) => raw[raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1]!;
      assert.deepEqual(Buffer.from(value('ce-document'), 'latin1'), document, `ce-document bytes of ${id}`);
      assert.equal(value('ce-subject'), encoded, `ce-subject of ${id}`);
    }
  });

  it('answers 404 for a trigger nobody registered', async () => {
    const res = await fetch(`${relay.url}/functions/projects/other/triggers/trig`, { method: 'POST', headers: emulatorHeaders, body: 'AA==' });
    assert.equal(res.status, 404);
    assert.equal(got.length, 0);
  });

  it('with a retry policy: accepts at once, redelivers the same event while the function answers 5xx, and counts it', async () => {
    const retrying = await startTriggerRelay({ port: 0, retry: { attempts: 5, minBackoffMs: 10, maxBackoffMs: 20 } });
    try {
      retrying.route('demo-proj', 'trig', targetUrl);
      answer = 500;
      setTimeout(() => (answer = 204), 60);
      const res = await fetch(`${retrying.url}/functions/projects/demo-proj/triggers/trig`, { method: 'POST', headers: emulatorHeaders, body: EMULATOR_UPDATE_PAYLOAD_BASE64 });
      assert.equal(res.status, 204, 'the relay owns the delivery from here');
      await retrying.idle();
      assert.ok(got.length >= 2, 'redelivered after the 500');
      assert.ok(got.every((g) => g.headers['ce-id'] === 'e-1'), 'the same CloudEvent each time');
      const stats = retrying.stats();
      assert.equal(stats.accepted, 1);
      assert.equal(stats.retries, got.length - 1);
      assert.equal(stats.abandoned, 0);
    } finally {
      await retrying.stop();
    }
  });

  it('drops or duplicates events as a fault says, and redelivers a dropped one late', async () => {
    relay.setFault((d) => (d.headers['ce-id'] === 'drop-me' ? 'drop' : { copies: 3 }));
    try {
      await fetch(`${relay.url}/functions/projects/demo-proj/triggers/trig`, { method: 'POST', headers: { ...emulatorHeaders, 'ce-id': 'drop-me' }, body: EMULATOR_UPDATE_PAYLOAD_BASE64 });
      assert.equal(got.length, 0, 'dropped');
      await fetch(`${relay.url}/functions/projects/demo-proj/triggers/trig`, { method: 'POST', headers: emulatorHeaders, body: EMULATOR_UPDATE_PAYLOAD_BASE64 });
      assert.equal(got.length, 3, 'three copies');
      await relay.redeliver({ projectId: 'demo-proj', triggerId: 'trig', headers: { ...emulatorHeaders, 'ce-id': 'drop-me' }, body: Buffer.from('x') });
      assert.equal(got.length, 4);
      assert.equal(got[3]!.headers['ce-id'], 'drop-me');
    } finally {
      relay.setFault(null);
    }
  });
});
