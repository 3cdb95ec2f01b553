import assert from 'node:assert/strict';
import { EVENT_DETAIL_FIELDS, eventDetailFieldRows } from '../../../functions/domain/eventDetailFields.js';
import { EVENT_KINDS } from '../../../functions/domain/states.js';
import { afterFault, afterReport } from '../../../functions/domain/statusTransition.js';
import { CANCEL_EVENT_KINDS } from '../../../functions/store/recordCancellations.js';

// The database drops (and, in the tests, refuses) every detail field not listed; these checks make a kind or a
// field the code emits without listing it fail here, by name, rather than vanish from the evidence.
describe('event detail allow-list', () => {
  it('has an entry for every kind of event the code writes', () => {
    for (const kind of [...EVENT_KINDS, ...CANCEL_EVENT_KINDS]) assert.ok(EVENT_DETAIL_FIELDS[kind], `no allow-list entry for ${kind}`);
  });

  it('lists each field once per kind, as plain names', () => {
    for (const [kind, fields] of Object.entries(EVENT_DETAIL_FIELDS)) {
      assert.equal(new Set(fields).size, fields.length, `${kind} lists a field twice`);
      for (const f of fields) assert.match(f, /^[a-z][A-Za-z0-9]*$/, `${kind}.${f}`);
    }
    assert.equal(eventDetailFieldRows().length, Object.values(EVENT_DETAIL_FIELDS).flat().length);
  });

  it('keeps no field that carries a whole vendor payload or response sample', () => {
    for (const [kind, fields] of Object.entries(EVENT_DETAIL_FIELDS)) {
      for (const banned of ['payload', 'sample', 'statusPayload', 'encodedRequest', 'encoded_request']) {
        assert.ok(!fields.includes(banned), `${kind} keeps ${banned}`);
      }
    }
  });

  it('covers every field the status rules emit (a table of their answers)', () => {
    const policy = { maxSubmitAttempts: 2, minCheckIntervalMs: 60_000, maxCheckIntervalMs: 3_600_000, expectedDurationMs: 86_400_000, noProgressMs: 86_400_000 };
    const now = new Date('2026-11-29T00:00:00Z');
    const row = (over: Record<string, unknown> = {}) =>
      ({ deletionId: '1', requestId: '1', customerId: 'c', vendor: 'http', state: 'submitted', operationId: 'op', operationRef: { operationId: 'op' }, rawStatus: 'pending', checkCount: 1, submitAttempts: 1, submittedAt: now, statusChangedAt: now, expectedBy: null, ...over }) as never;
    const reports = [
      { state: 'completed', rawStatus: 'done' },
      { state: 'failed', rawStatus: 'failed', detail: 'why' },
      { state: 'cancelled', rawStatus: 'cancelled' },
      { state: 'error', rawStatus: 'bad', detail: 'why' },
      { state: 'in_progress', rawStatus: 'running' },
      { state: 'failed', rawStatus: 'failed', retry: { kind: 'alone' } },
      { state: 'failed', rawStatus: 'failed', retry: { kind: 'split', part: { from: 'job', part: 0, subjects: 4, lineage: ['job'] } } },
    ];
    const transitions = [
      ...reports.map((r) => afterReport(row(), { payload: { x: 1 }, ...r } as never, policy as never, now, now)),
      afterReport(row({ submitAttempts: 5 }), { state: 'failed', rawStatus: 'failed' } as never, policy as never, now),
      ...(['contract', 'auth', 'rejected', 'transient', 'rate_limited'] as const).map((kind) =>
        afterFault(row(), { kind, message: 'm', sample: '{}', httpStatus: 500 } as never, policy as never, now),
      ),
    ];
    const events = transitions.flatMap((t) => t.events);
    assert.ok(events.length >= 10);
    for (const e of events) {
      for (const field of Object.keys(e.detail)) {
        assert.ok(EVENT_DETAIL_FIELDS[e.kind]?.includes(field), `${e.kind}.${field} is emitted but not allow-listed`);
      }
    }
  });
});
