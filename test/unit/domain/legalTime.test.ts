import assert from 'node:assert/strict';
import {
  addBusinessDays,
  addCalendarDays,
  addCalendarMonths,
  endOfLocalDay,
  isBusinessDay,
  isLocalDate,
  isTimeZone,
  localDateOf,
  nextBusinessDayFrom,
} from '../../../functions/domain/legalTime.js';

describe('legalTime', () => {
  describe('addCalendarMonths (Reg. 1182/71 Art. 3(2)(c))', () => {
    const cases: [string, number, string][] = [
      ['2026-01-31', 1, '2026-02-28'], // no 31 February: the month's last day
      ['2028-01-31', 1, '2028-02-29'], // leap year
      ['2100-01-31', 1, '2100-02-28'], // a century that is not a leap year
      ['2026-01-30', 1, '2026-02-28'],
      ['2026-03-31', 1, '2026-04-30'],
      ['2026-04-30', 1, '2026-05-30'], // same date, not the month's last day
      ['2026-01-15', 1, '2026-02-15'],
      ['2026-11-30', 3, '2027-02-28'],
      ['2026-12-31', 2, '2027-02-28'],
      ['2027-11-30', 3, '2028-02-29'],
    ];
    for (const [from, months, to] of cases) {
      it(`${from} + ${months} month(s) = ${to}`, () => assert.equal(addCalendarMonths(from, months), to));
    }
  });

  it('adds calendar days across month and year ends', () => {
    assert.equal(addCalendarDays('2026-01-15', 45), '2026-03-01');
    assert.equal(addCalendarDays('2028-01-15', 45), '2028-02-29');
    assert.equal(addCalendarDays('2026-12-20', 15), '2027-01-04');
  });

  describe('business days', () => {
    const cases: [string, string, number, string][] = [
      ['Friday', '2026-03-06', 1, '2026-03-09'],
      ['Saturday', '2026-03-07', 1, '2026-03-09'],
      ['Sunday', '2026-03-08', 1, '2026-03-09'],
      ['Monday', '2026-03-09', 5, '2026-03-16'],
      ['Friday, three weekends', '2026-03-06', 15, '2026-03-27'],
      ['Wednesday', '2026-03-04', 0, '2026-03-04'],
    ];
    for (const [label, from, n, to] of cases) {
      it(`${label} ${from} + ${n} business days = ${to}`, () => assert.equal(addBusinessDays(from, n), to));
    }
    it('skips the holidays it is given, and only those', () => {
      assert.equal(addBusinessDays('2026-03-20', 15), '2026-04-10');
      assert.equal(addBusinessDays('2026-03-20', 15, new Set(['2026-03-31'])), '2026-04-13');
      assert.equal(isBusinessDay('2026-03-31'), true);
      assert.equal(isBusinessDay('2026-03-31', new Set(['2026-03-31'])), false);
    });
    it('rolls a weekend or holiday forward to the next working day', () => {
      assert.equal(nextBusinessDayFrom('2026-02-28'), '2026-03-02');
      assert.equal(nextBusinessDayFrom('2026-03-02'), '2026-03-02');
      assert.equal(nextBusinessDayFrom('2026-12-25', new Set(['2026-12-25'])), '2026-12-28');
    });
    it('refuses a negative or fractional count', () => {
      assert.throws(() => addBusinessDays('2026-03-06', -1), RangeError);
      assert.throws(() => addBusinessDays('2026-03-06', 1.5), RangeError);
    });
  });

  describe('local days in a zone', () => {
    it('reads the local date of an instant', () => {
      assert.equal(localDateOf(new Date('2026-03-02T05:00:00Z'), 'America/Los_Angeles'), '2026-03-01');
      assert.equal(localDateOf(new Date('2026-03-28T22:30:00Z'), 'Europe/Helsinki'), '2026-03-29');
    });
    it('ends a day at the next local midnight, whatever its length (DST)', () => {
      // New York springs forward on 8 March 2026: that day has 23 hours.
      assert.equal(endOfLocalDay('2026-03-07', 'America/New_York').toISOString(), '2026-03-08T05:00:00.000Z');
      assert.equal(endOfLocalDay('2026-03-08', 'America/New_York').toISOString(), '2026-03-09T04:00:00.000Z');
      // and falls back on 1 November 2026: that day has 25 hours.
      assert.equal(endOfLocalDay('2026-11-01', 'America/New_York').toISOString(), '2026-11-02T05:00:00.000Z');
      // Helsinki moves from +02:00 to +03:00 on 29 March 2026.
      assert.equal(endOfLocalDay('2026-03-28', 'Europe/Helsinki').toISOString(), '2026-03-28T22:00:00.000Z');
      assert.equal(endOfLocalDay('2026-03-29', 'Europe/Helsinki').toISOString(), '2026-03-29T21:00:00.000Z');
    });
  });

  it('validates zones and dates', () => {
    assert.equal(isTimeZone('Europe/Helsinki'), true);
    assert.equal(isTimeZone('Mars/Olympus'), false);
    assert.equal(isTimeZone('UTC+2'), false);
    assert.equal(isLocalDate('2028-02-29'), true);
    assert.equal(isLocalDate('2026-02-29'), false);
    assert.equal(isLocalDate('2026-2-1'), false);
  });
});

describe('localDateOf at local midnights off the hour', () => {
  it('changes day exactly at local midnight in quarter- and half-hour zones, asked in any order', () => {
    const cases: Array<[string, string, string, string]> = [
      // zone, last instant of a day, its local date, the next local date
      ['Asia/Kathmandu', '2026-11-29T18:14:59.999Z', '2026-11-29', '2026-11-30'],
      ['Pacific/Chatham', '2026-11-29T10:14:59.999Z', '2026-11-29', '2026-11-30'],
      ['Asia/Kolkata', '2026-11-29T18:29:59.999Z', '2026-11-29', '2026-11-30'],
      ['America/St_Johns', '2026-11-30T03:29:59.999Z', '2026-11-29', '2026-11-30'],
    ];
    for (const [zone, last, day, next] of cases) {
      const before = new Date(last);
      const after = new Date(before.getTime() + 1);
      assert.equal(localDateOf(after, zone), next, `${zone} at ${after.toISOString()}`);
      assert.equal(localDateOf(before, zone), day, `${zone} at ${before.toISOString()}`);
      assert.equal(localDateOf(after, zone), next, `${zone} at ${after.toISOString()}, again`);
      assert.equal(localDateOf(new Date(before.getTime() - 60_000), zone), day);
    }
  });

});
