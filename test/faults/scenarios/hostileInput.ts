import assert from 'node:assert/strict';
import sinon from 'sinon';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { systemClock, SECOND } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { AlertMessageSchema } from '../../../functions/alerts/AlertMessage.js';
import type { AlertSender, OutgoingEmail } from '../../../functions/alerts/AlertSender.js';
import { runCli } from '../../../functions/cli/program.js';
import { PollMessageSchema } from '../../../functions/domain/pollMessage.js';
import { InvalidInputError } from '../../../functions/errors.js';
import { customerIdOf, decodeFirestoreEvent } from '../../../functions/events/firestore.js';
import { parsePubsubMessage } from '../../../functions/events/pubsub.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { createPollDeletions } from '../../../functions/handlers/pollDeletions.js';
import { createSendAlert } from '../../../functions/handlers/sendAlert.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { firestoreEvent } from '../../fixtures/firestoreEvent.js';
import { useTestDatabase } from '../../helpers/db.js';
import { firestoreEmulator, pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { count, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { capturingLogger } from '../harness.js';

export const HOSTILE = '6 hostile input';

/** Fragments an attacker would try in an id or an argument. */
export const SQL_FRAGMENTS = [
  "'; drop table deletion_request; --",
  "' or '1'='1",
  '"; delete from vendor_deletion; --',
  "x'); insert into deletion_event (kind) values ('forged'); --",
  '$1',
  '$$ language plpgsql $$',
  '\\x00',
  "E'\\\\'",
  '%s%s%n',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
];

/** Customer ids Firestore may send and ids it never should: quotes, unicode, SQL, the 1,500-byte edge and past it. */
const hostileId = fc.oneof(
  fc.constantFrom(...SQL_FRAGMENTS),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({ minLength: 0, maxLength: 20 }).map((s) => `${s}'"\`\\${s}`),
  fc.integer({ min: 1495, max: 1505 }).map((n) => 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2)),
  fc.integer({ min: 1, max: 3 }).map((n) => '\u{1F600}'.repeat(375 + n)),
  fc.constantFrom('', '/', 'a/b', '.', '..', '__x__', '\u0000', 'a\u0000b', ' ', '\n'),
);

export const COUNTED = ['deletion_request', 'vendor_deletion', 'deletion_event', 'alert_delivery', 'vendor_incident', 'vendor_pause', 'deletion_alert'];

function pubsubEvent(data: unknown, id = randomUUID()): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id,
    source: '//pubsub.googleapis.com/projects/demo/topics/t',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    data,
  } as CloudEvent<unknown>;
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');

/**
 * Pub/Sub message bodies for pollDeletions and sendAlert: random JSON, valid messages with one key mutated (or
 * an unknown key added), hostile customer ids and vendor names. The alert message is a reference; `alertId`
 * (an id no alert has) is accepted and sends nothing.
 */
export function hostileMessageBody(alertId: string): fc.Arbitrary<unknown> {
  const mutatedObject = (base: Record<string, unknown>) =>
    fc
      .record({ key: fc.constantFrom(...Object.keys(base), 'extra', '__proto__', 'constructor'), value: fc.jsonValue() })
      .map(({ key, value }) => JSON.parse(JSON.stringify({ ...base, [key]: value })) as unknown);
  return fc.oneof(
    fc.jsonValue(),
    mutatedObject({ alertId }),
    mutatedObject({ customerIds: ['c1'], vendors: ['http'], reason: 'x' }),
    fc.record({ vendors: fc.array(hostileId, { minLength: 1, maxLength: 3 }) }),
    fc.record({ customerIds: fc.array(hostileId, { minLength: 1, maxLength: 3 }) }),
  );
}

/** The tables and their contents after hostile input: every table there, no forged event, no request without its deletion. */
export async function assertSchemaIntact(pool: pg.Pool): Promise<void> {
  const tables = await pool.query<{ n: number }>(
    `select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = any($1::text[])`,
    [COUNTED],
  );
  assert.equal(tables.rows[0]!.n, COUNTED.length);
  const forged = await pool.query("select 1 from deletion_event where kind = 'forged'");
  assert.equal(forged.rowCount, 0);
  const orphans = await pool.query('select 1 from deletion_request r where not exists (select 1 from vendor_deletion d where d.request_id = r.id)');
  assert.equal(orphans.rowCount, 0, 'every request has its deletion');
}

/** A table-by-table count of the rows hostile input must not add to (COUNTED). */
export async function rowCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, number>>(`select ${COUNTED.map((t) => `(select count(*)::int from ${t}) as ${t}`).join(', ')}`);
  return rows[0]!;
}

/**
 * Scenario 6: property-based hostile input at every boundary: mutated protobuf and random JSON Firestore
 * events, hostile customer ids, random and mutated Pub/Sub messages for pollDeletions and sendAlert, random
 * CLI arguments. Nothing crashes (no handler throws while the database is up, the CLI always answers with an
 * exit code); every rejection is logged with its reason and writes nothing; an accepted id is stored exactly as
 * sent (no SQL injection: the tables and their contents are intact afterwards).
 */
export function hostileInput(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${HOSTILE}: ${count(profile.hostileRuns)} runs per property`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 120_000);
    const db = useTestDatabase('faults_hostile');
    let sandbox: RunningSandbox;
    const { log, lines } = capturingLogger('debug');
    const figures = { inputs: 0, rejected: 0, accepted: 0, lost: 0, duplicated: 0 };

    before(async () => {
      results.begin(HOSTILE);
      sandbox = await startSandbox({ vendors: { http: { recordLimit: 100_000 } } });
    });
    after(async () => {
      await sandbox?.stop();
    });

    const config = () =>
      loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`, ALERT_FROM: 'alerts@example.com', ALERT_TO: 'ops@example.com' });
    const vendor = () =>
      createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, { timeoutMs: 5 * SECOND });

    const snapshot = () => rowCounts(db().pool);

    /** Lines logged since `from` that reject an input, with a non-empty reason. */
    function rejections(from: number, events: string[]): Array<Record<string, unknown>> {
      return lines.slice(from).filter((l) => events.includes(String(l['event'])));
    }

    /** Runs one Firestore event through the handler and checks the outcome against the decoder's own verdict. */
    async function firestoreCase(handler: (e: CloudEvent<unknown>) => Promise<void>, event: CloudEvent<unknown>): Promise<void> {
      figures.inputs += 1;
      let expectedId: string | undefined;
      let invalid = false;
      try {
        expectedId = customerIdOf(decodeFirestoreEvent(event), 'customers');
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        invalid = true;
      }
      const before = await snapshot();
      const from = lines.length;
      await handler(event); // must not throw: the database is up, so nothing here is transient
      const rejected = rejections(from, ['invalid_firestore_event', 'firestore_event_unrecordable']);
      if (invalid || rejected.length > 0) {
        figures.rejected += 1;
        assert.equal(rejected.length, 1, 'a rejected event is logged once');
        const reason = rejected[0]!['reason'] ?? (rejected[0]!['error'] as { message?: string } | undefined)?.message;
        assert.ok(typeof reason === 'string' && reason.length > 0, 'the rejection names its reason');
        assert.deepEqual(await snapshot(), before, `a rejected event wrote nothing (${String(reason)})`);
        return;
      }
      figures.accepted += 1;
      const stored = await db().pool.query<{ n: number }>('select count(*)::int as n from deletion_request where customer_id = $1::text', [expectedId]);
      const revoking = lines.slice(from).some((l) => l['event'] === 'revocation_recorded' || l['event'] === 'revocation_duplicate');
      if (revoking) {
        if (stored.rows[0]!.n === 0) figures.lost += 1;
        assert.ok(stored.rows[0]!.n >= 1, `the revocation of ${JSON.stringify(expectedId)} is stored under exactly that id`);
      }
    }

    it('Firestore events with hostile customer ids: stored exactly, or rejected with a reason and nothing written', async () => {
      const handler = createOnCustomerWritten({ config: config(), pool: db().pool, vendors: [vendor()], log, clock: systemClock });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(hostileId, fc.constantFrom('protobuf' as const, 'json' as const), async (customerId, encoding) => {
          n += 1;
          const event = firestoreEvent({
            customerId,
            encoding,
            before: { analyticsConsent: true },
            after: { analyticsConsent: false },
            updateTime: new Date(Date.parse('2026-11-27T09:00:00Z') + n).toISOString(),
          });
          await firestoreCase(handler, event);
          // Delivered again: still one request for that id.
          await handler(event);
          const { rows } = await db().pool.query<{ n: number }>(
            "select count(*)::int as n from deletion_request where customer_id = $1::text and source_event_id = $2::text",
            [customerId.replace(/\u0000/g, ''), event.id],
          );
          if (rows[0]!.n > 1) figures.duplicated += rows[0]!.n - 1;
          assert.ok(rows[0]!.n <= 1);
        }),
        { numRuns: profile.hostileRuns, seed: 6 },
      );
    });

    it('mutated protobuf and random JSON events: no crash, every rejection logged with its reason, nothing written', async () => {
      const handler = createOnCustomerWritten({ config: config(), pool: db().pool, vendors: [vendor()], log, clock: systemClock });
      const valid = firestoreEvent({ customerId: 'mutant', before: { analyticsConsent: true }, after: { analyticsConsent: false } });
      const bytes = valid.data as Buffer;
      const mutatedProtobuf = fc
        .record({
          flips: fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
          cut: fc.nat({ max: bytes.length }),
          tail: fc.uint8Array({ maxLength: 16 }),
        })
        .map(({ flips, cut, tail }) => {
          const out = Buffer.from(bytes);
          for (const [i, v] of flips) out[i] = v;
          return Buffer.concat([out.subarray(0, cut), tail]);
        });
      const envelopeNoise = fc.record({
        id: fc.oneof(fc.uuid(), fc.string(), fc.constant(undefined)),
        type: fc.oneof(fc.constant('google.cloud.firestore.document.v1.written'), fc.string()),
        source: fc.oneof(fc.constant('//firestore.googleapis.com/projects/p/databases/(default)'), fc.string()),
        document: fc.oneof(fc.constant('customers/mutant'), fc.string(), fc.constant(undefined)),
        datacontenttype: fc.constantFrom('application/protobuf', 'application/json', undefined, 'text/plain'),
      });
      const data = fc.oneof(
        mutatedProtobuf,
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        fc.jsonValue(),
        fc.string(),
        fc.constantFrom(null, undefined, 0, true),
        fc.record({ value: fc.anything(), oldValue: fc.anything() }),
      );
      await fc.assert(
        fc.asyncProperty(envelopeNoise, data, async (envelope, payload) => {
          const event = { specversion: '1.0', time: '2026-11-27T09:30:01Z', ...envelope, data: payload } as unknown as CloudEvent<unknown>;
          await firestoreCase(handler, event);
        }),
        { numRuns: profile.hostileRuns * 2, seed: 61 },
      );
    });

    it('random and mutated Pub/Sub messages to pollDeletions and sendAlert: rejected with a reason, nothing written', async () => {
      const send = sinon.stub<[OutgoingEmail], Promise<{ messageId: string }>>().callsFake(async () => ({ messageId: `m${send.callCount}` }));
      const sender: AlertSender = { send };
      const poll = createPollDeletions({ config: config(), pool: db().pool, vendors: [vendor()], publisher: createMemoryPublisher(), log, clock: systemClock });
      const alert = createSendAlert({ config: config(), pool: db().pool, sender, log, clock: systemClock });
      const body = hostileMessageBody(randomUUID());
      const envelope = fc.oneof(
        body.map((b) => ({ message: { data: b64(b), messageId: '1' }, subscription: 's' })),
        fc.string().map((s) => ({ message: { data: s } })),
        fc.string().map((s) => ({ message: { data: b64(s) } })),
        fc.anything(),
        fc.constantFrom({}, { message: {} }, { message: { data: '' } }, null, 'not json', { message: { data: b64('{}'), attributes: { a: 1 } } }),
      );
      await fc.assert(
        fc.asyncProperty(envelope, fc.boolean(), async (data, toAlerts) => {
          figures.inputs += 1;
          const event = pubsubEvent(data);
          let invalid = false;
          try {
            parsePubsubMessage(data, toAlerts ? AlertMessageSchema : PollMessageSchema);
          } catch (err) {
            if (!(err instanceof InvalidInputError)) throw err;
            invalid = true;
          }
          const before = await snapshot();
          const from = lines.length;
          await (toAlerts ? alert(event) : poll(event));
          const rejected = rejections(from, ['poll_message_invalid', 'alert_message_invalid']);
          if (invalid || rejected.length > 0) {
            figures.rejected += 1;
            assert.equal(rejected.length, 1, 'a rejected message is logged once');
            assert.ok(typeof rejected[0]!['reason'] === 'string' && (rejected[0]!['reason'] as string).length > 0, 'with its reason');
            const after = await snapshot();
            assert.deepEqual(after, before, `a rejected message wrote nothing (${String(rejected[0]!['reason'])})`);
          } else {
            figures.accepted += 1;
            if (toAlerts) {
              assert.deepEqual(await snapshot(), before, 'an alert id the database does not hold wrote nothing');
              assert.equal(send.callCount, 0, 'and sent nothing');
            }
          }
        }),
        { numRuns: profile.hostileRuns * 2, seed: 62 },
      );
    });

    it('random CLI arguments: always an exit code, usage errors named, nothing written', async function () {
      const firestoreHost = (await firestoreEmulator()).host;
      const pubsubHost = await pubsubEmulator();
      const cwd = mkdtempSync(join(tmpdir(), 'ce-faults-cli-'));
      const env = {
        DATABASE_URL: db().url,
        GOOGLE_CLOUD_PROJECT: uniqueProjectId('hostile-cli'),
        FIRESTORE_EMULATOR_HOST: firestoreHost,
        PUBSUB_EMULATOR_HOST: pubsubHost,
        VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
      };
      const word = fc.oneof(
        fc.constantFrom('status', 'report', 'retry', 'poll', 'reconcile', 'migrate', 'help', 'revoke', 'grant', 'nope'),
        fc.constantFrom('--customer', '--vendor', '--state', '--json', '--since', '--until', '--format', '--dry-run', '--page-size', '--stack', '-h', '--'),
        hostileId,
        fc.string(),
      );
      const argv = fc.array(word, { minLength: 0, maxLength: 5 }).filter((a) => !['revoke', 'grant'].includes(a[0] ?? '') || a.length <= 2);
      // `revoke <id>` withdraws consent in Firestore only (the trigger is not wired to this database), so a later
      // `reconcile` rightly records that revocation as a lost event: the one write a CLI run may cause here.
      const revokedInFirestore = new Set<string>();
      const lastRequestId = async () =>
        (await db().pool.query<{ id: string }>('select coalesce(max(id), 0)::text as id from deletion_request')).rows[0]!.id;
      try {
        await fc.assert(
          fc.asyncProperty(argv, async (args) => {
            figures.inputs += 1;
            const before = await snapshot();
            const lastBefore = await lastRequestId();
            let stderr = '';
            const code = await runCli({ argv: args, env, cwd, stdout: () => {}, stderr: (s) => void (stderr += s) });
            assert.ok([0, 1, 2].includes(code), `exit code ${code}`);
            if (code !== 0) {
              figures.rejected += 1;
              assert.ok(stderr.trim().length > 0, `a failed command says why (${JSON.stringify(args)})`);
            } else {
              figures.accepted += 1;
              if (args[0] === 'revoke' && args[1] !== undefined) revokedInFirestore.add(args[1]);
            }
            const after = await snapshot();
            if (args[0] === 'reconcile' && code === 0 && after['deletion_request'] !== before['deletion_request']) {
              const { rows } = await db().pool.query<{ customer_id: string }>(
                'select customer_id from deletion_request where id > $1::bigint',
                [lastBefore],
              );
              const unexpected = rows.map((r) => r.customer_id).filter((id) => !revokedInFirestore.has(id));
              assert.deepEqual(unexpected, [], `reconcile recorded only revocations an earlier revoke left in Firestore`);
              assert.equal(after['vendor_deletion']! - before['vendor_deletion']!, rows.length, 'one deletion per recorded request');
              for (const table of ['alert_delivery', 'vendor_incident', 'vendor_pause', 'deletion_alert']) {
                assert.equal(after[table], before[table], `reconcile wrote nothing to ${table}`);
              }
              return;
            }
            assert.deepEqual(after, before, `the CLI wrote nothing for ${JSON.stringify(args)}`);
          }),
          { numRuns: Math.max(50, Math.floor(profile.hostileRuns / 2)), seed: 63 },
        );
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });

    it('the schema and its contents are intact afterwards (no statement was injected)', async () => {
      await assertSchemaIntact(db().pool);
      results.record({
        scenario: HOSTILE,
        path: 'handler, messages and CLI in-process',
        load: `${count(figures.inputs)} generated inputs (events, messages, CLI arguments)`,
        faults: `${count(figures.rejected)} rejected, ${count(figures.accepted)} accepted`,
        lost: figures.lost,
        duplicated: figures.duplicated,
        completed: (await db().pool.query<{ n: number }>('select count(*)::int as n from deletion_request')).rows[0]!.n,
        retries: 0,
        alerts: 0,
      });
    });
  });
}
