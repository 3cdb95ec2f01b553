import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { InvalidInputError, TransientError } from '../errors.js';
import { toOperation, type ClaimedDeletion } from '../domain/deletion.js';
import { callLeaseMs } from '../domain/policy.js';
import { errorText } from '../errors.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';
import { classifyVendorError, VendorError } from '../vendors/errors.js';
import { guarded } from '../vendors/guard.js';
import { claimCancellable } from '../store/claimCancellable.js';
import { recordCancellations, type CancelResult } from '../store/recordCancellations.js';

/** What one regrant did to the deletions of its request, by deletion id. */
export interface RegrantCancelOutcome {
  /** The request the regrant was recorded on had deletions to look at (false: none, or all decided before). */
  requestFound: boolean;
  /** Cancelled: queued ones locally (never sent), submitted ones at the vendor. */
  cancelled: string[];
  /** Too late (started at the vendor, past its window, a job shared with other customers, no cancel API). */
  refused: string[];
  /** The vendor call failed; the deletion goes on, a later delivery of the regrant may try again. */
  failed: string[];
  /** Held by another process (being submitted or checked now); the regrant must be delivered again. */
  busy: string[];
}

/** Some deletions were held by another process: thrown after the others were recorded, so the platform retries. */
export class CancellationDeferredError extends TransientError {
  constructor(readonly outcome: RegrantCancelOutcome) {
    super(`cancel on regrant: ${outcome.busy.length} deletion(s) are being worked by another process; try again`);
  }
}

export interface RegrantCanceller {
  /**
   * Cancels what has not started of the deletions of the request this regrant was recorded on (the
   * customer's latest, revoked at or before `regrantedAt`, whose regranted_at is exactly `regrantedAt`).
   * Idempotent: a deletion with a recorded outcome is not tried again. Throws CancellationDeferredError when
   * some deletions were leased elsewhere, and database faults; vendor faults are recorded, never thrown.
   */
  cancelForRegrant(input: { customerId: string; regrantedAt: string }): Promise<RegrantCancelOutcome>;
}

export interface RegrantCancellerDeps {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  vendors: DeletionVendor[];
  /** Names this process as lease owner; defaults to host, pid and a random suffix. */
  instanceId?: string;
}

async function decide(row: ClaimedDeletion, vendor: DeletionVendor | undefined, log: Logger): Promise<CancelResult> {
  const base = { deletionId: row.deletionId, fromState: row.state };
  const operation = row.operationId === null ? {} : { operationId: row.operationId };
  if (row.state === 'queued') {
    return { ...base, kind: 'cancelled', detail: { reason: 'consent granted again', where: 'local', neverSent: true, previousState: 'queued' } };
  }
  if (row.state === 'in_progress') {
    return {
      ...base,
      kind: 'cancel_refused',
      detail: { reason: 'started at the vendor: the deletion goes on', rawStatus: row.rawStatus, ...operation },
    };
  }
  if (!vendor) {
    return { ...base, kind: 'cancel_failed', detail: { reason: `vendor ${row.vendor} is not configured here`, ...operation } };
  }
  const cancel = vendor.cancel;
  if (!cancel) {
    return { ...base, kind: 'cancel_refused', detail: { reason: 'the vendor offers no cancellation: the deletion goes on', ...operation } };
  }
  return cancelAtVendor(row, vendor, (op) => cancel.call(vendor, op), log);
}

/** Asks the vendor to cancel one submitted deletion; its answer (or fault) is the outcome. */
async function cancelAtVendor(
  row: ClaimedDeletion,
  vendor: DeletionVendor,
  cancel: NonNullable<DeletionVendor['cancel']>,
  log: Logger,
): Promise<CancelResult> {
  const base = { deletionId: row.deletionId, fromState: row.state };
  const operation = row.operationId === null ? {} : { operationId: row.operationId };
  try {
    const done = await guarded(vendor, 'cancel', cancel(toOperation(row)));
    if (done) {
      return { ...base, kind: 'cancelled', detail: { reason: 'consent granted again', where: 'vendor', vendorAnswer: 'cancelled', rawStatus: row.rawStatus, ...operation } };
    }
    return {
      ...base,
      kind: 'cancel_refused',
      detail: {
        reason: 'the vendor no longer allows cancelling this job (started, past its window, or shared with other customers): the deletion goes on',
        vendorAnswer: 'refused',
        rawStatus: row.rawStatus,
        ...operation,
      },
    };
  } catch (err) {
    const kind = classifyVendorError(err);
    log[kind === 'auth' || kind === 'contract' ? 'error' : 'warn'](
      { event: 'vendor_cancel_failed', err, vendor: vendor.name, deletionId: row.deletionId, operationId: row.operationId, kind },
      `${vendor.name} cancel failed; the deletion goes on`,
    );
    return {
      ...base,
      kind: 'cancel_failed',
      detail: {
        errorKind: kind,
        message: errorText(err),
        ...(err instanceof VendorError && err.status !== undefined ? { httpStatus: err.status } : {}),
        ...operation,
      },
    };
  }
}

/**
 * Builds the canceller `onCustomerWritten` uses when CANCEL_ON_REGRANT=true (facts: vendors.md §0.8).
 * A queued deletion is cancelled locally and never sent; a submitted one is cancelled through the adapter's
 * `cancel` where it offers one (it answers false when the vendor no longer allows it); an in-progress one
 * has started and goes on. Every outcome is an event: `cancelled` (with where and the vendor's answer),
 * `cancel_refused` (why it goes on) or `cancel_failed` (the vendor fault; state and schedule unchanged).
 */
export function createRegrantCanceller(deps: RegrantCancellerDeps): RegrantCanceller {
  const { pool, log, clock, vendors } = deps;
  const instanceId = deps.instanceId ?? `regrant:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const byName = new Map(vendors.map((v) => [v.name, v]));
  // The lease outlives the slowest vendor's cancel call and its guard, and no more.
  const leaseMs = Math.max(callLeaseMs({ timeoutMs: 0 }), ...vendors.map((v) => callLeaseMs(v.policy)));

  return {
    async cancelForRegrant(input) {
      if (input.customerId.length === 0) throw new InvalidInputError('customer id is empty');
      if (!Number.isFinite(Date.parse(input.regrantedAt))) {
        throw new InvalidInputError(`regrantedAt ${JSON.stringify(input.regrantedAt)} is not a timestamp`);
      }
      const owner = `${instanceId}:${randomBytes(4).toString('hex')}`;
      const claim = await claimCancellable(pool, {
        customerId: input.customerId,
        regrantedAt: input.regrantedAt,
        now: clock.now(),
        owner,
        leaseMs,
      });
      const outcome: RegrantCancelOutcome = {
        requestFound: claim.claimed.length + claim.busy.length > 0,
        cancelled: [],
        refused: [],
        failed: [],
        busy: claim.busy,
      };
      // One row per vendor: side by side, so one slow vendor does not delay the others.
      const settled = await Promise.allSettled(claim.claimed.map((row) => decide(row, byName.get(row.vendor), log)));
      const results = settled.map((s, i): CancelResult => {
        if (s.status === 'fulfilled') return s.value;
        const row = claim.claimed[i]!;
        return { deletionId: row.deletionId, fromState: row.state, kind: 'cancel_failed', detail: { message: errorText(s.reason) } };
      });
      const written = await recordCancellations(pool, { now: clock.now(), owner, results });
      const lost = results.filter((r) => !written.has(r.deletionId)).map((r) => r.deletionId);
      if (lost.length > 0) {
        log.warn({ event: 'lease_lost', customerId: input.customerId, lost }, 'some deletions were taken over before their cancel outcome was written; it was dropped');
      }
      for (const r of results) {
        if (!written.has(r.deletionId)) continue;
        (r.kind === 'cancelled' ? outcome.cancelled : r.kind === 'cancel_refused' ? outcome.refused : outcome.failed).push(r.deletionId);
      }
      if (outcome.requestFound) {
        log.info(
          {
            event: 'regrant_cancellations',
            customerId: input.customerId,
            cancelled: outcome.cancelled.length,
            refused: outcome.refused.length,
            failed: outcome.failed.length,
            busy: outcome.busy.length,
          },
          'consent granted again: deletions not yet started were cancelled where allowed',
        );
      }
      if (outcome.busy.length > 0) throw new CancellationDeferredError(outcome);
      return outcome;
    },
  };
}
