/**
 * The composition root: registers the three CloudEvent functions and the HTTP callback function with the Functions Framework and builds
 * their dependencies once per instance. Configuration is validated when the module loads, so a bad
 * deployment fails at start with every problem listed; connections open on the first event.
 */
import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { systemClock } from './clock.js';
import { loadConfig, redactConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { createSendgridSenderFromConfig } from './alerts/sendgrid/createSendgridSender.js';
import { createOnCustomerWritten } from './handlers/onCustomerWritten.js';
import { createPollDeletions } from './handlers/pollDeletions.js';
import { createReceiveDeletionCallback } from './handlers/receiveDeletionCallback.js';
import { createSendAlert } from './handlers/sendAlert.js';
import { pseudonymiserFor } from './services/pseudonymise.js';
import { createChainAnchorer } from './services/chainAnchors.js';
import { createAnchorStore } from './anchors/createAnchorStore.js';
import { createPubsubPublisher } from './services/publisher.js';
import { createPool } from './store/pool.js';
import { createVendors } from './vendors/registry.js';

type Handler = (event: CloudEvent<unknown>) => Promise<void>;

// process.env is read here and only here, and handed to the one config module.
const config: Config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, service: 'consent-erasure' });
log.info({ event: 'config_loaded', config: redactConfig(config) }, 'configuration loaded');

let pool: ReturnType<typeof createPool> | undefined;
/** One pool per instance, opened on first use; a failed open is retried by the next event. */
function getPool(): ReturnType<typeof createPool> {
  pool ??= createPool(config.database).catch((err: unknown) => {
    pool = undefined;
    throw err;
  });
  return pool;
}

/** Builds a handler on first use and keeps it for the instance's life. */
function lazy(build: () => Promise<Handler>): Handler {
  let handler: Promise<Handler> | undefined;
  return async (event) => {
    handler ??= build().catch((err: unknown) => {
      handler = undefined;
      throw err;
    });
    return (await handler)(event);
  };
}

functions.cloudEvent(
  'onCustomerWritten',
  lazy(async () => {
    const { pool } = await getPool();
    return createOnCustomerWritten({ config, pool, vendors: createVendors(config.vendors), log, clock: systemClock });
  }),
);

functions.cloudEvent(
  'pollDeletions',
  lazy(async () => {
    const { pool } = await getPool();
    const poll = createPollDeletions({
      config,
      pool,
      vendors: createVendors(config.vendors),
      publisher: createPubsubPublisher(config.projectId ? { projectId: config.projectId } : {}),
      log,
      clock: systemClock,
    });
    const retention = config.retention;
    if (!retention) log.warn({ event: 'retention_off' }, 'retention is off (RETENTION_DAYS=off, or no RETENTION_KEY outside a deployment): finished requests keep their customer ids');
    const pseudonymise = retention
      ? pseudonymiserFor({ pool, log, clock: systemClock, key: retention.key, days: retention.days, purgeDays: retention.purgeDays })
      : undefined;
    const target = config.anchors.target;
    const anchor = target
      ? createChainAnchorer({ pool, store: createAnchorStore(target, { projectId: config.projectId }), clock: systemClock, log, intervalMs: config.anchors.intervalMs })
      : undefined;
    return async (event) => {
      await poll(event);
      // Housekeeping after the cycle: a failure is logged and the next tick tries again.
      await pseudonymise?.().catch((err: unknown) =>
        log.error({ event: 'retention_failed', err }, 'pseudonymising finished requests failed; the next poll retries'),
      );
      await anchor?.().catch((err: unknown) =>
        log.error({ event: 'chain_anchor_failed', err }, 'writing the chain head outside the database failed; the next interval retries'),
      );
    };
  }),
);

functions.cloudEvent(
  'sendAlert',
  lazy(async () => {
    const sender = createSendgridSenderFromConfig(config);
    const { pool } = await getPool();
    return createSendAlert({ config, pool, sender, log, clock: systemClock });
  }),
);

functions.http(
  'receiveDeletionCallback',
  lazyHttp(async () => {
    const { pool } = await getPool();
    return createReceiveDeletionCallback({
      config,
      pool,
      publisher: createPubsubPublisher(config.projectId ? { projectId: config.projectId } : {}),
      log,
      clock: systemClock,
    });
  }),
);

/** The HTTP twin of `lazy`: a failed build answers 503 (the processor retries) and is tried again next time. */
function lazyHttp(build: () => Promise<functions.HttpFunction>): functions.HttpFunction {
  let handler: Promise<functions.HttpFunction> | undefined;
  return async (req, res) => {
    handler ??= build().catch((err: unknown) => {
      handler = undefined;
      throw err;
    });
    try {
      await (await handler)(req, res);
    } catch (err) {
      log.error({ event: 'callback_function_unavailable', err }, 'receiveDeletionCallback could not start');
      if (!res.headersSent) res.set('Retry-After', '30').status(503).json({ result: 'unavailable' });
    }
  };
}
