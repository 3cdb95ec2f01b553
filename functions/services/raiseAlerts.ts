import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Publisher } from './publisher.js';
import { AlertMessageSchema, type AlertItem, type AlertKind, type AlertMessage } from '../alerts/AlertMessage.js';
import { evaluateDeletionAlerts, type AlertPolicy } from '../store/evaluateDeletionAlerts.js';
import { dueDeletionAlerts, type DueDeletionAlert } from '../store/dueDeletionAlerts.js';
import { markDeletionAlertsRaised } from '../store/markDeletionAlertsRaised.js';
import { readOpenVendorIncidents, type OpenVendorIncident } from '../store/readOpenVendorIncidents.js';
import { markVendorIncidentRaised } from '../store/markVendorIncidentRaised.js';
import { claimAlertScan, claimAlertScanForVendorDates } from '../store/claimAlertScan.js';
import { withAlertLock } from '../store/withAlertLock.js';
import { DAY } from '../clock.js';
import { expectedDuration } from '../domain/slackForecast.js';
import { isVendorKind } from '../domain/vendorKinds.js';
import { recentCompletionDurations } from '../store/recentCompletionDurations.js';
import { HISTORY_WINDOW } from './deadlineSlack.js';
import type { VendorForecast } from '../store/evaluateDeletionAlerts.js';

/** Items listed in one email; the rest are counted in totalItems. */
const MAX_ITEMS = 500;
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
  published: AlertMessage[];
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
  deadline_at_risk: (n, v) => `${n} deletion(s) at ${v} are expected to complete after, or too close to, their legal deadline`,
  verification_failed: (n, v) => `${n} deletion(s) at ${v} reported complete, but a lookup still finds the customer's data`,
};

/** A stable id for one digest: the same rows at the same escalation steps give the same id on a retried cycle. */
export function digestAlertId(kind: string, vendor: string, items: Array<{ deletionId: string; escalation: number }>): string {
  const h = createHash('sha256').update(`${kind}\u001f${vendor}`);
  for (const i of [...items].sort((a, b) => a.deletionId.localeCompare(b.deletionId))) h.update(`\u001f${i.deletionId}@${i.escalation}`);
  return `${kind}-${h.digest('hex').slice(0, 32)}`;
}

/** The id of one escalation step of a vendor-wide incident. */
export function incidentAlertId(incident: Pick<OpenVendorIncident, 'vendor' | 'kind' | 'openedAt' | 'escalation'>): string {
  return `${incident.kind}-${incident.vendor}-${incident.openedAt.getTime()}-${incident.escalation}`;
}

function digest(kind: AlertKind, vendor: string, rows: DueDeletionAlert[], now: Date): AlertMessage {
  const sorted = [...rows].sort((a, b) => a.since.getTime() - b.since.getTime());
  const items: AlertItem[] = sorted.slice(0, MAX_ITEMS).map((r) => ({
    deletionId: r.deletionId,
    customerId: r.customerId,
    vendor: r.vendor,
    operationId: r.operationId,
    state: r.state,
    since: r.since.toISOString(),
    deadlineAt: r.deadlineAt ? r.deadlineAt.toISOString() : null,
    ...(r.detail ? { detail: r.detail.slice(0, 500) } : {}),
  }));
  const escalation = Math.max(...rows.map((r) => r.escalation));
  return AlertMessageSchema.parse({
    alertId: digestAlertId(kind, vendor, rows),
    kind,
    vendor,
    incidentKey: `${kind}:${vendor}`,
    escalation,
    raisedAt: now.toISOString(),
    since: sorted[0]!.since.toISOString(),
    summary: SUMMARY[kind](rows.length, vendor),
    items,
    totalItems: rows.length,
  });
}

/** Publishes one alert; false (logged) when it could not, so it stays due. */
async function publish(deps: AlertRaiserDeps, message: AlertMessage): Promise<boolean> {
  const { publisher, log, config } = deps;
  try {
    await publisher.publish(config.topics.alerts, message, { alertId: message.alertId, kind: message.kind });
    log.warn(
      {
        event: 'alert_raised',
        alertId: message.alertId,
        kind: message.kind,
        vendor: message.vendor,
        escalation: message.escalation,
        totalItems: message.totalItems,
      },
      message.summary,
    );
    return true;
  } catch (err) {
    // Left unrecorded, so the next cycle publishes it again.
    log.error({ event: 'alert_publish_failed', err, alertId: message.alertId, kind: message.kind }, 'could not publish an alert; it stays due');
    return false;
  }
}

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
    const message = digest(first.kind, first.vendor, rows, now);
    if (!(await publish(deps, message))) {
      result.failed += 1;
      continue;
    }
    result.published.push(message);
    await markDeletionAlertsRaised(db, {
      now,
      items: rows.map((r) => ({ deletionId: r.deletionId, kind: r.kind, escalation: r.escalation, alertId: message.alertId })),
    });
  }
}

async function raiseVendorIncidents(deps: AlertRaiserDeps, db: pg.PoolClient, now: Date, result: RaiseResult): Promise<void> {
  const { config } = deps;
  const incidents = await readOpenVendorIncidents(db);
  for (const incident of incidents) {
    const due = incident.raisedAt === null || incident.raisedAt.getTime() + config.alerts.escalationMs <= now.getTime();
    if (!due) continue;
    const message = AlertMessageSchema.parse({
      alertId: incidentAlertId(incident),
      kind: incident.kind,
      vendor: incident.vendor,
      incidentKey: `${incident.kind}:${incident.vendor}:${incident.openedAt.toISOString()}`,
      escalation: incident.escalation,
      raisedAt: now.toISOString(),
      since: incident.openedAt.toISOString(),
      summary: SUMMARY[incident.kind](0, incident.vendor),
      detail: `${incident.detail} (last seen ${incident.lastSeenAt.toISOString()})`,
      items: [],
      totalItems: 0,
    } satisfies AlertMessage);
    if (!(await publish(deps, message))) {
      result.failed += 1;
      continue;
    }
    result.published.push(message);
    await markVendorIncidentRaised(db, {
      now,
      vendor: incident.vendor,
      kind: incident.kind,
      escalation: incident.escalation,
      alertId: message.alertId,
    });
  }
}


/**
 * Raises what is due: per-deletion conditions (stale, no progress, failed, deadline warning and missed)
 * as one digest per kind and vendor, and vendor incidents (contract violation, credential rejected) as
 * one alert each. Each is raised once, then again every `config.alerts.escalationMs` while it lasts,
 * and stops when resolved. Publishes to `config.topics.alerts` before recording, so a crash in between
 * republishes the same alertId (deduped by sendAlert) rather than losing the alert.
 *
 * The per-deletion conditions are found by a scan of every unfinished deletion, which runs at most once
 * per `config.alerts.scanIntervalMs` across all pollers (its conditions are measured in hours and days);
 * vendor incidents are raised on any call where the caller knows one is open. `scanNow` runs the scan off
 * schedule: a vendor's new completion date may put a deadline at risk, and that is said at once.
 */
export function createAlertRaiser(deps: AlertRaiserDeps): { raise(options?: { incidentsOpen?: boolean; scanNow?: boolean }): Promise<RaiseResult> } {
  const { pool, log, clock, config } = deps;
  const scanIntervalMs = config.alerts.scanIntervalMs;

  return {
    async raise(options = {}) {
      const result: RaiseResult = { ran: false, scanned: false, published: [], failed: 0 };
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
      });
      if (!locked.locked) log.debug({ event: 'alerts_skipped' }, 'another poller is raising alerts');
      return result;
    },
  };
}
