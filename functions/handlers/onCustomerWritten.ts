import type { CloudEvent } from '@google-cloud/functions-framework';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError, PermanentError, TransientError } from '../errors.js';
import { decodeFirestoreEvent } from '../events/firestore.js';
import { createIngest } from '../services/ingestWrite.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';

export interface OnCustomerWrittenDeps {
  config: Config;
  pool: pg.Pool;
  vendors: DeletionVendor[];
  log: Logger;
  clock: Clock;
}

/**
 * The `onCustomerWritten` CloudEvent function (Firestore `document.v1.written` on customers/{customerId}):
 * decode → record the revocation → submit at once to vendors taking one subject per call.
 * Bad input is logged at WARNING and acknowledged; a vendor fault is recorded on the deletion (it stays
 * queued for the poller) and acknowledged; a database fault is thrown so the platform retries.
 */
export function createOnCustomerWritten(deps: OnCustomerWrittenDeps): (event: CloudEvent<unknown>) => Promise<void> {
  const { log } = deps;
  const { ingest } = createIngest(deps);

  return async function onCustomerWritten(event) {
    const ceId = typeof event?.id === 'string' ? event.id : undefined;
    try {
      await ingest(decodeFirestoreEvent(event));
    } catch (err) {
      if (err instanceof InvalidInputError) {
        log.warn({ event: 'invalid_firestore_event', ceId, reason: err.reason }, 'Firestore event rejected; acknowledged, nothing written');
        return;
      }
      if (err instanceof PermanentError) {
        // The database refused the statement for this input (a constraint): retrying cannot help.
        log.error({ event: 'firestore_event_unrecordable', ceId, err }, 'Firestore event could not be recorded; acknowledged');
        return;
      }
      log.error({ event: 'firestore_event_retry', ceId, err }, 'Firestore event failed; the platform will retry');
      throw err instanceof TransientError ? err : new TransientError('onCustomerWritten failed', { cause: err });
    }
  };
}
