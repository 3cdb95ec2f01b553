import assert from 'node:assert/strict';
import {
  afterSubmitFailure,
  DEFAULT_MAX_REFUSALS,
  FAILURE_CLASSES,
  FAILURE_HANDLING,
  failureClassOf,
  MAX_REFUSAL_WORDS,
  refusalSignature,
  type FailureClass,
  type FaultFacts,
} from '../../../functions/domain/failureClasses.js';
import { afterFault } from '../../../functions/domain/statusTransition.js';
import type { ClaimedDeletion } from '../../../functions/domain/deletion.js';

describe('failure classes: every failure has an end', () => {
  const cases: Array<[string, FaultFacts, 'submit' | 'check', FailureClass]> = [
    ['400 on create', { kind: 'rejected', httpStatus: 400 }, 'submit', 'refusal'],
    ['404 on create', { kind: 'rejected', httpStatus: 404 }, 'submit', 'refusal'],
    ['422 on create', { kind: 'rejected', httpStatus: 422 }, 'submit', 'refusal'],
    ['408 on create', { kind: 'rejected', httpStatus: 408 }, 'submit', 'transient'],
    ['409 on create', { kind: 'rejected', httpStatus: 409 }, 'submit', 'transient'],
    ['409 on a check', { kind: 'rejected', httpStatus: 409 }, 'check', 'transient'],
    ['404 on a check', { kind: 'rejected', httpStatus: 404 }, 'check', 'refusal'],
    ['401', { kind: 'auth', httpStatus: 401 }, 'submit', 'credential'],
    ['403', { kind: 'auth', httpStatus: 403 }, 'check', 'credential'],
    ['429', { kind: 'rate_limited', httpStatus: 429 }, 'submit', 'rate_limit'],
    ['503', { kind: 'transient', httpStatus: 503 }, 'submit', 'transient'],
    ['timeout', { kind: 'transient' }, 'submit', 'transient'],
    ['JSON of the wrong shape on create', { kind: 'contract', httpStatus: 200 }, 'submit', 'contract'],
    ['an HTML page answering a create', { kind: 'contract', httpStatus: 200, notJson: true }, 'submit', 'transient'],
    ['an HTML page answering a check', { kind: 'contract', httpStatus: 200, notJson: true }, 'check', 'contract'],
  ];
  for (const [what, facts, call, expected] of cases) {
    it(`${what} is ${expected}`, () => assert.equal(failureClassOf(facts, call), expected));
  }

  // Per class: how it ends. A class that neither is bounded, nor is a vendor incident, nor waits for a pause, has
  // only the deadline alerts as its end: that is the transient class alone.
  const ends: Record<FailureClass, { bounded: boolean; incident: string | null; checkGivesUp: boolean; mass: boolean }> = {
    refusal: { bounded: true, incident: null, checkGivesUp: true, mass: true },
    contract: { bounded: true, incident: 'contract_violation', checkGivesUp: false, mass: false },
    credential: { bounded: false, incident: 'credential_rejected', checkGivesUp: false, mass: false },
    rate_limit: { bounded: false, incident: null, checkGivesUp: false, mass: false },
    transient: { bounded: false, incident: null, checkGivesUp: false, mass: false },
  };
  for (const cls of FAILURE_CLASSES) {
    it(`${cls}: ${FAILURE_HANDLING[cls].ends}`, () => {
      const h = FAILURE_HANDLING[cls];
      assert.equal(h.bounded, ends[cls].bounded);
      assert.equal(h.incident, ends[cls].incident);
      assert.equal(h.check.gaveUp, ends[cls].checkGivesUp);
      assert.equal(h.mass, ends[cls].mass);
      assert.ok(h.ends.length > 10);
    });
  }

  it('a credential rejection is the vendor\'s, not each deletion\'s', () => {
    assert.equal(FAILURE_HANDLING.credential.scope, 'vendor');
    assert.equal(afterSubmitFailure('credential', 0).giveUp, false);
  });

  it('counts refusals up to the bound, then gives up; other classes never give up', () => {
    assert.equal(DEFAULT_MAX_REFUSALS, 3);
    assert.deepEqual(afterSubmitFailure('refusal', 0), { refusals: 1, giveUp: false });
    assert.deepEqual(afterSubmitFailure('refusal', 1), { refusals: 2, giveUp: false });
    assert.deepEqual(afterSubmitFailure('refusal', 2), { refusals: 3, giveUp: true });
    assert.deepEqual(afterSubmitFailure('contract', 0, 1), { refusals: 1, giveUp: true });
    for (const cls of ['credential', 'rate_limit', 'transient'] as const) {
      assert.deepEqual(afterSubmitFailure(cls, 99), { refusals: 99, giveUp: false });
    }
  });

  it('the same refusal for different subjects has one signature, capped in length', () => {
    const a = refusalSignature('POST /deletions answered 400: {"error":"unknown user cust-17"}', ['cust-17']);
    const b = refusalSignature('POST /deletions answered 400: {"error":"unknown user cust-9000"}', ['cust-9000']);
    assert.equal(a, b);
    assert.equal(refusalSignature('x'.repeat(5000), []).length, MAX_REFUSAL_WORDS);
  });

  it('the status rules read the same table: a 409 on a check is retried, a 404 ends in error', () => {
    const row = { deletionId: '1', checkCount: 1, operationId: 'op', queuedAt: new Date(0), submittedAt: new Date(0), expectedBy: null, statusChangedAt: null } as unknown as ClaimedDeletion;
    const policy = { maxSubmitAttempts: 5, minCheckIntervalMs: 1000, maxCheckIntervalMs: 60_000, expectedDurationMs: 3_600_000 };
    const now = new Date(1_000_000);
    const conflict = afterFault(row, { kind: 'rejected', message: '409', httpStatus: 409 }, policy, now);
    assert.equal(conflict.update.state, null);
    assert.ok(conflict.update.nextCheckAt);
    const gone = afterFault(row, { kind: 'rejected', message: '404', httpStatus: 404 }, policy, now);
    assert.equal(gone.update.state, 'error');
    assert.equal(gone.update.nextCheckAt, null);
  });
});
