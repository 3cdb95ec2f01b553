import assert from 'node:assert/strict';
import { deadlineFor, deadlineStatus } from '../../../functions/domain/deadline.js';
import { DAY, HOUR } from '../../../functions/clock.js';

const revokedAt = new Date('2026-03-01T00:00:00Z');
const deadline = deadlineFor(revokedAt, 30);

describe('deadline', () => {
  it('is 30 days after the revocation by default', () => {
    assert.equal(deadline.toISOString(), '2026-03-31T00:00:00.000Z');
  });
  it('is ok before the warning window, with days left rounded up', () => {
    assert.deepEqual(deadlineStatus(deadline, 7, new Date(revokedAt.getTime() + HOUR)), { kind: 'ok', daysLeft: 30 });
  });
  it('warns from warningDays before the deadline', () => {
    const now = new Date(deadline.getTime() - 7 * DAY);
    assert.deepEqual(deadlineStatus(deadline, 7, now), { kind: 'deadline_warning', since: now, daysLeft: 7 });
    assert.equal(deadlineStatus(deadline, 7, new Date(now.getTime() - 1)).kind, 'ok');
  });
  it('is missed at and after the deadline', () => {
    assert.deepEqual(deadlineStatus(deadline, 7, deadline), { kind: 'deadline_missed', since: deadline });
  });
});
