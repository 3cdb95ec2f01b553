import assert from 'node:assert/strict';
import { createLogger, isSecretField } from '../../functions/log.js';
import { SECRET_SETTINGS } from '../../functions/vendors/settings.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { log, lines, last: () => JSON.parse(lines[lines.length - 1]!) as Record<string, unknown> };
}

describe('createLogger: redaction at any depth and length caps', () => {
  const secret = 'sk-live-0123456789abcdef';

  it('redacts secret-named fields however deep they are nested, in objects and arrays', () => {
    const { log, lines } = capture();
    log.warn(
      {
        event: 'nested',
        vendor: { settings: { auth: { apiKey: secret, 'x-api-key': secret } } },
        calls: [{ request: { headers: { Authorization: `Bearer ${secret}` } } }, { options: { deep: { deeper: { project_token: secret } } } }],
        config: { vendors: [{ settings: { secretKey: secret, apiSecret: secret, token: secret } }] },
      },
      'a nested secret',
    );
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes(secret), lines[0]);
    assert.match(lines[0]!, /\[redacted\]/);
  });

  it('knows every vendor secret setting as a secret field', () => {
    for (const [vendor, keys] of Object.entries(SECRET_SETTINGS)) for (const k of keys) assert.ok(isSecretField(k), `${vendor}.${k}`);
    for (const k of ['SENDGRID_API_KEY', 'sendgridApiKey', 'RETENTION_KEY', 'password', 'authorization']) assert.ok(isSecretField(k), k);
    for (const k of ['customerId', 'operationId', 'tokens_used', 'event', 'keyword']) assert.equal(isSecretField(k), false, k);
  });

  it('caps every string field, the message and an error, so one value cannot make a line unbounded', () => {
    const { log, lines, last } = capture();
    const huge = 'y'.repeat(1_000_000);
    log.error({ event: 'huge', incidentKey: huge, nested: { sample: huge }, list: Array.from({ length: 1000 }, () => huge.slice(0, 10)), err: new Error(huge) }, huge);
    assert.ok(lines[0]!.length < 40_000, `line is ${lines[0]!.length} characters`);
    const entry = last();
    assert.match(String(entry['incidentKey']), /more characters\]$/);
    assert.match(String((entry['nested'] as Record<string, unknown>)['sample']), /more characters\]$/);
    assert.equal((entry['list'] as unknown[]).length, 201);
    assert.match(String(entry['message']), /more characters\]$/);
    assert.match(String((entry['error'] as Record<string, unknown>)['message']), /more characters\]$/);
  });

  it('leaves ordinary fields as they are', () => {
    const { log, last } = capture();
    const at = new Date('2026-03-04T09:00:00Z');
    log.info({ event: 'plain', customerId: 'c-1', n: 3, ok: true, at, ids: ['a', 'b'] }, 'plain');
    const entry = last();
    assert.deepEqual([entry['customerId'], entry['n'], entry['ok'], entry['at'], entry['ids'], entry['severity']], ['c-1', 3, true, at.toISOString(), ['a', 'b'], 'INFO']);
  });
});
