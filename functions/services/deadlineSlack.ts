import { DAY } from '../clock.js';
import { forecastSlack, type ForecastBasis } from '../domain/slackForecast.js';
import { isVendorKind } from '../domain/vendorKinds.js';
import type { Queryable } from '../store/pool.js';
import { recentCompletionDurations } from '../store/recentCompletionDurations.js';
import { policyOf } from '../vendors/registry.js';

/** Recent completions per vendor the forecast's p90 is taken over (the alert scan uses the same window). */
export const HISTORY_WINDOW = 500;

/** What the forecast needs of one vendor deletion. */
export interface SlackSubject {
  vendor: string;
  state: string;
  submittedAt: Date | null;
  queuedAt: Date;
  expectedBy: Date | null;
  /** Set when `expectedBy` is the vendor's own date: the field it came from. */
  expectedSource: string | null;
  /** The deadline in force. */
  deadlineAt: Date;
}

/** The slack of one open deletion, as `status` and `report` show it. */
export interface DeletionSlack {
  expectedAt: Date;
  basis: ForecastBasis;
  source: string;
  /** Deadline minus expected completion, in days (one decimal); negative: expected late. */
  slackDays: number;
  atRisk: boolean;
}

const OPEN = new Set(['queued', 'submitted', 'in_progress']);

/**
 * Forecasts for `status` and `report`, by the same rules as the deadline_at_risk alert (domain/slackForecast.ts):
 * the vendor's own date, else the p90 of its recent completions, else its documented figure, else its
 * configured expected duration. Reads each vendor's history once.
 */
export async function createSlackForecaster(
  db: Queryable,
  args: { policies: ReadonlyArray<{ vendor: string; expectedDurationMs: number }>; riskMarginMs: number },
): Promise<{ of(row: SlackSubject, now: Date): DeletionSlack | null }> {
  const history = await recentCompletionDurations(db, args.policies.map((p) => p.vendor), HISTORY_WINDOW);
  const configured = new Map(args.policies.map((p) => [p.vendor, p.expectedDurationMs]));
  return {
    of(row, now) {
      // A command that reads only the database (status, report) may run without the vendors' settings: a vendor
      // it was not given is forecast with its adapter's documented policy.
      const configuredDurationMs =
        configured.get(row.vendor) ?? (isVendorKind(row.vendor) ? policyOf({ name: row.vendor, policy: {} }).expectedDurationMs : undefined);
      if (!OPEN.has(row.state) || configuredDurationMs === undefined) return null;
      const f = forecastSlack({
        vendor: isVendorKind(row.vendor) ? row.vendor : 'http',
        vendorName: row.vendor,
        submittedAt: row.submittedAt ?? row.queuedAt,
        vendorDate: row.expectedSource && row.expectedBy ? { at: row.expectedBy, field: row.expectedSource } : null,
        observedDurationsMs: history.get(row.vendor) ?? [],
        configuredDurationMs,
        deadlineAt: row.deadlineAt,
        riskMarginMs: args.riskMarginMs,
        now,
      });
      return { expectedAt: f.expectedAt, basis: f.basis, source: f.source, slackDays: Math.round((f.slackMs / DAY) * 10) / 10, atRisk: f.atRisk };
    },
  };
}
