import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { AlertMessageSchema } from '../../../functions/alerts/AlertMessage.js';
import { PollMessageSchema } from '../../../functions/domain/pollMessage.js';
import { InvalidInputError } from '../../../functions/errors.js';
import { parsePubsubMessage } from '../../../functions/events/pubsub.js';
import { silentLogger } from '../../../functions/log.js';
import { startFaultStack, type FaultStack } from '../../../local/faults/faultStack.js';
import { FUNCTION_NAMES } from '../../../local/stack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventually } from '../harness.js';
import { functionsServing, settleRevocations, stackFigures, writeRevocations } from '../stackHarness.js';
import { assertSchemaIntact, hostileMessageBody, rowCounts, SQL_FRAGMENTS } from './hostileInput.js';

export const STACK_HOSTILE = '6s hostile input (stack)';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const POLL_TOPIC = 'deletion-poll';
const ALERT_TOPIC = 'deletion-alerts';

/**
 * Firestore's rules for a document id: UTF-8 of 1,500 bytes at most, no `/`, not `.` or `..`, not `__…__`. Also
 * left out: line terminators, for which the Firestore emulator delivers no trigger event at all (its path
 * pattern's wildcard stops at one), so such a customer would only be found by `reconcile` (row 7).
 */
function validDocumentId(id: string): boolean {
  return (
    id.length > 0 &&
    !/[\n\r\u0085\u2028\u2029]/.test(id) &&
    Buffer.byteLength(id, 'utf8') <= 1500 &&
    !id.includes('/') &&
    !id.includes('\u0000') &&
    id !== '.' &&
    id !== '..' &&
    !/^__.*__$/s.test(id) &&
    !/[\uD800-\uDFFF]/.test(id.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))
  );
}

/** Hostile document ids Firestore accepts, each of them a customer id the product must keep exactly. */
const FIXED_IDS = [
  'ünicøde',
  'Ωμέγα-πελάτης',
  '日本語の顧客',
  'مرحبا-عميل',
  'שלום‏עולם',
  'e\u0301 combining',
  'ﬁ ligature',
  'Ａ fullwidth',
  '\u{1F600} smile',
  '👩‍👩‍👧‍👦 family',
  '🏳️‍🌈',
  'has space',
  ' leading space',
  'trailing space ',
  'two  spaces',
  '100%',
  '%',
  '%2F',
  '%25',
  'a%2Fb',
  '%00',
  '%E2%82%AC',
  'a+b',
  '+',
  '++plus',
  'a b+c%d',
  "o'brien",
  '"double"',
  '`backtick`',
  "'",
  '"',
  '\\',
  'a\\b',
  'C:\\Windows\\System32',
  '..%2F..%2Fetc%2Fpasswd',
  '..\\..\\etc\\passwd',
  '...',
  '.hidden',
  '~user',
  'customers:other',
  'projects%2Fp%2Fdatabases%2F(default)%2Fdocuments%2Fcustomers%2Fx',
  '#fragment',
  '?q=1&r=2',
  'tab\there',
  '\u00a0nbsp',
  'é'.repeat(750), // 1,500 UTF-8 bytes
  '\u{1F600}'.repeat(375), // 1,500 UTF-8 bytes in 750 UTF-16 units
  'x'.repeat(1500),
  ...SQL_FRAGMENTS,
].filter(validDocumentId);

/** The fixed ids and `generated` more (grapheme strings from fast-check), all valid and distinct. */
function hostileIds(generated: number): string[] {
  const ids = new Set(FIXED_IDS);
  const more = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), { numRuns: generated * 3, seed: 606 });
  for (const id of more) {
    if (ids.size >= FIXED_IDS.length + generated) break;
    if (validDocumentId(id)) ids.add(id);
  }
  return [...ids];
}

/** One message published to a topic the stack pushes, with the verdict the message schema gives it. */
interface Published {
  topic: string;
  messageId: string;
  invalid: boolean;
  /** For an accepted alert message: the alert id it names. */
  alertId?: string;
}

/** Message data: hostile bodies as JSON, random text, random bytes (not UTF-8 JSON at all). */
function messageData(runs: number): Array<{ data: Buffer; toAlerts: boolean }> {
  const data = fc.oneof(
    hostileMessageBody(randomUUID()).map((b) => Buffer.from(JSON.stringify(b) ?? 'null')),
    fc.string({ minLength: 1 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.constantFrom('{}', '{"alertId":"not-a-uuid"}', '[]', 'null', '{"customerIds":[]}', '{"customerIds":["a\\u0000b"]}').map((s) => Buffer.from(s)),
    // Well-formed messages (for one topic or the other): forced polls of hostile ids, alerts no one raised.
    fc
      .record({ customerIds: fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }), reason: fc.string({ maxLength: 40 }) })
      .map((m) => Buffer.from(JSON.stringify(m))),
    fc.uuid().map((alertId) => Buffer.from(JSON.stringify({ alertId }))),
  );
  return fc.sample(fc.record({ data, toAlerts: fc.boolean() }), { numRuns: runs, seed: 607 });
}

/** The rejection lines (event names) each function writes for an invalid message, and the field holding its event id. */
const REJECTION = { [POLL_TOPIC]: { event: 'poll_message_invalid', id: 'eventId' }, [ALERT_TOPIC]: { event: 'alert_message_invalid', id: 'ceId' } } as const;

/**
 * Scenario 6 on the production path. Customers with hostile but valid document ids (non-ASCII letters, emoji,
 * spaces, `%`, `+`, quotes, 1,500 UTF-8 bytes, ids that look like paths, SQL fragments) are granted and then
 * revoked in the Firestore emulator; their trigger events reach onCustomerWritten through the relay and a
 * Functions Framework process. Random and mutated messages are published to the topics the Pub/Sub emulator
 * pushes to pollDeletions and sendAlert. Counted against the writes and publishes made: every id is stored and
 * sent to the vendor exactly as written (byte for byte), each message is handled once, every rejection is
 * logged by the function process with its reason and writes nothing, no function process stops serving, and
 * the schema is intact.
 */
export function stackHostileInput(profile: FaultProfile, results: FaultResults): void {
  const ids = hostileIds(profile.stackHostileIds);
  describe(`scenario ${STACK_HOSTILE}: ${count(ids.length)} hostile customer ids, ${count(profile.stackHostileMessages)} messages`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 300_000);
    let fs: FaultStack;
    let pids: Record<string, number>;
    const published: Published[] = [];
    let written = 0;
    const figures = { messages: { published: 0, rejected: 0, unaccounted: 0, twice: 0 } };

    before(async function () {
      this.timeout(120_000);
      results.begin(STACK_HOSTILE);
      fs = await startFaultStack({
        rootDir: ROOT,
        log: silentLogger(),
        print: false,
        // info: each accepted poll message is logged as received, so every message can be accounted for.
        env: { LOG_LEVEL: 'info', VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '2', VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '4' },
      });
      await fs.sandbox({ lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 3_000 }, recordLimit: 1_000_000 });
      pids = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, fs.stack.functionPid(n)]));
    });
    after(async () => {
      await fs?.stop();
    });

    it('random and mutated messages through Pub/Sub push: each handled once, rejections logged with their reason, nothing written', async () => {
      const before = await rowCounts(fs.pool);
      for (const { data, toAlerts } of messageData(profile.stackHostileMessages)) {
        const topic = toAlerts ? ALERT_TOPIC : POLL_TOPIC;
        const [messageId] = await fs.pubsub.publish(topic, [{ data }]);
        // The verdict of the message schema on what the function will be handed.
        let invalid = false;
        let alertId: string | undefined;
        try {
          const parsed = parsePubsubMessage({ message: { data: data.toString('base64'), messageId } }, toAlerts ? AlertMessageSchema : PollMessageSchema);
          if (toAlerts) alertId = (parsed.body as { alertId: string }).alertId;
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          invalid = true;
        }
        published.push({ topic, messageId: messageId!, invalid, ...(alertId ? { alertId } : {}) });
      }

      // Each message is accounted for by the function it was pushed to: a rejection naming it, or its handling.
      const handled = () => {
        const poll = fs.functionLog('pollDeletions');
        const alerts = fs.functionLog('sendAlert');
        const lines = (p: Published) => {
          const rejection = REJECTION[p.topic as keyof typeof REJECTION];
          const log = p.topic === POLL_TOPIC ? poll : alerts;
          const rejected = log.filter((l) => l['event'] === rejection.event && l[rejection.id] === p.messageId);
          const accepted =
            p.topic === POLL_TOPIC
              ? log.filter((l) => l['event'] === 'poll_received' && l['eventId'] === p.messageId)
              : [];
          return { rejected, accepted };
        };
        return published.map((p) => ({ p, ...lines(p) }));
      };
      const alertUnknown = () => {
        const byId = new Map<string, number>();
        for (const l of fs.functionLog('sendAlert')) if (l['event'] === 'alert_unknown') byId.set(String(l['alertId']), (byId.get(String(l['alertId'])) ?? 0) + 1);
        return byId;
      };
      const acceptedAlerts = new Map<string, number>();
      for (const p of published) if (!p.invalid && p.alertId) acceptedAlerts.set(p.alertId, (acceptedAlerts.get(p.alertId) ?? 0) + 1);
      await eventually(
        'every published message handled by its function',
        () => {
          const unknown = alertUnknown();
          const pending = handled().filter(({ p, rejected, accepted }) => (p.invalid ? rejected.length === 0 : p.topic === POLL_TOPIC && accepted.length === 0));
          const alertsPending = [...acceptedAlerts].filter(([id, n]) => (unknown.get(id) ?? 0) < n);
          return pending.length === 0 && alertsPending.length === 0 ? true : undefined;
        },
        profile.name === 'full' ? 300_000 : 120_000,
        500,
      );
      await new Promise((r) => setTimeout(r, 3_000)); // a redelivery would show by now

      let unaccounted = 0;
      let twice = 0;
      let refused = 0;
      const problems: string[] = [];
      for (const { p, rejected, accepted } of handled()) {
        if (p.invalid) {
          if (rejected.length !== 1) problems.push(`${p.topic} ${p.messageId}: rejected ${rejected.length} times`);
          if (rejected.length === 0) unaccounted += 1;
          twice += Math.max(0, rejected.length - 1);
          const reason = rejected[0]?.['reason'];
          if (!(typeof reason === 'string' && reason.length > 0)) problems.push(`${p.topic} ${p.messageId}: rejection without a reason`);
        } else {
          // The schema passed it; the function may still refuse what the deployment lacks (a vendor not
          // configured): once, with its reason, after receiving it once.
          if (rejected.length > 0) refused += 1;
          if (rejected.length > 1) problems.push(`${p.topic} ${p.messageId}: refused ${rejected.length} times`);
          if (rejected.length === 1 && !(typeof rejected[0]!['reason'] === 'string' && rejected[0]!['reason'].length > 0)) {
            problems.push(`${p.topic} ${p.messageId}: refusal without a reason`);
          }
          if (p.topic === POLL_TOPIC) {
            twice += Math.max(0, accepted.length - 1);
            if (accepted.length !== 1) problems.push(`${p.topic} ${p.messageId}: received ${accepted.length} times`);
          }
        }
      }
      const unknown = alertUnknown();
      for (const [id, n] of acceptedAlerts) twice += Math.max(0, (unknown.get(id) ?? 0) - n);
      const failures = fs.functionLog('pollDeletions').filter((l) => l['event'] === 'poll_failed').length;
      const after = await rowCounts(fs.pool);
      figures.messages = { published: published.length, rejected: published.filter((p) => p.invalid).length + refused, unaccounted, twice };

      assert.deepEqual(problems, [], 'every message handled once; every rejection logged once with its reason');
      assert.equal(failures, 0, 'no poll cycle failed on a hostile message');
      assert.deepEqual(after, before, 'the messages wrote nothing (the database was empty, so nothing was due)');
      assert.ok(published.some((p) => p.invalid) && published.some((p) => !p.invalid), 'both rejected and accepted messages were published');
    });

    it('hostile document ids through Firestore, the relay and the function: stored and sent to the vendor exactly as written', async () => {
      written = await writeRevocations(fs, ids, { batch: 25 });
      await settleRevocations(fs, ids, profile.name === 'full' ? 600_000 : 120_000);
      await fs.stack.relay.idle();

      const deletions = await stackFigures(fs, ids);
      // Byte for byte: the ids the database holds and the ids the vendor was asked to delete, against the written ones.
      const bytes = (s: string) => Buffer.from(s, 'utf8').toString('hex');
      const writtenBytes = new Set(ids.map(bytes));
      const stored = (await fs.pool.query<{ customer_id: string }>('select customer_id from deletion_request')).rows.map((r) => r.customer_id);
      const sent = [...(await fs.vendorJobs()).keys()];
      const strangers = [...stored.filter((id) => !writtenBytes.has(bytes(id))).map((id) => `stored ${JSON.stringify(id)}`), ...sent.filter((id) => !writtenBytes.has(bytes(id))).map((id) => `sent to the vendor ${JSON.stringify(id)}`)];
      const notSent = ids.filter((id) => !sent.some((s) => bytes(s) === bytes(id)));
      const rejected = fs.functionLog('onCustomerWritten').filter((l) => l['event'] === 'invalid_firestore_event' || l['event'] === 'firestore_event_unrecordable');
      const serving = await functionsServing(fs);
      const samePids = FUNCTION_NAMES.every((n) => fs.stack.functionPid(n) === pids[n]);
      await assertSchemaIntact(fs.pool);
      const relay = fs.stack.relay.stats();

      const m = figures.messages;
      results.record({
        scenario: STACK_HOSTILE,
        path: STACK_PATH,
        load: `${count(written)} hostile ids written to Firestore (granted, revoked), ${count(m.published)} messages published`,
        faults: `ids: unicode, emoji, spaces, %, +, quotes, 1,500 bytes, path-like, SQL; messages: ${count(m.rejected)} rejected, ${count(m.published - m.rejected)} accepted`,
        lost: deletions.lost + notSent.length + m.unaccounted,
        duplicated: deletions.duplicated + m.twice,
        completed: deletions.completed,
        retries: relay.retries,
        alerts: 0,
      });
      assert.equal(written, ids.length, 'every id was written to Firestore');
      assert.deepEqual(strangers, [], 'an id was stored or sent other than as written');
      assert.deepEqual(notSent.map((id) => JSON.stringify(id)), [], 'ids never sent to the vendor');
      assert.deepEqual(rejected.map((l) => l['reason'] ?? l['err']), [], 'a valid document id was rejected');
      assert.equal(deletions.lost, 0, deletions.problems.join('\n'));
      assert.equal(deletions.duplicated, 0, deletions.problems.join('\n'));
      assert.deepEqual(serving, Object.fromEntries(FUNCTION_NAMES.map((n) => [n, true])), 'every function process still serving');
      assert.ok(samePids, 'the same function processes served throughout (none crashed and was restarted)');
    });
  });
}
