import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeletionVendor, Regulation, SubmittedOperation, VendorState } from '../vendors/DeletionVendor.js';
import { isTerminal } from '../domain/states.js';
import type { VendorFaultKind } from '../domain/statusTransition.js';
import { errorText } from '../errors.js';
import { classifyVendorError, faultFactsOf, VendorContractError, VendorRateLimitedError, VendorTransientError } from '../vendors/errors.js';
import { DEFAULT_MAX_REFUSALS, FAILURE_HANDLING, failureClassOf, MAX_REFUSAL_WORDS, refusalSignature, type FailureClass } from '../domain/failureClasses.js';
import { guarded } from '../vendors/guard.js';
import { recordSubmitFailed, type FailedRow } from '../store/recordSubmitFailed.js';
import { recordSubmitted, type SubmittedRow } from '../store/recordSubmitted.js';

/** How a failed submission is classified (vendors/errors.ts); stored in vendor_deletion.last_error_kind. */
export type SubmitErrorKind = VendorFaultKind;
export { classifyVendorError };

/** One deletion handed to the submitter: a vendor_deletion row that is queued and leased by the caller. */
export interface SubmitRow {
  deletionId: string;
  customerId: string;
  idempotencyKey: string;
  /** When the customer withdrew consent (the request's revoked_at). */
  revokedAt?: Date;
  /** The regulation the vendor is told (the request's regime, mapped by domain/regulation.ts). */
  regulation?: Regulation;
  /** The failed jobs this row's part was split from, oldest first (domain/taskSplit.ts): kept in its new reference. */
  splitFrom?: string[];
}

/** A deletion the vendor accepted, as stored. */
export interface SubmittedDeletion {
  deletionId: string;
  customerId: string;
  operationId: string;
  state: VendorState;
}

/** A deletion that stays queued, with why and when it is tried again. */
export interface FailedDeletion {
  deletionId: string;
  customerId: string;
  kind: SubmitErrorKind;
  message: string;
  /** When the poller may try it again (null if the row had already left 'queued', or went to `error`). */
  retryAt: Date | null;
  /** Refused for the last time: the deletion is now in `error`, for a person. */
  gaveUp?: boolean;
}

/** What happened to one batch. Vendor faults are reported here, never thrown. */
export interface SubmitOutcome {
  vendor: string;
  submitted: SubmittedDeletion[];
  failed: FailedDeletion[];
  /**
   * The vendor fault, if any row failed: the caller decides what it means (the ingest acknowledges; the
   * poller pauses the vendor on `rate_limited` for `retryAfterMs` and alerts on `auth` and `contract`).
   */
  error?: { kind: SubmitErrorKind; error: Error; retryAfterMs?: number; failureClass?: FailureClass; refusal?: string };
  /** Rows whose result was not stored because they had left 'queued' meanwhile (another process moved them). */
  skipped: string[];
}

/** What the poller needs of a submitter (services/poll/submitStep.ts); tests may pass their own. */
export interface SubmitPort {
  submit(
    vendor: DeletionVendor,
    rows: SubmitRow[],
  ): Promise<{
    submitted: Array<{ deletionId: string }>;
    failed: Array<{ deletionId: string }>;
    error?: { kind: string; error: Error; retryAfterMs?: number; failureClass?: FailureClass; refusal?: string };
    skipped: string[];
  }>;
}

export interface Submitter {
  /** Submits up to vendor.policy.maxBatchSize queued, leased deletions to one vendor and stores the outcome. */
  submit(vendor: DeletionVendor, rows: SubmitRow[]): Promise<SubmitOutcome>;
}

type SubmitterDeps = { pool: pg.Pool; log: Logger; clock: Clock };

/**
 * Stores a failed submission of `rows` and adds it to `outcome`. Its failure class (domain/failureClasses.ts)
 * decides how it ends: a refusal is counted per deletion and, at the vendor's limit, sends the deletion to
 * `error`; anything else stays queued, retried with back-off.
 */
async function recordFailure(deps: SubmitterDeps, vendor: DeletionVendor, rows: SubmitRow[], err: unknown, outcome: SubmitOutcome): Promise<void> {
  const facts = faultFactsOf(err);
  const kind = classifyVendorError(err);
  const failureClass = failureClassOf(facts, 'submit');
  const message = errorText(err).slice(0, MAX_REFUSAL_WORDS * 2);
  const policy = vendor.policy;
  const retryAfterMs = err instanceof VendorRateLimitedError ? err.retryAfterMs : undefined;
  const bounded = FAILURE_HANDLING[failureClass].bounded;
  const signature = bounded ? refusalSignature(message, rows.map((r) => r.customerId)) : undefined;
  const maxRefusals = policy.maxRefusals ?? DEFAULT_MAX_REFUSALS;
  const failedRows: FailedRow[] = rows.map((r) => ({
    deletionId: r.deletionId,
    error: message,
    errorKind: kind,
    // A 429 names its own wait; everything else backs off from the vendor's shortest check interval.
    baseDelayMs: retryAfterMs ?? policy.minCheckIntervalMs,
    maxDelayMs: retryAfterMs ?? policy.maxCheckIntervalMs,
    ...(signature !== undefined ? { refusal: { maxRefusals, signature } } : {}),
  }));
  const stored = await recordSubmitFailed(deps.pool, failedRows, deps.clock.now());
  const byId = new Map(stored.map((s) => [s.deletionId, s]));
  let gaveUp = 0;
  for (const r of rows) {
    const s = byId.get(r.deletionId);
    if (!s) outcome.skipped.push(r.deletionId);
    const ended = s?.state === 'error';
    if (ended) gaveUp += 1;
    outcome.failed.push({ deletionId: r.deletionId, customerId: r.customerId, kind, message, retryAt: s?.nextCheckAt ?? null, ...(ended ? { gaveUp: true } : {}) });
  }
  outcome.error ??= {
    kind,
    error: err instanceof Error ? err : new VendorTransientError(vendor.name, message),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    failureClass,
    // Only a class that can make a mass refusal is handed on to be counted across deletions.
    ...(signature !== undefined && FAILURE_HANDLING[failureClass].mass ? { refusal: signature } : {}),
  };
  const level = kind === 'auth' || kind === 'contract' || gaveUp > 0 ? 'error' : 'warn';
  deps.log[level](
    { event: 'vendor_submit_failed', vendor: vendor.name, kind, failureClass, deletions: rows.length, gaveUp, retryAfterMs, error: message },
    gaveUp > 0 ? 'vendor refused the deletions for the last time; they need a person' : 'vendor did not accept the deletions; they stay queued',
  );
}

/** The rows a create call answered for, as they are stored; `missing` keeps the subjects it left without an operation. */
function acceptedRows(vendor: DeletionVendor, rows: SubmitRow[], operations: SubmittedOperation[], now: Date) {
  const missing = new Map(rows.map((r) => [r.deletionId, r]));
  const accepted: Array<{ row: SubmitRow; state: VendorState; stored: SubmittedRow }> = [];
  for (const op of operations) {
    const row = missing.get(op.deletionId);
    // An operation for a subject we did not send (or sent once and got twice) is ignored here;
    // the subjects left without one are recorded as a contract violation.
    if (!row) continue;
    missing.delete(op.deletionId);
    const state: VendorState = op.status?.state ?? 'submitted';
    const stored: SubmittedRow = {
      deletionId: op.deletionId,
      state,
      // The lineage of a split is evidence: the new reference names every failed job the customer went through.
      operationRef: row.splitFrom ? { ...op.ref, splitFrom: row.splitFrom } : op.ref,
      operationId: op.operationId,
      rawStatus: op.status?.rawStatus ?? null,
      statusPayload: op.status?.payload ?? null,
      expectedBy: op.status?.expectedCompletionAt ?? new Date(now.getTime() + vendor.policy.expectedDurationMs),
      expectedSource: op.status?.expectedCompletionAt ? (op.status.expectedCompletionSource ?? 'its create answer') : null,
      nextCheckAt: isTerminal(state) ? null : new Date(now.getTime() + vendor.policy.minCheckIntervalMs),
      completedAt: state === 'completed' ? now : null,
    };
    accepted.push({ row, state, stored });
  }
  return { accepted, missing: [...missing.values()] };
}

/**
 * Builds the submitter, shared by the ingest (vendors taking one subject per call) and the poller (batches).
 * The rows must already be queued and leased by the caller (intent is recorded before the vendor is called),
 * so a crash between the call and the store leaves a row the poller retries with the same idempotency key.
 * Vendor faults are stored and returned; database faults are thrown.
 */
export function createSubmitter(deps: SubmitterDeps): Submitter {
  const { pool, log, clock } = deps;
  return {
    async submit(vendor, rows) {
      const outcome: SubmitOutcome = { vendor: vendor.name, submitted: [], failed: [], skipped: [] };
      if (rows.length === 0) return outcome;
      if (rows.length > vendor.policy.maxBatchSize) {
        throw new RangeError(`${vendor.name} takes at most ${vendor.policy.maxBatchSize} subjects per call, got ${rows.length}`);
      }
      let operations: SubmittedOperation[];
      try {
        operations = await guarded(vendor, 'submit', vendor.submit(rows));
      } catch (err) {
        await recordFailure(deps, vendor, rows, err, outcome);
        return outcome;
      }
      const now = clock.now();
      const { accepted, missing } = acceptedRows(vendor, rows, operations, now);
      const stored = new Set((await recordSubmitted(pool, accepted.map((a) => a.stored), now)).map((s) => s.deletionId));
      for (const { row, state, stored: s } of accepted) {
        if (stored.has(row.deletionId)) {
          outcome.submitted.push({ deletionId: row.deletionId, customerId: row.customerId, operationId: s.operationId, state });
        } else outcome.skipped.push(row.deletionId);
      }
      if (outcome.submitted.length > 0) {
        log.info({ event: 'vendor_submitted', vendor: vendor.name, deletions: outcome.submitted.length }, 'vendor accepted the deletions');
      }
      if (missing.length > 0) {
        const err = new VendorContractError(vendor.name, `the create call returned no operation for ${missing.length} of ${rows.length} subjects`, '');
        await recordFailure(deps, vendor, missing, err, outcome);
      }
      return outcome;
    },
  };
}
