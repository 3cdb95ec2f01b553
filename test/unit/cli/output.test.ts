import assert from 'node:assert/strict';
import { csvLine, formatTable, parseDateOption, parsePositiveInt } from '../../../functions/cli/output.js';
import { daysLeft } from '../../../functions/cli/days.js';

describe('CLI output helpers', () => {
  it('quotes CSV fields with commas, quotes and newlines, and defuses formulas', () => {
    assert.equal(csvLine(['a,b', 'say "hi"', 'x\ny', '=1+1', '-2', 3, null]), '"a,b","say ""hi""","x\ny",\'=1+1,\'-2,3,');
  });

  it('aligns a table on its widest cell', () => {
    const out = formatTable([{ a: 'long value', b: 1 }], [
      { header: 'A', value: (r) => r.a },
      { header: 'B', value: (r) => r.b },
    ]);
    assert.equal(out, 'A           B\nlong value  1');
  });

  it('parses dates and refuses anything else, naming the option', () => {
    assert.equal(parseDateOption('--since', '2026-03-01').toISOString(), '2026-03-01T00:00:00.000Z');
    assert.equal(parseDateOption('--since', '2026-03-01T10:00:00+02:00').toISOString(), '2026-03-01T08:00:00.000Z');
    for (const bad of ['tomorrow', '03/01/2026', '2026-13-45', '']) {
      assert.throws(() => parseDateOption('--since', bad), /--since: .* is not a date/);
    }
  });

  it('parses positive integers within bounds', () => {
    assert.equal(parsePositiveInt('--limit', '25'), 25);
    for (const bad of ['0', '-1', '1.5', 'ten', '99999999']) assert.throws(() => parsePositiveInt('--limit', bad, 1000), /--limit/);
  });

  it('counts days left rounded up, negative once past, none once finished', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.equal(daysLeft(new Date('2026-03-11T00:00:00Z'), now, false), 1);
    assert.equal(daysLeft(new Date('2026-03-20T12:00:00Z'), now, false), 10);
    assert.equal(daysLeft(new Date('2026-03-08T12:00:00Z'), now, false), -2);
    assert.equal(daysLeft(new Date('2026-03-20T12:00:00Z'), now, true), null);
  });
});
