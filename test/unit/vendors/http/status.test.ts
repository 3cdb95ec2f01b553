import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VendorContractError } from '../../../../functions/vendors/errors.js';
import { HTTP_STATUS_WORDS, mapHttpStatus } from '../../../../functions/vendors/http/status.js';
import { HTTP_POLICY_DEFAULTS, httpPolicy } from '../../../../functions/vendors/http/httpVendor.js';
import { DAY, HOUR, MINUTE, SECOND } from '../../../../functions/clock.js';

describe('mapHttpStatus', () => {
  const cases: [string, string][] = [
    ['pending', 'submitted'],
    ['in_progress', 'in_progress'],
    ['complete', 'completed'],
    ['failed', 'failed'],
  ];
  for (const [word, state] of cases) {
    it(`maps ${word} to ${state}`, () => assert.equal(mapHttpStatus('http', word), state));
  }

  const unknown: unknown[] = ['PENDING', 'completed', 'done', 'in-progress', '', ' pending', 'cancelled', null, undefined, 1, {}];
  for (const raw of unknown) {
    it(`rejects ${JSON.stringify(raw) ?? 'undefined'} as a contract violation, not as pending`, () => {
      assert.throws(
        () => mapHttpStatus('http', raw),
        (err: unknown) => err instanceof VendorContractError && err.vendor === 'http' && /unknown status/.test(err.problem),
      );
    });
  }

  it('accepts exactly the documented words', () => {
    fc.assert(
      fc.property(fc.string(), (word) => {
        const documented = (HTTP_STATUS_WORDS as readonly string[]).includes(word);
        let threw = false;
        try {
          mapHttpStatus('http', word);
        } catch (err) {
          threw = err instanceof VendorContractError;
        }
        return threw !== documented;
      }),
    );
  });

  it('keeps the received word in the sample, cut short', () => {
    const long = 'x'.repeat(500);
    try {
      mapHttpStatus('http', long);
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof VendorContractError);
      assert.ok(err.sample.startsWith('"xxx'));
      assert.ok(err.sample.length <= 100);
    }
  });
});

describe('httpPolicy', () => {
  it('has the contract defaults', () => {
    assert.deepEqual(httpPolicy(), {
      maxBatchSize: 1,
      requestsPerSecond: 50,
      concurrency: 8,
      maxConcurrency: 512,
      expectedDurationMs: 3 * DAY,
      noProgressMs: 3 * DAY,
      minCheckIntervalMs: 5 * MINUTE,
      maxCheckIntervalMs: 6 * HOUR,
      maxSubmitAttempts: 5,
      timeoutMs: 10 * SECOND,
    });
  });

  it('lets overrides replace single fields and ignores undefined ones', () => {
    const p = httpPolicy({ requestsPerSecond: 5, timeoutMs: 250, concurrency: undefined });
    assert.equal(p.requestsPerSecond, 5);
    assert.equal(p.timeoutMs, 250);
    assert.equal(p.concurrency, HTTP_POLICY_DEFAULTS.concurrency);
    assert.equal(p.maxBatchSize, 1);
  });
});
