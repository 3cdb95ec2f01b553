/**
 * A vendor's quota of subjects (users) per calendar month: Segment's regulations "are limited to 110,000 users
 * every calendar month" (segment-docs user-deletion-and-suppression.md, from PR #7685). The same page speaks of
 * "110,000 … over a 30 day period" for what support can raise, and of the 30-day SLA; the limit itself is stated
 * per calendar month and the workspace's usage tracker counts per month, so the window is the calendar month.
 * Segment does not say in which time zone its month turns: UTC is used (unconfirmed).
 *
 * Pure: the count of subjects already sent in the window comes from our own record (the `submitted` events).
 */

/** The calendar month (UTC) holding `now`, and when the next one begins. */
export interface QuotaWindow {
  start: Date;
  resetsAt: Date;
  /** `YYYY-MM`. */
  label: string;
}

export function calendarMonthWindow(now: Date): QuotaWindow {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const start = new Date(Date.UTC(y, m, 1));
  return { start, resetsAt: new Date(Date.UTC(y, m + 1, 1)), label: start.toISOString().slice(0, 7) };
}

/** `ok` below the alert share, `low` at or above it, `exhausted` with nothing left. */
export type QuotaLevel = 'ok' | 'low' | 'exhausted';

export interface QuotaReading {
  quota: number;
  used: number;
  remaining: number;
  level: QuotaLevel;
  /** The share of the quota at which the alert is raised (0.8: at 80 %). */
  alertShare: number;
  window: QuotaWindow;
}

export function readQuota(args: { quota: number; used: number; alertShare: number; now: Date }): QuotaReading {
  const { quota, alertShare } = args;
  const used = Math.max(0, args.used);
  const remaining = Math.max(0, quota - used);
  const level: QuotaLevel = remaining === 0 ? 'exhausted' : used >= quota * alertShare ? 'low' : 'ok';
  return { quota, used, remaining, level, alertShare, window: calendarMonthWindow(args.now) };
}

/** How many of `wanted` subjects may be sent now. */
export function grantable(reading: Pick<QuotaReading, 'remaining'>, wanted: number): number {
  return Math.max(0, Math.min(wanted, reading.remaining));
}

const n = (v: number) => v.toLocaleString('en-US');

/** The quota as an operator reads it in an alert or on a waiting deletion: used, left, and when it resets. */
export function describeQuota(vendor: string, r: QuotaReading): string {
  const head = `${vendor}: ${n(r.used)} of ${n(r.quota)} subjects sent in ${r.window.label} (calendar month, UTC)`;
  const left = r.remaining === 0 ? 'none left: deletions wait, none fails' : `${n(r.remaining)} left (alert at ${Math.round(r.alertShare * 100)} %)`;
  return `${head}; ${left}; the quota resets at ${r.window.resetsAt.toISOString()}`;
}
