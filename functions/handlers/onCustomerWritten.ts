import type { CloudEvent } from '@google-cloud/functions-framework';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError, PermanentError, TransientError } from '../errors.js';
import { decodeFirestoreEvent } from '../events/firestore.js';
import { createRevocationRecorder } from '../services/recordRevocation.js';
import { createSubmitter } from '../services/submitDeletions.js';
import { createRegrantCanceller } from '../services/cancelOnRegrant.js';
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
  const { config, pool, vendors, log, clock } = deps;
  const recorder = createRevocationRecorder({ pool, log, clock, config, vendors });
  const submitter = createSubmitter({ pool, log, clock });
  const byName = new Map(vendors.map((v) => [v.name, v]));
  const canceller = config.cancelOnRegrant ? createRegrantCanceller({ pool, log, clock, vendors }) : null;

  return async function onCustomerWritten(event) {
    const ceId = typeof event?.id === 'string' ? event.id : undefined;
    try {
      const decoded = decodeFirestoreEvent(event);
      const outcome = await recorder.recordFirestoreWrite(decoded);
      if (outcome.kind === 'none') {
        log.debug({ event: 'write_ignored', ceId, customerId: outcome.customerId, reason: outcome.decision.reason }, 'not a revocation');
        return;
      }
      if (outcome.kind === 'regranted') {
        // CANCEL_ON_REGRANT: the regrant's time is the one the recorder marked the request with (the write's
        // update time, else the event's), which is how the canceller finds that request on every delivery.
        const regrantedAt = decoded.data.value?.updateTime ?? decoded.time;
        if (canceller && regrantedAt) await canceller.cancelForRegrant({ customerId: outcome.customerId, regrantedAt });
        return;
      }
      // Each vendor's deletion is leased to this call; submitting them side by side keeps one slow vendor
      // from delaying the others. Faults come back in the outcome and stay recorded on the row.
      // allSettled: every write has finished before the function returns or throws (an instance may be
      // frozen right after), and a database fault on one vendor's row still lets the others be stored.
      const settled = await Promise.allSettled(
        outcome.result.toSubmit.map(async (d) => {
          const vendor = byName.get(d.vendor);
          if (!vendor) return;
          await submitter.submit(vendor, [{ deletionId: d.deletionId, customerId: d.customerId, idempotencyKey: d.idempotencyKey, revokedAt: d.revokedAt }]);
        }),
      );
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) throw failure.reason;
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
