import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { blankUpdate, type ClaimedDeletion } from '../../domain/deletion.js';
import { calendarMonthWindow, describeQuota, grantable, readQuota, type QuotaReading } from '../../domain/subjectQuota.js';
import { countSubmittedSubjects } from '../../store/countSubmittedSubjects.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import type { Incidents } from './incidents.js';
import type { ResultWriter } from './results.js';

const QUOTA_KINDS = ['quota_low', 'quota_exhausted'] as const;

/** A cycle's budget of each vendor's monthly subject quota (policy.monthlySubjectQuota), like the daily one of calls. */
export interface SubjectQuotas {
  /**
   * Grants up to `wanted` subjects for one create call of `vendor`: all of them for a vendor without a monthly
   * quota. Raises (or ends) the vendor's quota incidents as the month's use crosses the alert share and the quota.
   */
  take(vendor: DeletionVendor, wanted: number): Promise<{ granted: number; reading: QuotaReading | null }>;
  /** Subjects granted but not accepted by the vendor (the create failed) go back to this cycle's budget. */
  giveBack(vendor: DeletionVendor, subjects: number): void;
  /** Rows the quota cannot take this month: they stay queued, due when it resets, the reason on each. */
  hold(rows: ClaimedDeletion[], vendor: DeletionVendor, reading: QuotaReading): Promise<void>;
  /** Ends quota incidents of a new month (they are looked at only while one is open: an idle tick stays cheap). */
  review(vendors: DeletionVendor[]): Promise<void>;
}

/**
 * The month's use is counted once per cycle and vendor from our own record (the `submitted` events since the
 * month began, one per customer accepted), then kept up to date in memory as this cycle's creates are granted.
 * Two pollers running at once may together overshoot by at most one batch each; the alert share leaves room.
 */
export function createSubjectQuotas(deps: { pool: pg.Pool; log: Logger; clock: Clock; incidents: Incidents; results: ResultWriter }): SubjectQuotas {
  const { pool, log, clock, incidents, results } = deps;
  const used = new Map<string, { month: string; used: number }>();

  async function reading(vendor: DeletionVendor, quota: number): Promise<QuotaReading> {
    const now = clock.now();
    const window = calendarMonthWindow(now);
    let known = used.get(vendor.name);
    if (!known || known.month !== window.label) {
      known = { month: window.label, used: await countSubmittedSubjects(pool, { vendor: vendor.name, since: window.start }) };
      used.set(vendor.name, known);
    }
    return readQuota({ quota, used: known.used, alertShare: vendor.policy.quotaAlertShare ?? 0.8, now });
  }

  /** Opens the incident the use calls for and ends the ones it no longer does. */
  async function follow(vendor: DeletionVendor, r: QuotaReading): Promise<void> {
    const text = describeQuota(vendor.name, r);
    if (r.level === 'ok') return incidents.close(vendor.name, QUOTA_KINDS);
    await incidents.open(vendor.name, 'quota_low', text);
    if (r.level === 'exhausted') await incidents.open(vendor.name, 'quota_exhausted', text);
    else await incidents.close(vendor.name, ['quota_exhausted']);
  }

  async function takeNow(vendor: DeletionVendor, wanted: number, quota: number) {
    const before = await reading(vendor, quota);
    const granted = grantable(before, wanted);
    used.get(vendor.name)!.used += granted;
    const after = await reading(vendor, quota);
    if (after.level !== before.level || after.level !== 'ok') await follow(vendor, after);
    return { granted, reading: after };
  }
  // Batches of one claim are submitted side by side: their grants are made one after another.
  let queue: Promise<unknown> = Promise.resolve();

  return {
    take(vendor, wanted) {
      const quota = vendor.policy.monthlySubjectQuota;
      if (!quota) return Promise.resolve({ granted: wanted, reading: null });
      const result = queue.then(() => takeNow(vendor, wanted, quota));
      queue = result.catch(() => undefined);
      return result;
    },
    giveBack(vendor, subjects) {
      const known = used.get(vendor.name);
      if (known && subjects > 0) known.used = Math.max(0, known.used - subjects);
    },
    async hold(rows, vendor, r) {
      if (rows.length === 0) return;
      const reason = describeQuota(vendor.name, r);
      log.warn(
        { event: 'vendor_quota_exhausted', vendor: vendor.name, waiting: rows.length, used: r.used, quota: r.quota, resetsAt: r.window.resetsAt.toISOString() },
        `${vendor.name}'s monthly subject quota is spent: ${rows.length} deletion(s) wait until it resets`,
      );
      const updates = rows.map((row) => blankUpdate(row.deletionId, { nextCheckAt: r.window.resetsAt, lastError: reason, lastErrorKind: 'quota_exhausted' }));
      await results.write(updates, []);
    },
    async review(vendors) {
      for (const vendor of vendors) {
        const quota = vendor.policy.monthlySubjectQuota;
        if (!quota || !incidents.openKinds(vendor.name).some((k) => (QUOTA_KINDS as readonly string[]).includes(k))) continue;
        await follow(vendor, await reading(vendor, quota));
      }
    },
  };
}
