import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextCheckDelayMs } from '../../../functions/domain/backoff.js';
import { DAY, HOUR, MINUTE } from '../../../functions/clock.js';

const policy = { minCheckIntervalMs: 5 * MINUTE, maxCheckIntervalMs: 6 * HOUR };
const now = new Date('2026-03-01T00:00:00Z');

describe('nextCheckDelayMs', () => {
  const table: Array<[string, number, Date | null, number]> = [
    ['first check waits the minimum', 1, null, 5 * MINUTE],
    ['doubles per check', 2, null, 10 * MINUTE],
    ['doubles again', 4, null, 40 * MINUTE],
    ['caps at the maximum', 20, null, 6 * HOUR],
    ['does not overflow on huge counts', 5000, null, 6 * HOUR],
    ['shortens to half the time left before the expected completion', 20, new Date(now.getTime() + 2 * HOUR), HOUR],
    ['never below the minimum near the expected completion', 20, new Date(now.getTime() + MINUTE), 5 * MINUTE],
    ['past the expected completion the normal backoff applies', 20, new Date(now.getTime() - DAY), 6 * HOUR],
  ];
  for (const [name, checks, expectedBy, want] of table) {
    it(name, () => assert.equal(nextCheckDelayMs(policy, { checkCount: checks, expectedBy, now }), want));
  }

  it('always lies between the minimum and the maximum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.option(fc.integer({ min: -30 * DAY, max: 60 * DAY })), (checks, offset) => {
        const expectedBy = offset === null ? null : new Date(now.getTime() + offset);
        const d = nextCheckDelayMs(policy, { checkCount: checks, expectedBy, now });
        return d >= policy.minCheckIntervalMs && d <= policy.maxCheckIntervalMs;
      }),
    );
  });
});
