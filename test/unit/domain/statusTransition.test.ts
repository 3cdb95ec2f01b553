import assert from 'node:assert/strict';
import { createFakeClock, DAY, HOUR, MINUTE } from '../../../functions/clock.js';
import type { ClaimedDeletion } from '../../../functions/domain/deletion.js';
import type { StatusReport } from '../../../functions/domain/operation.js';
import { afterFault, afterReport, settled, type CheckFault, type Tally, type TransitionPolicy } from '../../../functions/domain/statusTransition.js';

/** The poller's status rules as tables: a row, what the vendor said, the policy and a fake clock; no database. */
const clock = createFakeClock('2026-05-01T12:00:00Z');
const now = clock.now();
const policy: TransitionPolicy = { maxSubmitAttempts: 3, minCheckIntervalMs: 5 * MINUTE, maxCheckIntervalMs: 6 * HOUR, expectedDurationMs: 3 * DAY };

function row(over: Partial<ClaimedDeletion> = {}): ClaimedDeletion {
  return {
    deletionId: '7',
    requestId: '3',
    customerId: 'c-1',
    vendor: 'http',
    state: 'submitted',
    idempotencyKey: 'k',
    revokedAt: new Date(now.getTime() - 2 * DAY),
    regime: 'gdpr',
    operationRef: { operationId: 'op-1' },
    operationId: 'op-1',
    rawStatus: 'pending',
    submitAttempts: 1,
    checkCount: 2,
    queuedAt: new Date(now.getTime() - DAY),
    submittedAt: new Date(now.getTime() - DAY),
    statusChangedAt: new Date(now.getTime() - DAY),
    expectedBy: null,
    ...over,
  };
}
const report = (state: StatusReport['state'], rawStatus: string, over: Partial<StatusReport> = {}): StatusReport => ({ state, rawStatus, payload: { status: rawStatus }, ...over });
const tally = (over: Partial<Tally> = {}): Tally => ({ checked: 0, completed: 0, verified: 0, resubmitted: 0, errors: 0, ...over });
const at = (ms: number) => new Date(now.getTime() + ms);

describe('status transition: a vendor report', () => {
  interface Case {
    name: string;
    row?: Partial<ClaimedDeletion>;
    report: StatusReport | undefined;
    verifiedAt?: Date;
    state: string | null;
    next: Date | null;
    events: string[];
    tally: Tally;
    lastErrorKind?: string | null;
    resubmit?: boolean;
  }
  // Third check (checkCount 2 + 1): 5 min doubled twice = 20 min, well before the expected completion.
  const cases: Case[] = [
    { name: 'not read this time: looked at again at the next step, nothing changes', report: undefined, state: null, next: at(20 * MINUTE), events: [], tally: tally() },
    { name: 'same status: counted as a check, no event, next step of the back-off', report: report('submitted', 'pending'), state: 'submitted', next: at(20 * MINUTE), events: [], tally: tally({ checked: 1 }) },
    { name: 'new status: one status_seen event', report: report('in_progress', 'running'), state: 'in_progress', next: at(20 * MINUTE), events: ['status_seen'], tally: tally({ checked: 1 }) },
    {
      name: 'the vendor expects completion soon: checked halfway there',
      report: report('in_progress', 'running', { expectedCompletionAt: at(10 * MINUTE) }),
      state: 'in_progress',
      next: at(5 * MINUTE),
      events: ['status_seen'],
      tally: tally({ checked: 1 }),
    },
    { name: 'completed: no more checks', report: report('completed', 'done'), state: 'completed', next: null, events: ['status_seen', 'completed'], tally: tally({ checked: 1, completed: 1 }) },
    {
      name: 'completed and verified',
      report: report('completed', 'done'),
      verifiedAt: at(1000),
      state: 'completed',
      next: null,
      events: ['status_seen', 'completed', 'verified'],
      tally: tally({ checked: 1, completed: 1, verified: 1 }),
    },
    {
      name: 'failed with attempts left: back to queued with a fresh key, due now',
      report: report('failed', 'failed', { detail: 'vendor broke' }),
      state: 'queued',
      next: now,
      events: ['status_seen', 'failed', 'retried'],
      tally: tally({ checked: 1, resubmitted: 1 }),
      lastErrorKind: 'failed',
      resubmit: true,
    },
    {
      name: 'failed with attempts exhausted: error, a person decides',
      row: { submitAttempts: 3 },
      report: report('failed', 'failed'),
      state: 'error',
      next: null,
      events: ['status_seen', 'failed', 'error'],
      tally: tally({ checked: 1, errors: 1 }),
      lastErrorKind: 'failed',
    },
    { name: 'cancelled at the vendor', report: report('cancelled', 'cancelled'), state: 'cancelled', next: null, events: ['status_seen', 'cancelled'], tally: tally({ checked: 1 }) },
    {
      name: 'the vendor reports an error',
      report: report('error', 'http_404', { detail: 'unknown operation' }),
      state: 'error',
      next: null,
      events: ['status_seen', 'error'],
      tally: tally({ checked: 1, errors: 1 }),
      lastErrorKind: 'vendor_error',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = afterReport(row(c.row), c.report, policy, now, c.verifiedAt ?? null);
      assert.equal(t.update.deletionId, '7');
      assert.equal(t.update.state, c.state);
      assert.deepEqual(t.update.nextCheckAt, c.next);
      assert.deepEqual(t.events.map((e) => e.kind), c.events);
      assert.deepEqual(t.tally, c.tally);
      assert.equal(t.update.lastErrorKind, c.lastErrorKind ?? null);
      assert.equal(t.update.resubmit, c.resubmit ?? false);
      assert.equal(t.update.checked, c.report !== undefined);
      assert.equal(t.update.completedAt?.getTime() ?? null, c.state === 'completed' ? now.getTime() : null);
      assert.equal(t.update.verifiedAt, c.verifiedAt ?? null);
    });
  }

  it('records the reason of a failure, or the raw status when the vendor gives none', () => {
    assert.equal(afterReport(row(), report('failed', 'failed', { detail: 'quota' }), policy, now).update.lastError, 'quota');
    assert.equal(afterReport(row({ submitAttempts: 3 }), report('failed', 'FAILED'), policy, now).update.lastError, 'vendor reported FAILED');
  });

  const part = { group: 'T#1', part: 1, parts: 2, subjects: 999, from: 'T', lineage: ['S', 'T'] };

  it('a failed shared job split in halves: back to queued in its part, whatever the attempts, the part in its reference', () => {
    for (const submitAttempts of [1, 3, 12]) {
      const t = afterReport(
        row({ submitAttempts, operationRef: { trackingId: 'T', subjects: 1999, index: 1500 } }),
        report('failed', 'FAILURE', { detail: 'task failed', retry: { kind: 'split', part } }),
        policy,
        now,
      );
      assert.equal(t.update.state, 'queued');
      assert.deepEqual(t.update.nextCheckAt, now);
      assert.equal(t.update.resubmit, true);
      assert.deepEqual(t.update.operationRef, { trackingId: 'T', subjects: 1999, index: 1500, resubmitIn: part });
      assert.deepEqual(t.events.map((e) => e.kind), ['status_seen', 'failed', 'retried']);
      assert.deepEqual(t.events[2]!.detail, {
        attempt: submitAttempts + 1,
        previousOperationId: 'op-1',
        split: { from: 'T', half: 'second', subjects: 999, lineage: ['S', 'T'] },
      });
      assert.deepEqual(t.tally, tally({ checked: 1, resubmitted: 1 }));
    }
  });

  it('alone in a failed job: error at once, with the vendor\'s words, never resubmitted', () => {
    const t = afterReport(row({ submitAttempts: 1 }), report('failed', 'FAILURE', { detail: 'bad id, in the vendor\'s words', retry: { kind: 'alone' } }), policy, now);
    assert.equal(t.update.state, 'error');
    assert.equal(t.update.nextCheckAt, null);
    assert.equal(t.update.resubmit, false);
    assert.equal(t.update.operationRef, null, 'the reference of the task stays');
    assert.equal(t.update.lastError, "bad id, in the vendor's words");
    assert.equal(t.update.lastErrorKind, 'failed');
    assert.deepEqual(t.events.map((e) => [e.kind, e.kind === 'error' ? e.detail : null]), [
      ['status_seen', null],
      ['failed', null],
      ['error', { reason: 'failed alone in its job: a resubmission cannot help' }],
    ]);
    assert.deepEqual(t.tally, tally({ checked: 1, errors: 1 }));
  });

  it('marks the status changed only when the raw word differs from the stored one', () => {
    assert.equal(afterReport(row(), report('submitted', 'pending'), policy, now).update.statusChanged, false);
    assert.equal(afterReport(row({ rawStatus: null }), report('submitted', 'pending'), policy, now).update.statusChanged, true);
  });

  it('falls back on the policy\'s expected duration when neither the vendor nor the row says when', () => {
    // Submitted 3 days minus 10 minutes ago: the expected completion is 10 minutes away, so look in 5.
    const late = row({ submittedAt: new Date(now.getTime() - 3 * DAY + 10 * MINUTE) });
    assert.deepEqual(afterReport(late, report('submitted', 'pending'), policy, now).update.nextCheckAt, at(5 * MINUTE));
  });
});

describe('status transition: a failed status call', () => {
  const cases: Array<{ name: string; fault: CheckFault; row?: Partial<ClaimedDeletion>; state: string | null; kind: string; event: string; next: Date | null }> = [
    { name: 'transient: retried after the shortest interval, doubled per check', fault: { kind: 'transient', message: 'answered 503', httpStatus: 503 }, state: null, kind: 'transient', event: 'error', next: at(10 * MINUTE) },
    { name: 'transient: the back-off is capped at 8 intervals', fault: { kind: 'transient', message: 'timed out' }, row: { checkCount: 30 }, state: null, kind: 'transient', event: 'error', next: at(40 * MINUTE) },
    { name: 'an unexpected rate limit counts as transient', fault: { kind: 'rate_limited', message: '429' }, state: null, kind: 'transient', event: 'error', next: at(10 * MINUTE) },
    { name: 'contract: last good state kept, schedule goes on', fault: { kind: 'contract', message: 'bad shape', sample: '{}' }, state: null, kind: 'contract_violation', event: 'contract_violation', next: at(20 * MINUTE) },
    { name: 'credential rejected: state kept, schedule goes on', fault: { kind: 'auth', message: '401', httpStatus: 401 }, state: null, kind: 'credential_rejected', event: 'error', next: at(20 * MINUTE) },
    { name: 'rejected: error, no more checks', fault: { kind: 'rejected', message: '404', httpStatus: 404 }, state: 'error', kind: 'rejected', event: 'error', next: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = afterFault(row(c.row), c.fault, policy, now);
      assert.equal(t.update.state, c.state);
      assert.equal(t.update.lastErrorKind, c.kind);
      // A contract fault's response sample goes with the row's error (which retention rewrites), not into the chain.
      assert.equal(t.update.lastError, c.fault.kind === 'contract' ? `${c.fault.message} (sample: ${c.fault.sample})` : c.fault.message);
      assert.equal(t.update.checked, false);
      assert.deepEqual(t.update.nextCheckAt, c.next);
      assert.deepEqual(t.events.map((e) => e.kind), [c.event]);
      assert.deepEqual(t.tally, tally({ errors: 1 }));
      assert.equal(t.events[0]!.detail['httpStatus'], c.fault.httpStatus);
      assert.equal(t.events[0]!.detail['sample'], undefined);
    });
  }
});

describe('status transition: a finished row claimed again', () => {
  it('clears the left-over check and changes nothing else', () => {
    const t = settled(row({ state: 'completed' }));
    assert.equal(t.update.state, null);
    assert.equal(t.update.nextCheckAt, null);
    assert.equal(t.update.checked, false);
    assert.deepEqual(t.events, []);
  });
});
