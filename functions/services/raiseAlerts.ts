import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Publisher } from './publisher.js';
import { MAX_ALERT_ITEMS, type AlertKind, type AlertMessage } from '../alerts/AlertMessage.js';
import { capText } from '../text.js';
import { inClientTransaction } from '../store/pool.js';
import { recordAlert, type NewAlert } from '../store/recordAlert.js';
import { unpublishedAlerts } from '../store/unpublishedAlerts.js';
import { markAlertPublished } from '../store/markAlertPublished.js';
import { readIncidentDeletions } from '../store/readIncidentDeletions.js';
import { evaluateDeletionAlerts, type AlertPolicy } from '../store/evaluateDeletionAlerts.js';
import { dueDeletionAlerts, type DueDeletionAlert } from '../store/dueDeletionAlerts.js';
import { markDeletionAlertsRaised } from '../store/markDeletionAlertsRaised.js';
import { readOpenVendorIncidents } from '../store/readOpenVendorIncidents.js';
import { markVendorIncidentRaised } from '../store/markVendorIncidentRaised.js';
import { claimAlertScan, claimAlertScanForVendorDates } from '../store/claimAlertScan.js';
import { expectedDuration } from '../domain/slackForecast.js';
import { isVendorKind } from '../domain/vendorKinds.js';
import { recentCompletionDurations } from '../store/recentCompletionDurations.js';
import type { VendorForecast } from '../store/evaluateDeletionAlerts.js';
import { HISTORY_WINDOW } from './deadlineSlack.js';
import { withAlertLock } from '../store/withAlertLock.js';
import { DAY } from '../clock.js';

/** Due alert rows read per cycle; more wait for the next cycle. */
const MAX_DUE = 20_000;

export interface AlertRaiserDeps {
  pool: pg.Pool;
  publisher: Publisher;
  log: Logger;
  clock: Clock;
  config: Pick<Config, 'topics' | 'alerts' | 'deadline'>;
  /** Lateness limits per configured vendor. */
  policies: AlertPolicy[];
}

export interface RaiseResult {
  /** False when nothing was due, or another poller held the alert lock (it raises them instead). */
  ran: boolean;
  /** Whether this run scanned the unfinished deletions (on its own schedule, not every tick). */
  scanned: boolean;
  /** Alerts written by this run. */
  raised: RaisedAlert[];
  /** Ids of the alerts published by this run (this run's and earlier runs' left unpublished). */
  published: string[];
  /** Publishes that failed (those alerts stay unpublished until the next run). */
  failed: number;
}

const SUMMARY: Record<AlertKind, (n: number, vendor: string) => string> = {
  stale: (n, v) => `${n} deletion(s) at ${v} are past their expected completion time`,
  no_progress: (n, v) => `${n} deletion(s) at ${v} have shown no status change for longer than the vendor's no-progress limit`,
  failed: (n, v) => `${n} deletion(s) at ${v} failed and need a person`,
  deadline_warning: (n, v) => `${n} deletion(s) at ${v} are close to their legal deadline and not complete`,
  deadline_missed: (n, v) => `${n} deletion(s) at ${v} missed their legal deadline`,
  contract_violation: (_n, v) => `${v} answered in a shape its API contract does not allow; affected operations keep their last good state`,
  credential_rejected: (_n, v) => `${v} rejected our credential (401/403); no deletions can be submitted or checked there`,
  quota_low: (_n, v) => `${v}'s monthly quota of deletion subjects is nearly spent`,
  quota_exhausted: (_n, v) => `${v}'s monthly quota of deletion subjects is spent; its deletions wait until the quota resets`,
  mass_refusal: (_n, v) => `${v} gave the same refusal to many deletions; its submissions are held until the cause is fixed`,
  deadline_at_risk: (n, v) => `${n} deletion(s) at ${v} are expected to complete after, or too close to, their legal deadline`,
  verification_failed: (n, v) => `${n} deletion(s) at ${v} reported complete, but a lookup still finds the customer's data`,
};

/** Alerts published per run at most; more wait for the next run. */
const MAX_PUBLISH = 200;

/** Something raised by this run: an alert written with the deletions it lists, to be published by reference. */
export interface RaisedAlert {
  alertId: string;
  kind: AlertKind;
  vendor: string | null;
  escalation: number;
  totalItems: number;
  summary: string;
}

function digest(kind: AlertKind, vendor: string, rows: DueDeletionAlert[], now: Date): NewAlert {
  const sorted = [...rows].sort((a, b) => a.since.getTime() - b.since.getTime() || a.deletionId.localeCompare(b.deletionId));
  return {
    id: randomUUID(),
    kind,
    vendor,
    incidentKey: `${kind}:${vendor}`,
    escalation: Math.max(...rows.map((r) => r.escalation)),
    since: sorted[0]!.since,
    raisedAt: now,
    summary: capText(SUMMARY[kind](rows.length, vendor), 1000),
    totalItems: rows.length,
    incidentOpenedAt: null,
    items: sorted.slice(0, MAX_ALERT_ITEMS).map((r) => ({ deletionId: r.deletionId, since: r.since })),
  };
}

function raised(alert: NewAlert): RaisedAlert {
  return {
    alertId: alert.id,
    kind: alert.kind as AlertKind,
    vendor: alert.vendor,
    escalation: alert.escalation,
    totalItems: alert.totalItems,
    summary: alert.summary,
  };
}

/** Logs a raised alert; it is published (by reference) after the transaction that wrote it. */
function logRaised(deps: AlertRaiserDeps, alert: NewAlert): void {
  deps.log.warn(
    { event: 'alert_raised', alertId: alert.id, kind: alert.kind, vendor: alert.vendor, escalation: alert.escalation, totalItems: alert.totalItems },
    alert.summary,
  );
}

async function raiseDeletionAlerts(deps: AlertRaiserDeps, db: pg.PoolClient, now: Date, result: RaiseResult): Promise<void> {
  const { config } = deps;
  await evaluateDeletionAlerts(db, {
    now,
    policies: deps.policies,
    deadlineWarningMs: config.deadline.warningDays * DAY,
    forecasts: await vendorForecasts(db, deps.policies),
    riskMarginMs: config.deadline.riskMarginMs,
  });
  const due = await dueDeletionAlerts(db, { now, escalationMs: config.alerts.escalationMs, limit: MAX_DUE });
  const groups = new Map<string, DueDeletionAlert[]>();
  for (const row of due) {
    const key = `${row.kind}\u001f${row.vendor}`;
    const list = groups.get(key);
    if (list) list.push(row);
    else groups.set(key, [row]);
  }
  for (const rows of groups.values()) {
    const first = rows[0]!;
    const alert = digest(first.kind, first.vendor, rows, now);
    // The alert, its deletions and the raised marks (with their alert_raised events) commit together.
    const marked = await inClientTransaction(db, async () => {
      const n = await markDeletionAlertsRaised(db, {
        now,
        items: rows.map((r) => ({ deletionId: r.deletionId, kind: r.kind, escalation: r.escalation, alertId: alert.id })),
      });
      if (n > 0) await recordAlert(db, alert);
      return n > 0;
    });
    if (!marked) continue;
    logRaised(deps, alert);
    result.raised.push(raised(alert));
  }
}

async function raiseVendorIncidents(deps: AlertRaiserDeps, db: pg.PoolClient, now: Date, result: RaiseResult): Promise<void> {
  const { config } = deps;
  const incidents = await readOpenVendorIncidents(db);
  for (const incident of incidents) {
    const due = incident.raisedAt === null || incident.raisedAt.getTime() + config.alerts.escalationMs <= now.getTime();
    if (!due) continue;
    const deletions = await readIncidentDeletions(db, { vendor: incident.vendor, kind: incident.kind, openedAt: incident.openedAt, limit: MAX_ALERT_ITEMS });
    const alert: NewAlert = {
      id: randomUUID(),
      kind: incident.kind,
      vendor: incident.vendor,
      incidentKey: `${incident.kind}:${incident.vendor}:${incident.openedAt.toISOString()}`,
      escalation: incident.escalation,
      since: incident.openedAt,
      raisedAt: now,
      summary: capText(SUMMARY[incident.kind](deletions.total, incident.vendor), 1000),
      totalItems: deletions.total,
      incidentOpenedAt: incident.openedAt,
      detail: `${incident.detail} (last seen ${incident.lastSeenAt.toISOString()})`,
      items: deletions.items.map((d) => ({ deletionId: d.deletionId, since: d.seenAt, call: d.call })),
    };
    const marked = await inClientTransaction(db, async () => {
      const mine = await markVendorIncidentRaised(db, { now, vendor: incident.vendor, kind: incident.kind, escalation: incident.escalation, alertId: alert.id });
      if (mine) await recordAlert(db, alert);
      return mine;
    });
    if (!marked) continue;
    logRaised(deps, alert);
    result.raised.push(raised(alert));
  }
}

/**
 * Publishes every alert written and not yet published (this run's, and any an earlier run wrote but could not
 * publish) as `{alertId}`. One that fails stays unpublished for the next run; a crash between publishing and
 * marking publishes the same id again, which sendAlert sends once.
 */
async function publishPending(deps: AlertRaiserDeps, db: pg.PoolClient, result: RaiseResult): Promise<void> {
  const { publisher, log, config, clock } = deps;
  for (const { id, kind } of await unpublishedAlerts(db, { limit: MAX_PUBLISH })) {
    const message: AlertMessage = { alertId: id };
    try {
      await publisher.publish(config.topics.alerts, message);
    } catch (err) {
      log.error({ event: 'alert_publish_failed', err, alertId: id, kind }, 'could not publish an alert; it is published again by the next alert run');
      result.failed += 1;
      continue;
    }
    await markAlertPublished(db, { id, now: clock.now() });
    result.published.push(id);
  }
}

/**
 * Raises what is due: per-deletion conditions (stale, no progress, failed, deadline warning and missed)
 * as one digest per kind and vendor, and vendor incidents (contract violation, credential rejected) as
 * one alert each, listing the deletions whose calls met it. Each is raised once, then again every
 * `config.alerts.escalationMs` while it lasts, and stops when resolved. An alert is written to the database
 * (with a random id, its deletions and the raised marks, in one transaction) and then published to
 * `config.topics.alerts` as `{alertId}` only: sendAlert reads everything else back from the database.
 *
 * The per-deletion conditions are found by a scan of every unfinished deletion, which runs at most once
 * per `config.alerts.scanIntervalMs` across all pollers (its conditions are measured in hours and days);
 * vendor incidents are raised on any call where the caller knows one is open.
 */
/**
 * Each vendor's expected duration where it gives no date of its own: the p90 of its recent completions once
 * there are enough, else its documented figure, else its configured one (domain/slackForecast.ts).
 */
export async function vendorForecasts(db: pg.PoolClient | pg.Pool, policies: readonly AlertPolicy[]): Promise<VendorForecast[]> {
  const history = await recentCompletionDurations(db, policies.map((p) => p.vendor), HISTORY_WINDOW);
  return policies.map((p) => {
    const d = expectedDuration({
      vendor: isVendorKind(p.vendor) ? p.vendor : 'http',
      vendorName: p.vendor,
      observedDurationsMs: history.get(p.vendor) ?? [],
      configuredDurationMs: p.expectedDurationMs,
    });
    return { vendor: p.vendor, durationMs: d.durationMs, source: d.source };
  });
}

export function createAlertRaiser(deps: AlertRaiserDeps): { raise(options?: { incidentsOpen?: boolean; scanNow?: boolean }): Promise<RaiseResult> } {
  const { pool, log, clock, config } = deps;
  const scanIntervalMs = config.alerts.scanIntervalMs;

  return {
    async raise(options = {}) {
      const result: RaiseResult = { ran: false, scanned: false, raised: [], published: [], failed: 0 };
      const now = clock.now();
      // A verification that found data (scanNow) or a vendor date that changed since the last scan is
      // raised at once, not at the next scheduled scan.
      const scanDue =
        (await claimAlertScan(pool, { now, intervalMs: scanIntervalMs })) ||
        options.scanNow === true ||
        (await claimAlertScanForVendorDates(pool, { now, intervalMs: scanIntervalMs }));
      if (!scanDue && !options.incidentsOpen) return result;
      const locked = await withAlertLock(pool, async (db) => {
        result.ran = true;
        if (scanDue) {
          result.scanned = true;
          await raiseDeletionAlerts(deps, db, now, result);
        }
        await raiseVendorIncidents(deps, db, now, result);
        await publishPending(deps, db, result);
      });
      if (!locked.locked) log.debug({ event: 'alerts_skipped' }, 'another poller is raising alerts');
      return result;
    },
  };
}
