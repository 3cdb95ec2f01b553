import assert from 'node:assert/strict';
import { calendarMonthWindow, describeQuota, grantable, readQuota } from '../../../functions/domain/subjectQuota.js';

describe('monthly subject quota (pure)', () => {
  it('counts in the calendar month (UTC) and resets at the start of the next, across a year', () => {
    assert.deepEqual(calendarMonthWindow(new Date('2026-12-31T23:59:59.999Z')), {
      start: new Date('2026-12-01T00:00:00Z'),
      resetsAt: new Date('2027-01-01T00:00:00Z'),
      label: '2026-12',
    });
    assert.equal(calendarMonthWindow(new Date('2027-01-01T00:00:00Z')).label, '2027-01');
    assert.equal(calendarMonthWindow(new Date('2028-02-29T12:00:00Z')).resetsAt.toISOString(), '2028-03-01T00:00:00.000Z');
  });

  it('is ok below the alert share, low from it, exhausted with nothing left', () => {
    const at = (used: number) => readQuota({ quota: 110_000, used, alertShare: 0.8, now: new Date('2026-03-15T00:00:00Z') });
    assert.deepEqual([at(0).level, at(87_999).level, at(88_000).level, at(109_999).level, at(110_000).level, at(120_000).level], ['ok', 'ok', 'low', 'low', 'exhausted', 'exhausted']);
    assert.equal(at(120_000).remaining, 0);
    assert.deepEqual([grantable(at(109_000), 5000), grantable(at(100), 5000), grantable(at(110_000), 1)], [1000, 5000, 0]);
  });

  it('says how much is used and left and when it resets', () => {
    const now = new Date('2026-03-15T00:00:00Z');
    assert.equal(
      describeQuota('segment', readQuota({ quota: 110_000, used: 90_500, alertShare: 0.8, now })),
      'segment: 90,500 of 110,000 subjects sent in 2026-03 (calendar month, UTC); 19,500 left (alert at 80 %); the quota resets at 2026-04-01T00:00:00.000Z',
    );
  });
});
