import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import pg from 'pg';
import { createFakeClock, DAY, SECOND } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { PollMessageSchema } from '../../../functions/domain/pollMessage.js';
import { useTestDatabase } from '../../helpers/db.js';
import { capturingLogger, scriptedVendor, seedDeletions } from './fixtures.js';

function pubsubEvent(data: string | undefined, id = 'evt-1'): CloudEvent<unknown> {
  return {
    id,
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/demo/topics/deletion-poll',
    data: { message: { ...(data === undefined ? {} : { data: Buffer.from(data).toString('base64') }), messageId: id } },
  };
}

describe('pollDeletions handler (real PostgreSQL)', () => {
  const db = useTestDatabase('poller_handler');
  const T0 = new Date('2026-03-02T00:00:00Z');

  beforeEach(async () => {
    await db().pool.query("update vendor_deletion set state = 'cancelled', next_check_at = null");
  });

  function setup(options: { env?: Record<string, string>; stepMs?: number } = {}) {
    const clock = createFakeClock(T0);
    const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http', ...options.env });
    const publisher = createMemoryPublisher();
    const { log, lines } = capturingLogger();
    const vendor = scriptedVendor('http', () => {
      // Each status read takes `stepMs` of the injected clock.
      if (options.stepMs) clock.advance(options.stepMs);
      return { state: 'in_progress', rawStatus: 'in_progress', payload: {} };
    }, { maxBatchSize: 1, concurrency: 1 });
    const handler = createPollDeletions({ config, pool: db().pool, vendors: [vendor], publisher, log, clock });
    return { clock, publisher, lines, vendor, handler };
  }

  const bad: Array<[string, string | undefined, RegExp]> = [
    ['invalid JSON', '{"customerIds": [', /not JSON/],
    ['unknown fields', '{"customerIdz": ["c1"]}', /customerIdz/],
    ['wrong types', '{"customerIds": "c1"}', /customerIds/],
    ['empty data', undefined, /no data/],
    ['a JSON value that is not an object', '[]', /object/i],
    ['a vendor that is not configured', '{"vendors": ["segment"]}', /segment.*not configured/],
  ];
  let n = 0;
  for (const [what, data, reason] of bad) {
    it(`acknowledges ${what} with the reason logged at WARNING, and polls nothing`, async () => {
      const t = setup();
      n += 1;
      await seedDeletions(db().pool, [{ customerId: `due-${n}`, vendor: 'http', operationId: 'op-due', revokedAt: T0, nextCheckAt: T0 }]);
      await t.handler(pubsubEvent(data));
      const line = t.lines.find((l) => l['event'] === 'poll_message_invalid');
      assert.ok(line, 'logged');
      assert.equal(line['severity'], 'WARNING');
      assert.match(String(line['reason']), reason);
      assert.deepEqual(t.vendor.checked, []);
    });
  }

  it('`{}` does what is due; a forced poll checks the named customers now, due or not', async () => {
    const t = setup();
    const far = new Date(T0.getTime() + 10 * DAY);
    const [due, c1, c2] = await seedDeletions(db().pool, [
      { customerId: 'f-due', vendor: 'http', operationId: 'op-f-due', revokedAt: T0, nextCheckAt: T0 },
      { customerId: 'f-1', vendor: 'http', operationId: 'op-f-1', revokedAt: T0, nextCheckAt: far },
      { customerId: 'f-2', vendor: 'http', operationId: 'op-f-2', revokedAt: T0, nextCheckAt: far },
    ]);
    await t.handler(pubsubEvent('{}'));
    assert.deepEqual(t.vendor.checked, [due]);
    await t.handler(pubsubEvent(JSON.stringify({ customerIds: ['f-2'], vendors: ['http'], reason: 'operator asked' })));
    assert.deepEqual(t.vendor.checked, [due, c2]);
    await t.handler(pubsubEvent(JSON.stringify({ operationIds: ['op-f-1'] })));
    assert.deepEqual(t.vendor.checked, [due, c2, c1]);
    assert.ok(t.lines.some((l) => l['event'] === 'forced_poll' && JSON.stringify(l['customerIds']) === '["f-2"]'));
  });

  it('stops claiming before the time budget and publishes a continuation when due work remains', async () => {
    const t = setup({ env: { POLL_TIME_BUDGET_SECONDS: '10', POLL_BATCH_SIZE: '4' }, stepMs: 2 * SECOND });
    const ids = await seedDeletions(
      db().pool,
      Array.from({ length: 30 }, (_, i) => ({ customerId: `b-${i}`, vendor: 'http', operationId: `op-b-${i}`, revokedAt: T0, nextCheckAt: T0 })),
    );
    await t.handler(pubsubEvent('{}'));
    assert.ok(t.vendor.checked.length > 0 && t.vendor.checked.length < 30, `checked ${t.vendor.checked.length}`);
    const continuation = t.publisher.messages.filter((m) => m.topic === 'deletion-poll');
    assert.equal(continuation.length, 1);
    const body = PollMessageSchema.parse(continuation[0]!.message);
    assert.equal(body.continuation, 1);
    const rows = await db().pool.query(
      'select count(*) filter (where next_check_at <= $2)::int as due, count(*) filter (where lease_owner is not null)::int as leased from vendor_deletion where id = any($1::bigint[])',
      [ids, t.clock.now()],
    );
    assert.equal(rows.rows[0].due, 30 - t.vendor.checked.length, 'every unchecked row is still due');
    assert.equal(rows.rows[0].leased, 0);

    // The continuation message is itself a valid poll message that carries on.
    await t.handler(pubsubEvent(JSON.stringify(body)));
    const next = t.publisher.messages.filter((m) => m.topic === 'deletion-poll');
    assert.equal(next.length, 2, 'still more due after the second cycle');
    assert.equal(PollMessageSchema.parse(next[1]!.message).continuation, 2);
  });

  it('throws when the database is unreachable, so the platform retries', async () => {
    const t = setup();
    const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
    dead.on('error', () => {});
    const handler = createPollDeletions({
      config: loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http' }),
      pool: dead,
      vendors: [t.vendor],
      publisher: t.publisher,
      log: capturingLogger().log,
      clock: t.clock,
    });
    await assert.rejects(handler(pubsubEvent('{}')), /database/);
    await dead.end();
  });
});
