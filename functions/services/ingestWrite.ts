import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { vendorRegulationOf } from '../domain/regulation.js';
import { regimeOfWrite } from '../domain/requestRegime.js';
import { decideRevocation, type RevocationDecision } from '../domain/revocation.js';
import { reservedCustomerIdProblem } from '../domain/customerId.js';
import { InvalidInputError } from '../errors.js';
import { customerIdOfPath, documentPathOf, type FirestoreEvent } from '../events/firestore.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';
import { createRegrantCanceller } from './cancelOnRegrant.js';
import { createRevocationRecorder, type RevocationResult } from './recordRevocation.js';
import { createSubmitter } from './submitDeletions.js';
import { heldVendors, holdKeysOf } from './vendorHolds.js';

/** What a Firestore write meant and what was recorded for it. */
export type WriteOutcome =
  | { kind: 'revoked'; customerId: string; decision: RevocationDecision; result: RevocationResult }
  | { kind: 'regranted'; customerId: string; decision: RevocationDecision; regrantedAt: string; requestId: string | null }
  | { kind: 'none'; customerId: string; decision: RevocationDecision };

export interface IngestDeps {
  config: Pick<Config, 'deadline' | 'consentField' | 'customersCollection' | 'cancelOnRegrant' | 'regime'> & Partial<Pick<Config, 'vendors' | 'failures'>>;
  pool: pg.Pool;
  vendors: DeletionVendor[];
  log: Logger;
  clock: Clock;
}

/**
 * The ingest of one customer write: applies the revocation rule, records a revocation (and submits at once
 * to the vendors taking one subject per call) or a regrant (and, with CANCEL_ON_REGRANT, cancels what has
 * not started). Vendor faults are recorded on the rows; database faults and bad input are thrown.
 */
export function createIngest(deps: IngestDeps): { ingest(event: FirestoreEvent): Promise<WriteOutcome> } {
  const { config, pool, vendors, log, clock } = deps;
  const recorder = createRevocationRecorder({ pool, log, clock, config, vendors });
  const submitter = createSubmitter({ pool, log, clock });
  const byName = new Map(vendors.map((v) => [v.name, v]));
  const holdKeys = holdKeysOf(config);
  const canceller = config.cancelOnRegrant ? createRegrantCanceller({ pool, log, clock, vendors }) : null;

  /**
   * Each vendor's deletion is leased to this call; submitting them side by side keeps one slow vendor from
   * delaying the others. allSettled: every write has finished before the function returns or throws (an
   * instance may be frozen right after), and a database fault on one vendor's row still lets the others be stored.
   */
  async function submitLeased(result: RevocationResult): Promise<void> {
    if (result.toSubmit.length === 0) return;
    // A vendor held after a mass refusal is not called: the poller takes the row over when its lease ends.
    const held = await heldVendors(pool, result.toSubmit.map((d) => d.vendor), holdKeys);
    const settled = await Promise.allSettled(
      result.toSubmit.map(async (d) => {
        const vendor = byName.get(d.vendor);
        if (!vendor || held.has(d.vendor)) return;
        await submitter.submit(vendor, [
          { deletionId: d.deletionId, customerId: d.customerId, idempotencyKey: d.idempotencyKey, revokedAt: d.revokedAt, regulation: vendorRegulationOf(d.regime) },
        ]);
      }),
    );
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async function ingest(event: FirestoreEvent): Promise<WriteOutcome> {
    const where = documentPathOf(event);
    if (where.disagreement) {
      log.warn(
        { event: 'document_header_disagrees', ceId: event.id, ...where.disagreement },
        'the CloudEvent header names another document than the payload; the payload is used',
      );
    }
    const customerId = customerIdOfPath(where.path, config.customersCollection);
    const reserved = reservedCustomerIdProblem(customerId);
    if (reserved) throw new InvalidInputError(reserved);
    const before = event.data.oldValue;
    const after = event.data.value;
    const decision = decideRevocation(before, after, config.consentField);
    const evidence = { eventId: event.id, eventSource: event.source, eventType: event.type, eventTime: event.time ?? null, reason: decision.reason };
    if (decision.kind === 'none') {
      log.debug({ event: 'write_ignored', ceId: event.id, customerId, reason: decision.reason }, 'not a revocation');
      return { kind: 'none', customerId, decision };
    }
    if (decision.kind === 'regranted') {
      // The regrant's time marks the request, which is how the canceller finds that request on every delivery.
      const regrantedAt = after?.updateTime ?? event.time;
      if (!regrantedAt) throw new InvalidInputError('a regranting write carries no update time and the event no time');
      const requestId = await recorder.recordRegrant({ customerId, regrantedAt, detail: evidence });
      if (canceller) await canceller.cancelForRegrant({ customerId, regrantedAt });
      return { kind: 'regranted', customerId, decision, regrantedAt, requestId };
    }
    // A withdrawal is dated by the write that made it; a delete has no after-image, so by the event.
    // Both are stable across redeliveries, which is what makes the request unique.
    const revokedAt = decision.cause === 'withdrawn' ? (after?.updateTime ?? event.time) : (event.time ?? before?.updateTime);
    if (!revokedAt) throw new InvalidInputError('the revoking write carries no update time and the event no time');
    const regime = regimeOfWrite(before, after, config.regime);
    if (regime.problem) {
      // The revocation is recorded all the same, under the default regime; the operator fixes the document or the mapping.
      log.warn({ event: 'regime_unknown', ceId: event.id, customerId, value: regime.value ?? null, regime: regime.regime }, regime.problem);
    }
    const result = await recorder.recordRevocation({
      regime,
      customerId,
      revokedAt,
      source: event.source,
      sourceEventId: event.id,
      detail: { ...evidence, cause: decision.cause, encoding: event.encoding },
    });
    await submitLeased(result);
    return { kind: 'revoked', customerId, decision, result };
  }

  return { ingest };
}
