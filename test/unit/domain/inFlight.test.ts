import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inFlightFor, nextLatency } from '../../../functions/domain/inFlight.js';

describe('inFlightFor: calls in flight from the rate and the measured latency', () => {
  const http = { requestsPerSecond: 500, concurrency: 8, maxConcurrency: 512 };
  const table: Array<[string, Parameters<typeof inFlightFor>[0], number | undefined, number]> = [
    ['before any measurement: the policy concurrency', http, undefined, 8],
    ['500/s at 50 ms: 1.5 × 25 = 38', http, 50, 38],
    ['500/s at 500 ms: 1.5 × 250 = 375', http, 500, 375],
    ['never below the policy concurrency', http, 1, 8],
    ['never above maxConcurrency', http, 10_000, 512],
    ['no maxConcurrency: concurrency is fixed', { requestsPerSecond: 500, concurrency: 4 }, 500, 4],
    ['a documented limit of one call at a time stays one', { requestsPerSecond: 1, concurrency: 1, maxConcurrency: 1 }, 2000, 1],
    ['maxConcurrency below concurrency wins', { requestsPerSecond: 500, concurrency: 8, maxConcurrency: 4 }, 500, 4],
    ['a nonsensical latency is no measurement', http, Number.NaN, 8],
  ];
  for (const [name, policy, latency, want] of table) it(name, () => assert.equal(inFlightFor(policy, latency), want));

  it('is always within [min(concurrency, max), max] and grows with latency', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        (concurrency, max, rate, a, b) => {
          const p = { requestsPerSecond: rate, concurrency, maxConcurrency: max };
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const x = inFlightFor(p, lo);
          const y = inFlightFor(p, hi);
          return x >= Math.min(concurrency, max) && y <= Math.max(1, max) && x <= y;
        },
      ),
    );
  });
});

describe('nextLatency: the moving average of call latency', () => {
  it('the first call sets it', () => assert.equal(nextLatency(undefined, 120), 120));
  it('a later call moves it a fifth of the way', () => assert.equal(nextLatency(100, 200), 120));
  it('a negative or non-finite sample is ignored', () => {
    assert.equal(nextLatency(100, -5), 100);
    assert.equal(nextLatency(100, Number.POSITIVE_INFINITY), 100);
  });
  it('converges on a steady latency', () => {
    let l: number | undefined;
    for (let i = 0; i < 60; i += 1) l = nextLatency(l ?? 10, 500);
    assert.ok(Math.abs(l! - 500) < 1);
  });
});
