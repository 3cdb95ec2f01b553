import type { CloudEvent } from '@google-cloud/functions-framework';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ConfigError, InvalidInputError, PermanentError } from '../errors.js';
import { AlertMessageSchema } from '../alerts/AlertMessage.js';
import type { AlertSender } from '../alerts/AlertSender.js';
import { parsePubsubMessage } from '../events/pubsub.js';
import { createDeliverAlert, type DeliverAlertDeps } from '../services/deliverAlert.js';

export interface SendAlertDeps {
  config: Config;
  pool: pg.Pool;
  sender: AlertSender;
  log: Logger;
  clock: Clock;
  /** Overrides for tests; production uses the service's defaults. */
  delivery?: Pick<DeliverAlertDeps, 'leaseMs' | 'inFlightWaitMs'>;
}

/** The sender address and recipients, or a ConfigError naming what is missing (checked once, at cold start). */
export function alertAddresses(config: Config): { from: string; to: string[] } {
  const problems: string[] = [];
  if (!config.alerts.from) problems.push('ALERT_FROM: required to send alert emails (the sender address)');
  if (config.alerts.to.length === 0) problems.push('ALERT_TO: required to send alert emails (comma-separated recipients)');
  if (problems.length > 0 || !config.alerts.from) throw new ConfigError(problems);
  return { from: config.alerts.from, to: config.alerts.to };
}

/**
 * The `sendAlert` entry point (Pub/Sub topic `deletion-alerts`): decode the reference `{alertId}`, deliver
 * that alert once (read from the database), and map the outcome to the platform's two answers. An invalid
 * message or an unknown id is logged and acknowledged; a refused email is logged at ERROR and acknowledged;
 * anything a retry may fix is thrown.
 */
export function createSendAlert(deps: SendAlertDeps): (event: CloudEvent<unknown>) => Promise<void> {
  const { from, to } = alertAddresses(deps.config);
  const log = deps.log.child({ function: 'sendAlert' });
  const deliver = createDeliverAlert({ pool: deps.pool, sender: deps.sender, log, clock: deps.clock, from, to, ...deps.delivery });

  return async function sendAlert(event) {
    let message;
    try {
      message = parsePubsubMessage(event.data, AlertMessageSchema);
    } catch (err) {
      if (err instanceof InvalidInputError) {
        log.warn({ event: 'alert_message_invalid', ceId: event.id, reason: err.reason }, 'invalid alert message acknowledged');
        return;
      }
      throw err;
    }
    try {
      await deliver(message.body.alertId);
    } catch (err) {
      if (err instanceof PermanentError) {
        log.error({ event: 'alert_delivery_failed', ceId: event.id, alertId: message.body.alertId, err }, 'alert delivery failed for good; acknowledged');
        return;
      }
      throw err;
    }
  };
}
