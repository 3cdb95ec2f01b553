import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { TransientError } from '../errors.js';
import type { Alert } from '../alerts/AlertMessage.js';
import { loadAlert } from './loadAlert.js';
import { AlertRejectedError, type AlertSender, type OutgoingEmail } from '../alerts/AlertSender.js';
import { renderAlert } from '../alerts/renderAlert.js';
import { inTransaction } from '../store/pool.js';
import { claimAlertDelivery } from '../store/claimAlertDelivery.js';
import { readAlertDelivery } from '../store/readAlertDelivery.js';
import { markAlertSent } from '../store/markAlertSent.js';
import { markAlertRejected } from '../store/markAlertRejected.js';
import { releaseAlertDelivery } from '../store/releaseAlertDelivery.js';
import { recordAlertSentEvents } from '../store/recordAlertSentEvents.js';

export interface DeliverAlertDeps {
  pool: pg.Pool;
  sender: AlertSender;
  log: Logger;
  clock: Clock;
  from: string;
  to: string[];
  /** How long a delivery may hold an alert while it sends; a crashed delivery's claim lapses after it. */
  leaseMs?: number;
  /**
   * How long a duplicate delivery waits for the one holding the alert to finish before asking the platform
   * to retry it; near-simultaneous duplicates then acknowledge instead of failing.
   */
  inFlightWaitMs?: number;
}

/** What became of one delivery of an alert message. */
export type DeliveryOutcome =
  | { outcome: 'sent'; providerMessageId: string | undefined; attempt: number }
  | { outcome: 'rejected'; status: number; providerMessages: string[] }
  | { outcome: 'duplicate'; state: 'sent' | 'rejected' }
  /** No alert has this id: nothing is sent and nothing recorded. */
  | { outcome: 'unknown' };

/** Raised for a duplicate delivery while another one still holds the alert: retried later, it finds the outcome. */
export class AlertInFlightError extends TransientError {}

const DEFAULT_LEASE_MS = 2 * 60 * 1000;
const DEFAULT_IN_FLIGHT_WAIT_MS = 5_000;
const POLL_MS = 200;

/** The email for an alert: rendered text plus tags that lead back to it from SendGrid's activity feed. */
export function composeAlertEmail(message: Alert, from: string, to: string[]): OutgoingEmail {
  const rendered = renderAlert(message);
  return {
    from,
    to,
    ...rendered,
    categories: ['consent-erasure', `alert-${message.kind}`],
    customArgs: {
      alertId: message.alertId,
      incidentKey: message.incidentKey,
      escalation: String(message.escalation),
    },
  };
}

type Fields = { alertId: string; alertKind: Alert['kind']; vendor: Alert['vendor']; escalation: number };
const fieldsOf = (m: Alert): Fields => ({ alertId: m.alertId, alertKind: m.kind, vendor: m.vendor, escalation: m.escalation });

/**
 * Claims the alert's delivery for `owner`. While another delivery holds it, looks again every POLL_MS up
 * to `inFlightWaitMs`, then throws AlertInFlightError (a retry); an alert already sent or refused is a duplicate.
 */
async function claimDelivery(
  deps: DeliverAlertDeps,
  message: Alert,
  email: OutgoingEmail,
  owner: string,
  o: { leaseMs: number; inFlightWaitMs: number },
): Promise<{ attempt: number } | { duplicate: 'sent' | 'rejected' }> {
  const { pool, log, clock } = deps;
  const fields = fieldsOf(message);
  const waitUntil = Date.now() + o.inFlightWaitMs;
  for (;;) {
    const now = clock.now();
    const attempt = await claimAlertDelivery(pool, {
      alertId: message.alertId,
      kind: message.kind,
      vendor: message.vendor,
      incidentKey: message.incidentKey,
      escalation: message.escalation,
      owner,
      now,
      leaseExpiresAt: new Date(now.getTime() + o.leaseMs),
      recipients: email.to,
      subject: email.subject,
    });
    if (attempt !== undefined) return { attempt };
    const row = await readAlertDelivery(pool, message.alertId);
    if (row && row.state !== 'sending') {
      log.info({ event: 'alert_duplicate', ...fields, state: row.state }, 'alert already handled; delivery acknowledged');
      return { duplicate: row.state };
    }
    if (Date.now() >= waitUntil) {
      log.warn({ event: 'alert_in_flight', ...fields }, 'another delivery is sending this alert; asking for a retry');
      throw new AlertInFlightError(`alert ${message.alertId} is being sent by another delivery`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Marks the alert sent and records `alert_sent` for every deletion the stored alert lists, if this delivery still holds it. */
async function recordSent(
  deps: DeliverAlertDeps,
  message: Alert,
  email: OutgoingEmail,
  owner: string,
  providerMessageId: string | undefined,
  attempt: number,
): Promise<void> {
  const { pool, log, clock } = deps;
  const fields = fieldsOf(message);
  const now = clock.now();
  const recorded = await inTransaction(pool, async (client) => {
    const mine = await markAlertSent(client, { alertId: message.alertId, owner, providerMessageId, now });
    if (!mine) return undefined;
    return recordAlertSentEvents(client, {
      alertId: message.alertId,
      providerMessageId,
      recipients: email.to,
      now,
    });
  });
  if (recorded === undefined) {
    log.warn(
      { event: 'alert_lease_lost', ...fields, attempt },
      'the alert was sent after its lease ran out; another delivery may have sent it too',
    );
  } else {
    log.info(
      { event: 'alert_sent', ...fields, attempt, providerMessageId, recipients: email.to.length, deletionsRecorded: recorded },
      'alert email sent',
    );
  }
}

/**
 * Builds the alert delivery service: read the alert with this id from the database, send its email once,
 * whatever the number of deliveries, and record `alert_sent` for every deletion it lists. An id no alert has
 * sends nothing and records nothing. Throws (so the platform retries) when the send or the database may
 * succeed later; returns when the alert is sent, refused for good, already handled or unknown.
 */
export function createDeliverAlert(deps: DeliverAlertDeps): (alertId: string) => Promise<DeliveryOutcome> {
  const { pool, sender, log, clock } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const inFlightWaitMs = deps.inFlightWaitMs ?? DEFAULT_IN_FLIGHT_WAIT_MS;

  return async function deliverAlert(alertId) {
    const message = await loadAlert(pool, alertId);
    if (!message) {
      log.warn({ event: 'alert_unknown', alertId }, 'no alert has this id: nothing sent, nothing recorded; acknowledged');
      return { outcome: 'unknown' };
    }
    const email = composeAlertEmail(message, deps.from, deps.to);
    const owner = randomUUID();
    const fields = fieldsOf(message);

    const claimed = await claimDelivery(deps, message, email, owner, { leaseMs, inFlightWaitMs });
    if ('duplicate' in claimed) return { outcome: 'duplicate', state: claimed.duplicate };
    const attempt = claimed.attempt;

    let providerMessageId: string | undefined;
    try {
      ({ messageId: providerMessageId } = await sender.send(email));
    } catch (err) {
      if (err instanceof AlertRejectedError) {
        await markAlertRejected(pool, { alertId: message.alertId, owner, error: err.message, now: clock.now() });
        log.error(
          { event: 'alert_rejected', ...fields, status: err.status, providerMessages: err.providerMessages, recipients: email.to },
          'the email provider refused the alert email; it will not be retried',
        );
        return { outcome: 'rejected', status: err.status, providerMessages: err.providerMessages };
      }
      const reason = err instanceof Error ? err.message : String(err);
      // Best effort: if the database is down too, the lease simply runs out.
      await releaseAlertDelivery(pool, { alertId: message.alertId, owner, error: reason, now: clock.now() }).catch((releaseErr: unknown) =>
        log.warn({ event: 'alert_release_failed', ...fields, err: releaseErr }, 'could not release the alert lease; it will expire'),
      );
      log.warn({ event: 'alert_send_failed', ...fields, attempt, reason }, 'sending the alert email failed; the platform will retry');
      throw err;
    }

    await recordSent(deps, message, email, owner, providerMessageId, attempt);
    return { outcome: 'sent', providerMessageId, attempt };
  };
}
