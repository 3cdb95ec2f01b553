import assert from 'node:assert/strict';
import { count, formatTable, tableViolations, type ScenarioOutcome } from './table.js';

const row = (over: Partial<ScenarioOutcome>): ScenarioOutcome => ({
  scenario: 's',
  path: 'p',
  load: 'l',
  faults: 'f',
  lost: 0,
  duplicated: 0,
  completed: 1000,
  retries: 3,
  alerts: 1,
  ...over,
});

describe('fault table', () => {
  it('prints one aligned line per scenario with grouped figures', () => {
    const text = formatTable([row({ scenario: 'one', completed: 10_000 }), row({ scenario: 'two-longer' })]);
    const lines = text.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^scenario\s+path\s+load\s+faults injected\s+lost\s+duplicated\s+completed\s+retries\s+alerts$/);
    assert.match(lines[2]!, /10,000/);
    assert.equal(lines[2]!.indexOf('l '), lines[3]!.indexOf('l '), 'columns line up');
  });

  it('fails on any lost or duplicated deletion and on a scenario without figures', () => {
    assert.deepEqual(tableViolations([row({ scenario: 'a' })], ['a']), []);
    assert.deepEqual(tableViolations([row({ scenario: 'a', lost: 2 }), row({ scenario: 'b', duplicated: 1 })], ['a', 'b', 'c']), [
      'c: recorded no figures',
      'a: 2 lost',
      'b: 1 duplicated',
    ]);
    assert.match(formatTable([], ['c']), /c: no figures/);
  });

  it('groups thousands the same way everywhere', () => {
    assert.equal(count(1234567), '1,234,567');
    assert.equal(count(0), '0');
  });
});
