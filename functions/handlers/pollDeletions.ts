import type { CloudEvent } from '@google-cloud/functions-framework';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { parsePubsubMessage } from '../events/pubsub.js';
import { PollMessageSchema } from '../domain/pollMessage.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';
import type { Publisher } from '../services/publisher.js';
import { createPollCycle, type SubmitPort } from '../services/poll/pollCycle.js';
import type { Sleep } from '../services/rateLimiter.js';
import { createSubmitter } from '../services/submitDeletions.js';

export interface PollDeletionsDeps {
  config: Config;
  pool: pg.Pool;
  vendors: DeletionVendor[];
  publisher: Publisher;
  log: Logger;
  clock: Clock;
  /** Submits queued deletions; defaults to services/submitDeletions.ts over the same pool. */
  submitter?: SubmitPort;
  sleep?: Sleep;
}

/**
 * The `pollDeletions` CloudEvent handler (Pub/Sub `deletion-poll`): decodes and validates the message,
 * runs one poll cycle. An invalid message is logged at WARNING with what was wrong and acknowledged;
 * a database fault is thrown so the platform retries.
 */
export function createPollDeletions(deps: PollDeletionsDeps): (event: CloudEvent<unknown>) => Promise<void> {
  const cycle = createPollCycle({
    pool: deps.pool,
    vendors: deps.vendors,
    publisher: deps.publisher,
    log: deps.log,
    clock: deps.clock,
    config: deps.config,
    submitter: deps.submitter ?? createSubmitter({ pool: deps.pool, log: deps.log, clock: deps.clock }),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return async (event) => {
    const log = deps.log.child({ eventId: event.id });
    try {
      const { body, messageId } = parsePubsubMessage(event.data, PollMessageSchema);
      log.info({ event: 'poll_received', messageId, reason: body.reason, continuation: body.continuation }, 'poll message received');
      await cycle.run(body);
    } catch (err) {
      if (err instanceof InvalidInputError) {
        log.warn({ event: 'poll_message_invalid', reason: err.reason }, `poll message ignored: ${err.reason}`);
        return;
      }
      log.error({ event: 'poll_failed', err }, 'poll cycle failed; the platform will retry');
      throw err;
    }
  };
}
