import assert from 'node:assert/strict';
import { DAY, HOUR } from '../../../functions/clock.js';
import { InvalidInputError } from '../../../functions/errors.js';
import { deadlineFor } from '../../../functions/domain/legalDeadline.js';
import {
  DEFAULT_RISK_MARGIN_MS,
  FORECAST_BASES,
  MIN_HISTORY_SAMPLES,
  forecastSlack,
  isForecastBasis,
  percentile,
  type ForecastInput,
} from '../../../functions/domain/slackForecast.js';
import { DOCUMENTED_DURATIONS, amplitudeExpectedCompletion } from '../../../functions/domain/vendorDurations.js';
import { VENDOR_KINDS } from '../../../functions/vendors/DeletionVendor.js';

const submittedAt = new Date('2026-03-02T10:00:00Z');
const deadlineAt = new Date('2026-04-01T00:00:00Z'); // 29 days 14 hours after submission

function input(over: Partial<ForecastInput> = {}): ForecastInput {
  return { vendor: 'segment', submittedAt, configuredDurationMs: 30 * DAY, deadlineAt, now: submittedAt, ...over };
}

describe('slack forecast', () => {
  it('uses the vendor date first: a date past the deadline is at risk the moment it is known', () => {
    const f = forecastSlack(
      input({ vendor: 'mparticle', vendorDate: { at: new Date('2026-04-05T00:00:00Z'), field: 'expected_completion_time' } }),
    );
    assert.equal(f.basis, 'vendor_date');
    assert.equal(f.expectedAt.toISOString(), '2026-04-05T00:00:00.000Z');
    assert.equal(f.slackMs, -4 * DAY);
    assert.equal(f.atRisk, true);
    assert.match(f.source, /mparticle's own date \(expected_completion_time\)/);
  });

  it('is not at risk while the vendor date leaves more than the margin', () => {
    const f = forecastSlack(input({ vendor: 'mparticle', vendorDate: { at: new Date('2026-03-20T00:00:00Z'), field: 'expected_completion_time' } }));
    assert.equal(f.slackMs, 12 * DAY);
    assert.equal(f.atRisk, false);
  });

  it('draws the line exactly at deadline minus margin', () => {
    const edge = new Date(deadlineAt.getTime() - DEFAULT_RISK_MARGIN_MS);
    const on = forecastSlack(input({ vendorDate: { at: edge, field: 'x' } }));
    const after = forecastSlack(input({ vendorDate: { at: new Date(edge.getTime() + 1), field: 'x' } }));
    assert.equal(on.atRisk, false);
    assert.equal(after.atRisk, true);
    assert.equal(forecastSlack(input({ vendorDate: { at: edge, field: 'x' }, riskMarginMs: 0 })).atRisk, false);
    assert.equal(forecastSlack(input({ vendorDate: { at: edge, field: 'x' }, riskMarginMs: 4 * DAY })).atRisk, true);
  });

  it('reads Amplitude’s job day + 5 days, or the scrub date + 5 once the scrub ran', () => {
    assert.equal(amplitudeExpectedCompletion('2026-03-14').toISOString(), '2026-03-19T00:00:00.000Z');
    assert.equal(amplitudeExpectedCompletion('2026-03-14', '2026-03-16').toISOString(), '2026-03-21T00:00:00.000Z');
    assert.throws(() => amplitudeExpectedCompletion('14/03/2026'), RangeError);
    const f = forecastSlack(input({ vendor: 'amplitude', vendorDate: { at: amplitudeExpectedCompletion('2026-03-28'), field: 'day 2026-03-28 + 5 days' } }));
    assert.equal(f.expectedAt.toISOString(), '2026-04-02T00:00:00.000Z');
    assert.equal(f.atRisk, true);
    assert.match(f.source, /day 2026-03-28 \+ 5 days/);
  });

  it('uses the documented figure until there are enough observed completions, and says how many are missing', () => {
    const few = Array.from({ length: MIN_HISTORY_SAMPLES - 1 }, () => 2 * DAY);
    const f = forecastSlack(input({ observedDurationsMs: few }));
    assert.equal(f.basis, 'documented');
    assert.equal(f.expectedAt.getTime(), submittedAt.getTime() + 30 * DAY);
    assert.equal(f.atRisk, true); // Segment's 30-day SLA ends after this deadline
    assert.match(f.source, /30-day SLA/);
    assert.match(f.source, /19 of 20 observed completions/);
  });

  it('switches to the observed p90 at MIN_HISTORY_SAMPLES completions', () => {
    const durations = Array.from({ length: MIN_HISTORY_SAMPLES }, (_, i) => (i + 1) * DAY); // 1..20 days, shuffled below
    durations.reverse();
    const f = forecastSlack(input({ observedDurationsMs: durations }));
    assert.equal(f.basis, 'observed_p90');
    assert.equal(f.expectedAt.getTime(), submittedAt.getTime() + 18 * DAY);
    assert.equal(f.atRisk, false);
    assert.match(f.source, /p90 of 20 completed segment deletions \(18 days\)/);
  });

  it('falls back to the configured duration for vendors that document none', () => {
    for (const vendor of ['appsflyer', 'http'] as const) {
      const f = forecastSlack(input({ vendor, vendorName: `${vendor}-eu`, configuredDurationMs: 10 * DAY }));
      assert.equal(f.basis, 'configured');
      assert.equal(f.expectedAt.getTime(), submittedAt.getTime() + 10 * DAY);
      assert.match(f.source, new RegExp(`configured expected duration for ${vendor}-eu \\(10 days\\)`));
    }
  });

  it('expects an open deletion no earlier than now once its expected date has passed', () => {
    const now = new Date('2026-03-30T00:00:00Z');
    const f = forecastSlack(input({ vendor: 'mparticle', vendorDate: { at: new Date('2026-03-23T00:00:00Z'), field: 'expected_completion_time' }, now }));
    assert.equal(f.overdue, true);
    assert.equal(f.expectedAt.toISOString(), now.toISOString());
    assert.equal(f.slackMs, 2 * DAY);
    assert.equal(f.atRisk, true);
    assert.match(f.source, /passed without completion on 2026-03-23/);
  });

  it('measures slack against a legal deadline from the regime table', () => {
    const receivedAt = new Date('2026-01-31T10:00:00Z');
    const legal = deadlineFor('gdpr', receivedAt); // expires 2026-03-02T22:00Z
    const f = forecastSlack(
      input({ vendor: 'segment', submittedAt: receivedAt, now: receivedAt, deadlineAt: legal.expiresAt, riskMarginMs: 12 * HOUR }),
    );
    assert.equal(f.expectedAt.toISOString(), '2026-03-02T10:00:00.000Z');
    assert.equal(f.slackMs, 12 * HOUR);
    assert.equal(f.atRisk, false);
  });

  it('names what is wrong with its input', () => {
    assert.throws(() => forecastSlack(input({ observedDurationsMs: [DAY, -1] })), (e: Error) => e instanceof InvalidInputError && /observedDurationsMs\.1/.test(e.message));
    assert.throws(() => forecastSlack(input({ vendor: 'braze' as never })), /vendor:/);
    assert.throws(() => forecastSlack(input({ deadlineAt: new Date('x') })), /deadlineAt: must be a valid date/);
    assert.throws(() => forecastSlack(input({ configuredDurationMs: 0 })), /configuredDurationMs/);
  });
});

describe('percentile (nearest rank)', () => {
  it('picks the ceil(p·n)th smallest value', () => {
    assert.equal(percentile([5], 0.9), 5);
    assert.equal(percentile([3, 1, 2], 0.9), 3);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
    assert.equal(percentile([10, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.5), 5);
  });
  it('refuses an empty list or a bad p', () => {
    assert.throws(() => percentile([], 0.9), RangeError);
    assert.throws(() => percentile([1], 0), RangeError);
    assert.throws(() => percentile([1], 1.5), RangeError);
  });
});

describe('documented durations', () => {
  it('covers every vendor kind, with a source wherever there is a figure', () => {
    for (const kind of VENDOR_KINDS) {
      const d = DOCUMENTED_DURATIONS[kind];
      if (d) {
        assert.ok(d.upToMs > 0 && d.source.length > 0, kind);
      }
    }
    assert.equal(DOCUMENTED_DURATIONS.mparticle?.upToMs, 21 * DAY);
    for (const b of FORECAST_BASES) assert.equal(isForecastBasis(b), true);
    assert.equal(isForecastBasis('guess'), false);
  });
});
