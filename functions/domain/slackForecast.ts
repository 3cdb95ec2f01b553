import { z } from 'zod';
import { DAY } from '../clock.js';
import { InvalidInputError } from '../errors.js';
import { VENDOR_KINDS, type VendorKind } from './vendorKinds.js';
import { DOCUMENTED_DURATIONS } from './vendorDurations.js';

/**
 * When a vendor deletion is expected to finish, and how that compares with its request's legal
 * deadline. The expected date comes, in this order, from:
 * 1. the vendor's own date (OpenDSR `expected_completion_time`, Amplitude's job `day` + 5 days, …);
 * 2. our own history of that vendor: the 90th percentile of completed deletions' durations, once there
 *    are MIN_HISTORY_SAMPLES of them;
 * 3. the vendor's documented figure (vendorDurations.ts);
 * 4. the operator's configured expected duration.
 * A deletion still open after its expected date is expected no earlier than now.
 */

/**
 * Observed durations needed before history replaces the documented figure. With 20, the nearest-rank
 * 90th percentile is the 18th smallest value: two slow outliers sit above it, so one cannot set it.
 */
export const MIN_HISTORY_SAMPLES = 20;
export const FORECAST_PERCENTILE = 0.9;
/** Default margin before the deadline inside which an expected completion counts as at risk. */
export const DEFAULT_RISK_MARGIN_MS = 3 * DAY;

export const FORECAST_BASES = ['vendor_date', 'observed_p90', 'documented', 'configured'] as const;
export type ForecastBasis = (typeof FORECAST_BASES)[number];

export function isForecastBasis(v: unknown): v is ForecastBasis {
  return typeof v === 'string' && (FORECAST_BASES as readonly string[]).includes(v);
}

const Instant = z.date({ error: 'must be a valid date' });

export const ForecastInputSchema = z
  .object({
    vendor: z.enum(VENDOR_KINDS),
    /** The configured vendor name, for messages (several configured vendors may share one kind). */
    vendorName: z.string().min(1).optional(),
    submittedAt: Instant,
    /** The vendor's own expected completion, with the field it came from. */
    vendorDate: z.object({ at: Instant, field: z.string().min(1) }).nullish(),
    /** Submission-to-completion durations of this vendor's completed deletions, in ms. */
    observedDurationsMs: z.array(z.number().finite().nonnegative()).default([]),
    /** The operator's expected duration for this vendor (VendorPolicy.expectedDurationMs). */
    configuredDurationMs: z.number().finite().positive(),
    /** The request's deadline in force (the extended one once extended). */
    deadlineAt: Instant,
    riskMarginMs: z.number().finite().nonnegative().default(DEFAULT_RISK_MARGIN_MS),
    now: Instant,
  })
  .strict();
export type ForecastInput = z.input<typeof ForecastInputSchema>;

export interface SlackForecast {
  /** When the deletion is expected to complete (never before `now` while it is open). */
  expectedAt: Date;
  basis: ForecastBasis;
  /** Where the expected date comes from, in words an operator can check. */
  source: string;
  /** The vendor's date passed without completion, so `now` stands in for it. */
  overdue: boolean;
  deadlineAt: Date;
  /** Deadline minus expected completion; negative means expected late. */
  slackMs: number;
  /** Expected completion falls after the deadline minus the margin: raise deadline_at_risk. */
  atRisk: boolean;
}

/** Nearest-rank percentile of a non-empty list (`p` in (0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!(p > 0 && p <= 1)) throw new RangeError(`percentile must be in (0, 1], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(p * sorted.length) - 1] as number;
}

const days = (ms: number) => `${(ms / DAY).toFixed(1).replace(/\.0$/, '')} days`;

/** How long a vendor is expected to take when it gives no date of its own, and why. */
export interface ExpectedDuration {
  durationMs: number;
  basis: Exclude<ForecastBasis, 'vendor_date'>;
  source: string;
}

/**
 * A vendor's expected duration from submission to completion without a date of its own: the p90 of our
 * history once there are MIN_HISTORY_SAMPLES completions, else its documented figure, else the configured one.
 */
export function expectedDuration(args: {
  vendor: VendorKind;
  vendorName?: string | undefined;
  observedDurationsMs: readonly number[];
  configuredDurationMs: number;
}): ExpectedDuration {
  const name = args.vendorName ?? args.vendor;
  const samples = args.observedDurationsMs.length;
  if (samples >= MIN_HISTORY_SAMPLES) {
    const p90 = percentile(args.observedDurationsMs, FORECAST_PERCENTILE);
    return { durationMs: p90, basis: 'observed_p90', source: `p90 of ${samples} completed ${name} deletions (${days(p90)}) after submission` };
  }
  const documented = DOCUMENTED_DURATIONS[args.vendor];
  const history = samples > 0 ? `; ${samples} of ${MIN_HISTORY_SAMPLES} observed completions needed before history is used` : '';
  if (documented) {
    return { durationMs: documented.upToMs, basis: 'documented', source: `${name}'s documented ${documented.statement} (${documented.source})${history}` };
  }
  return {
    durationMs: args.configuredDurationMs,
    basis: 'configured',
    source: `configured expected duration for ${name} (${days(args.configuredDurationMs)}); the vendor documents none${history}`,
  };
}

function expectation(input: z.output<typeof ForecastInputSchema>): { at: Date; basis: ForecastBasis; source: string } {
  const name = input.vendorName ?? input.vendor;
  if (input.vendorDate) {
    return { at: input.vendorDate.at, basis: 'vendor_date', source: `${name}'s own date (${input.vendorDate.field})` };
  }
  const d = expectedDuration(input);
  return { at: new Date(input.submittedAt.getTime() + d.durationMs), basis: d.basis, source: d.source };
}

/** The slack of one open vendor deletion against its request's deadline. */
export function forecastSlack(raw: ForecastInput): SlackForecast {
  const parsed = ForecastInputSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid slack forecast input: ${problems}`);
  }
  const input = parsed.data;
  const expected = expectation(input);
  const overdue = expected.at.getTime() < input.now.getTime();
  const expectedAt = overdue ? input.now : expected.at;
  const slackMs = input.deadlineAt.getTime() - expectedAt.getTime();
  return {
    expectedAt,
    basis: expected.basis,
    source: overdue ? `${expected.source}, passed without completion on ${expected.at.toISOString()}` : expected.source,
    overdue,
    deadlineAt: input.deadlineAt,
    slackMs,
    atRisk: slackMs < input.riskMarginMs,
  };
}
