import assert from 'node:assert/strict';
import { staleness, expectedCompletion } from '../../../functions/domain/staleness.js';
import { DAY, HOUR } from '../../../functions/clock.js';

const policy = { expectedDurationMs: 3 * DAY, noProgressMs: 2 * DAY };
const submittedAt = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(submittedAt.getTime() + ms);
const base = { queuedAt: submittedAt, submittedAt, expectedBy: null, statusChangedAt: null };

describe('staleness', () => {
  it('is fresh before either limit', () => {
    assert.deepEqual(staleness(policy, base, at(DAY)), { kind: 'fresh' });
  });
  it('is no_progress once the status has not changed for noProgressMs', () => {
    assert.deepEqual(staleness(policy, base, at(2 * DAY)), { kind: 'no_progress', since: at(2 * DAY) });
  });
  it('a recent status change resets the no-progress clock', () => {
    assert.deepEqual(staleness(policy, { ...base, statusChangedAt: at(DAY) }, at(2 * DAY + HOUR)), { kind: 'fresh' });
  });
  it('is stale at 72 h with the seed default, and stale wins over no_progress', () => {
    assert.deepEqual(staleness(policy, base, at(72 * HOUR)), { kind: 'stale', since: at(3 * DAY) });
  });
  it("takes the vendor's own expected completion over the policy", () => {
    const input = { ...base, expectedBy: at(10 * DAY), statusChangedAt: at(4 * DAY) };
    assert.equal(expectedCompletion(policy, input).getTime(), at(10 * DAY).getTime());
    assert.deepEqual(staleness(policy, input, at(5 * DAY)), { kind: 'fresh' });
  });
  it('measures a never-submitted deletion from when it was queued', () => {
    assert.equal(staleness(policy, { ...base, submittedAt: null }, at(3 * DAY)).kind, 'stale');
  });
});
