import type { HttpFunction } from '@google-cloud/functions-framework';
import type pg from 'pg';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { systemTrustAnchors, trustAnchorsFromPem } from '../callbacks/certificateChain.js';
import { createCertificateSource } from '../callbacks/certificateSource.js';
import { createCallbackVerifier } from '../callbacks/verifyCallback.js';
import type { Publisher } from '../services/publisher.js';
import { createReceiveCallback } from '../services/receiveCallback.js';

export interface ReceiveDeletionCallbackDeps {
  config: Config;
  pool: pg.Pool;
  publisher: Publisher;
  log: Log;
  clock: Clock;
  /** The certificate fetch; the global fetch in production. */
  fetch?: typeof fetch;
}

/** How long a processor is asked to wait before retrying when our side failed (database, Pub/Sub). */
const RETRY_AFTER_SECONDS = 30;

/**
 * The `receiveDeletionCallback` HTTP entry point, the one function reachable from outside: it hands the raw
 * request (method, headers, the body's exact bytes) to the callback service and writes its answer. Trust comes
 * from configuration: the public roots in a deployment, the local test root only in local and test mode
 * (config.ts refuses it on Cloud Run). A fault of ours is 503 with Retry-After, so the processor retries.
 */
export function createReceiveDeletionCallback(deps: ReceiveDeletionCallbackDeps): HttpFunction {
  const settings = deps.config.callbacks;
  const log = deps.log.child({ function: 'receiveDeletionCallback' });
  if (!settings) {
    // Deployed while no configured vendor sends callbacks: nothing is allow-listed, everything is refused.
    log.warn({ event: 'callbacks_off' }, 'no configured vendor sends status callbacks (CALLBACK_URL unset, or none of mparticle, appsflyer, mixpanel)');
    return (req, res) => {
      log.warn({ event: 'callback_refused', status: 403, reason: 'processor_not_allowed', detail: 'no vendor is configured to send callbacks' }, 'callback refused: callbacks are off');
      res.status(403).json({ result: 'processor_not_allowed' });
    };
  }
  const certificates = createCertificateSource({ fetch: deps.fetch ?? fetch, clock: deps.clock, allowInsecureUrls: settings.policy.allowInsecureUrls, log });
  const anchors = settings.testRootPem ? trustAnchorsFromPem(settings.testRootPem) : systemTrustAnchors();
  const receive = createReceiveCallback({
    policy: settings.policy,
    verifier: createCallbackVerifier({ policy: settings.policy, anchors, certificates, clock: deps.clock }),
    certificates,
    db: deps.pool,
    publisher: deps.publisher,
    pollTopic: deps.config.topics.poll,
    ratePerMinute: settings.ratePerMinute,
    log,
    clock: deps.clock,
  });

  return async (req, res) => {
    try {
      const answer = await receive({ method: req.method, headers: req.headers, rawBody: req.rawBody ?? Buffer.alloc(0) });
      res.set(answer.headers).status(answer.status).json({ result: answer.reason });
    } catch (err) {
      log.error({ event: 'callback_failed', err, detail: errorText(err) }, 'callback could not be stored; the processor will retry');
      res.set('Retry-After', String(RETRY_AFTER_SECONDS)).status(503).json({ result: 'unavailable' });
    }
  };
}
