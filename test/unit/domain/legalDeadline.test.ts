import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../functions/errors.js';
import { deadlineFor, extendedDeadline, extensionAllowed } from '../../../functions/domain/legalDeadline.js';
import { DUTIES, REGIME_IDS, REGIMES, isDuty, isRegimeId, type Duty, type RegimeId } from '../../../functions/domain/regimes.js';

const at = (iso: string) => new Date(iso);

interface Example {
  name: string;
  regime: RegimeId;
  duty?: Duty;
  timeZone?: string;
  holidays?: string[];
  receivedAt: string;
  receivedOn: string;
  lastDay: string;
  expiresAt: string;
}

// Worked examples. Weekdays: 2026-02-28 Sat, 2026-03-02 Mon, 2026-05-30 Sat, 2027-02-28 Sun, 2028-02-29 Tue.
const examples: Example[] = [
  {
    name: 'GDPR: 31 January + one month is the end of February, a Saturday, so Monday 2 March (Art. 3(4))',
    regime: 'gdpr',
    receivedAt: '2026-01-31T10:00:00Z',
    receivedOn: '2026-01-31',
    lastDay: '2026-03-02',
    expiresAt: '2026-03-02T22:00:00.000Z', // midnight in Helsinki (+02:00)
  },
  {
    name: 'GDPR: 31 January in a leap year ends on Tuesday 29 February',
    regime: 'gdpr',
    receivedAt: '2028-01-31T09:00:00Z',
    receivedOn: '2028-01-31',
    lastDay: '2028-02-29',
    expiresAt: '2028-02-29T22:00:00.000Z',
  },
  {
    name: 'GDPR: 31 January 2027 + one month is Sunday 28 February, so Monday 1 March',
    regime: 'gdpr',
    timeZone: 'Europe/Berlin',
    receivedAt: '2027-01-31T09:00:00Z',
    receivedOn: '2027-01-31',
    lastDay: '2027-03-01',
    expiresAt: '2027-03-01T23:00:00.000Z',
  },
  {
    name: 'GDPR: 30 April + one month is 30 May (not the month end), a Saturday, so Monday 1 June',
    regime: 'gdpr',
    receivedAt: '2026-04-30T08:00:00Z',
    receivedOn: '2026-04-30',
    lastDay: '2026-06-01',
    expiresAt: '2026-06-01T21:00:00.000Z', // +03:00 in summer
  },
  {
    name: 'GDPR: 15 January + one month on a weekday needs no roll-forward',
    regime: 'gdpr',
    receivedAt: '2026-01-15T12:00:00Z',
    receivedOn: '2026-01-15',
    lastDay: '2026-02-16', // 15 February 2026 is a Sunday
    expiresAt: '2026-02-16T22:00:00.000Z',
  },
  {
    name: 'GDPR: a holiday on the last day rolls it forward too, when the operator lists it',
    regime: 'gdpr',
    timeZone: 'Europe/Dublin',
    holidays: ['2026-03-17'],
    receivedAt: '2026-02-17T12:00:00Z',
    receivedOn: '2026-02-17',
    lastDay: '2026-03-18',
    expiresAt: '2026-03-19T00:00:00.000Z',
  },
  {
    name: 'GDPR, DST: received 00:30 local on the night the clocks change counts from that local day',
    regime: 'gdpr',
    receivedAt: '2026-03-28T22:30:00Z', // 2026-03-29 00:30 in Helsinki (+02:00 until 03:00)
    receivedOn: '2026-03-29',
    lastDay: '2026-04-29',
    expiresAt: '2026-04-29T21:00:00.000Z', // +03:00 after the change
  },
  {
    name: 'CCPA: 45 calendar days counting the day of receipt (§ 7021(b)), across the DST change',
    regime: 'ccpa',
    receivedAt: '2026-03-01T20:00:00Z', // 12:00 PST
    receivedOn: '2026-03-01',
    lastDay: '2026-04-14',
    expiresAt: '2026-04-15T07:00:00.000Z', // midnight PDT
  },
  {
    name: 'CCPA: a request at 21:00 Pacific on 1 March is a 1 March request although UTC says 2 March',
    regime: 'ccpa',
    receivedAt: '2026-03-02T05:00:00Z',
    receivedOn: '2026-03-01',
    lastDay: '2026-04-14',
    expiresAt: '2026-04-15T07:00:00.000Z',
  },
  {
    name: 'CCPA opt-out of sale/sharing: 15 business days after a Friday, over three weekends',
    regime: 'ccpa',
    duty: 'opt_out_sale_sharing',
    receivedAt: '2026-03-06T18:00:00Z',
    receivedOn: '2026-03-06',
    lastDay: '2026-03-27',
    expiresAt: '2026-03-28T07:00:00.000Z',
  },
  {
    name: 'CCPA opt-out received on a Saturday: business day 1 is the Monday',
    regime: 'ccpa',
    duty: 'opt_out_sale_sharing',
    receivedAt: '2026-03-07T18:00:00Z',
    receivedOn: '2026-03-07',
    lastDay: '2026-03-27',
    expiresAt: '2026-03-28T07:00:00.000Z',
  },
  {
    name: 'CCPA opt-out with an operator-listed holiday (31 March) inside the period',
    regime: 'ccpa',
    duty: 'opt_out_sale_sharing',
    holidays: ['2026-03-31'],
    receivedAt: '2026-03-20T18:00:00Z',
    receivedOn: '2026-03-20',
    lastDay: '2026-04-13',
    expiresAt: '2026-04-14T07:00:00.000Z',
  },
  {
    name: 'Texas: the 45th day after receipt, end of February included',
    regime: 'tdpsa',
    receivedAt: '2026-01-15T18:00:00Z',
    receivedOn: '2026-01-15',
    lastDay: '2026-03-01',
    expiresAt: '2026-03-02T06:00:00.000Z', // midnight CST
  },
  {
    name: 'Virginia: 45 days after receipt in a leap year',
    regime: 'vcdpa',
    receivedAt: '2028-01-15T15:00:00Z',
    receivedOn: '2028-01-15',
    lastDay: '2028-02-29',
    expiresAt: '2028-03-01T05:00:00.000Z',
  },
  {
    name: 'Utah: 45 days after the day of receipt, in Mountain Time',
    regime: 'ucpa',
    receivedAt: '2026-10-20T03:00:00Z', // 19 October 21:00 MDT
    receivedOn: '2026-10-19',
    lastDay: '2026-12-03',
    expiresAt: '2026-12-04T07:00:00.000Z', // midnight MST after the November change
  },
  {
    name: 'Connecticut: a consent revocation stops processing within 15 days (no weekend roll-forward)',
    regime: 'ctdpa',
    duty: 'consent_revocation',
    receivedAt: '2026-02-20T15:00:00Z',
    receivedOn: '2026-02-20',
    lastDay: '2026-03-07', // a Saturday
    expiresAt: '2026-03-08T05:00:00.000Z',
  },
  {
    name: 'Connecticut: the erasure request itself has 45 days',
    regime: 'ctdpa',
    receivedAt: '2026-02-20T15:00:00Z',
    receivedOn: '2026-02-20',
    lastDay: '2026-04-06',
    expiresAt: '2026-04-07T04:00:00.000Z',
  },
];

describe('legal deadlines: worked examples', () => {
  for (const ex of examples) {
    it(ex.name, () => {
      const d = deadlineFor(ex.regime, at(ex.receivedAt), { duty: ex.duty, timeZone: ex.timeZone, holidays: ex.holidays });
      assert.equal(d.receivedOn, ex.receivedOn, 'received on');
      assert.equal(d.lastDay, ex.lastDay, 'last day');
      assert.equal(d.expiresAt.toISOString(), ex.expiresAt, 'expires at');
      assert.equal(d.duty, ex.duty ?? 'erasure');
      assert.equal(d.extended, false);
    });
  }
});

describe('deadlines shared by the day of receipt', () => {
  it('requests received the same local day share a deadline; another zone, holiday list, duty or day does not', () => {
    const morning = deadlineFor('ccpa', at('2026-03-20T15:00:00Z'), { duty: 'opt_out_sale_sharing' });
    const evening = deadlineFor('ccpa', at('2026-03-21T06:59:59Z'), { duty: 'opt_out_sale_sharing' });
    assert.deepEqual([evening.receivedOn, evening.lastDay, evening.expiresAt.toISOString()], [morning.receivedOn, morning.lastDay, morning.expiresAt.toISOString()]);
    // A caller changing the returned Date does not change the next request's.
    evening.expiresAt.setTime(0);
    assert.equal(deadlineFor('ccpa', at('2026-03-20T16:00:00Z'), { duty: 'opt_out_sale_sharing' }).expiresAt.toISOString(), morning.expiresAt.toISOString());
    // Calendar days: a day later, a day later (Los Angeles midnight is 07:00 UTC in March).
    const before = deadlineFor('ccpa', at('2026-03-21T06:59:59Z'));
    const after = deadlineFor('ccpa', at('2026-03-21T07:00:00Z'));
    assert.deepEqual([before.receivedOn, after.receivedOn], ['2026-03-20', '2026-03-21']);
    assert.equal(Date.parse(after.expiresAt.toISOString()) - Date.parse(before.expiresAt.toISOString()), 24 * 3600 * 1000);
    const holiday = deadlineFor('ccpa', at('2026-03-20T18:00:00Z'), { duty: 'opt_out_sale_sharing', holidays: ['2026-03-31'] });
    assert.equal(holiday.lastDay, '2026-04-13');
    assert.notEqual(holiday.lastDay, morning.lastDay);
    const zone = deadlineFor('ccpa', at('2026-03-21T06:00:00Z'), { duty: 'opt_out_sale_sharing', timeZone: 'Europe/Helsinki' });
    assert.equal(zone.receivedOn, '2026-03-21');
    const erasure = deadlineFor('ccpa', at('2026-03-20T15:00:00Z'));
    assert.notEqual(erasure.lastDay, morning.lastDay);
  });
});

describe('extensions', () => {
  const extended: [string, RegimeId, string, string, string][] = [
    // GDPR: three months from receipt, then Art. 3(4): 31 January → 30 April 2026 (a Thursday).
    ['GDPR: 31 January → 30 April', 'gdpr', '2026-01-31T10:00:00Z', '2026-04-30', '2026-04-30T21:00:00.000Z'],
    // 30 November + 3 months = 28 February 2027, a Sunday → Monday 1 March.
    ['GDPR: 30 November → end of February, rolled to Monday', 'gdpr', '2026-11-30T10:00:00Z', '2027-03-01', '2027-03-01T22:00:00.000Z'],
    ['CCPA: 90 days in all, counting the day of receipt', 'ccpa', '2026-03-01T20:00:00Z', '2026-05-29', '2026-05-30T07:00:00.000Z'],
    ['Texas: 45 + 45', 'tdpsa', '2026-01-15T18:00:00Z', '2026-04-15', '2026-04-16T05:00:00.000Z'],
    ['Virginia: 45 + 45', 'vcdpa', '2026-01-15T18:00:00Z', '2026-04-15', '2026-04-16T04:00:00.000Z'],
    ['Connecticut: 45 + 45', 'ctdpa', '2026-01-15T18:00:00Z', '2026-04-15', '2026-04-16T04:00:00.000Z'],
    ['Utah: 45 + 45', 'ucpa', '2026-01-15T18:00:00Z', '2026-04-15', '2026-04-16T06:00:00.000Z'],
  ];
  for (const [name, regime, receivedAt, lastDay, expiresAt] of extended) {
    it(`extended deadline, ${name}`, () => {
      const d = extendedDeadline(regime, at(receivedAt));
      assert.equal(d.lastDay, lastDay);
      assert.equal(d.expiresAt.toISOString(), expiresAt);
      assert.equal(d.extended, true);
    });
  }

  it('GDPR: allowed on the last day of the first month, refused the day after, naming why', () => {
    const received = at('2026-01-31T10:00:00Z'); // initial period ends Monday 2 March 2026, Helsinki
    const inside = extensionAllowed('gdpr', received, at('2026-03-02T21:59:59Z'));
    assert.equal(inside.allowed, true);
    if (inside.allowed) {
      assert.equal(inside.noticeBy.toISOString(), '2026-03-02T22:00:00.000Z');
      assert.equal(inside.extended.lastDay, '2026-04-30');
      assert.equal(inside.initial.lastDay, '2026-03-02');
    }
    const outside = extensionAllowed('gdpr', received, at('2026-03-02T22:00:00Z'));
    assert.equal(outside.allowed, false);
    if (!outside.allowed) {
      assert.equal(outside.code, 'notice_window_closed');
      assert.match(outside.reason, /2026-03-02 \(Europe\/Helsinki\)/);
      assert.match(outside.reason, /Art\. 12\(3\)/);
    }
  });

  it('CCPA: allowed until the end of day 45 Pacific, refused from midnight', () => {
    const received = at('2026-03-01T20:00:00Z');
    assert.equal(extensionAllowed('ccpa', received, at('2026-04-15T06:59:59Z')).allowed, true);
    const late = extensionAllowed('ccpa', received, at('2026-04-15T07:00:00Z'));
    assert.deepEqual(late.allowed ? null : late.code, 'notice_window_closed');
  });

  it('a configured zone moves the window with it', () => {
    const received = at('2026-01-15T18:00:00Z');
    const now = at('2026-03-02T05:30:00Z'); // 23:30 on 1 March in Chicago, 00:30 on 2 March in New York
    assert.equal(extensionAllowed('tdpsa', received, now).allowed, true);
    assert.equal(extensionAllowed('tdpsa', received, now, { timeZone: 'America/New_York' }).allowed, false);
  });

  it('is refused a second time', () => {
    const d = extensionAllowed('vcdpa', at('2026-01-15T18:00:00Z'), at('2026-01-20T00:00:00Z'), { alreadyExtended: true });
    assert.deepEqual(d.allowed ? null : d.code, 'already_extended');
  });

  it('is refused for duties without an extension, citing the rule', () => {
    for (const [regime, duty] of [['ccpa', 'opt_out_sale_sharing'], ['ctdpa', 'consent_revocation']] as const) {
      const d = extensionAllowed(regime, at('2026-03-06T18:00:00Z'), at('2026-03-07T00:00:00Z'), { duty });
      assert.equal(d.allowed, false);
      if (!d.allowed) {
        assert.equal(d.code, 'no_extension');
        assert.match(d.reason, /§ 42-520|§ 7026/);
      }
      assert.throws(() => extendedDeadline(regime, at('2026-03-06T18:00:00Z'), { duty }), InvalidInputError);
    }
  });
});

describe('bad input', () => {
  const received = at('2026-01-15T18:00:00Z');
  it('names an unknown regime and lists the known ones', () => {
    assert.throws(() => deadlineFor('lgpd' as RegimeId, received), (e: Error) => e instanceof InvalidInputError && /"lgpd".*gdpr, ccpa/.test(e.message));
  });
  it('names a duty the regime does not set a clock for', () => {
    assert.throws(() => deadlineFor('gdpr', received, { duty: 'opt_out_sale_sharing' }), /sets no separate time limit for opt_out_sale_sharing/);
  });
  it('names a bad zone, a bad holiday and an unknown option', () => {
    assert.throws(() => deadlineFor('gdpr', received, { timeZone: 'Europe/Atlantis' }), /timeZone: must be an IANA time zone/);
    assert.throws(() => deadlineFor('ccpa', received, { holidays: ['2026-02-30'] }), /holidays\.0: must be a date/);
    assert.throws(() => deadlineFor('ccpa', received, { zone: 'UTC' } as never), /Unrecognized key/);
  });
  it('refuses an invalid date', () => {
    assert.throws(() => deadlineFor('gdpr', new Date('nope')), /receivedAt must be a valid Date/);
  });
});

describe('the regime table', () => {
  it('has a rule with a cited source and a valid default zone for every regime, and guards its closed sets', () => {
    for (const id of REGIME_IDS) {
      const regime = REGIMES[id];
      assert.equal(regime.id, id);
      assert.ok(regime.duties.erasure.source.url.startsWith('https://'), id);
      assert.ok(regime.duties.erasure.source.readIn.length > 0, id);
      assert.doesNotThrow(() => deadlineFor(id, new Date('2026-06-01T12:00:00Z')), id);
      assert.equal(isRegimeId(id), true);
    }
    for (const duty of DUTIES) assert.equal(isDuty(duty), true);
    assert.equal(isRegimeId('cpa'), false);
    assert.equal(isDuty('erase'), false);
  });
});
