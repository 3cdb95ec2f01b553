import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeletionVendor, SubmittedOperation, VendorState } from '../vendors/DeletionVendor.js';
import {
  VendorAuthError,
  VendorContractError,
  VendorRateLimitedError,
  VendorRejectedError,
  VendorTransientError,
} from '../vendors/errors.js';
import { recordSubmitFailed, recordSubmitted, type FailedRow, type SubmittedRow } from '../store/submissions.js';

/** How a failed submission is classified; stored in vendor_deletion.last_error_kind. */
export const SUBMIT_ERROR_KINDS = ['transient', 'rate_limited', 'auth', 'rejected', 'contract'] as const;
export type SubmitErrorKind = (typeof SUBMIT_ERROR_KINDS)[number];

/** One deletion handed to the submitter: a vendor_deletion row that is queued and leased by the caller. */
export interface SubmitRow {
  deletionId: string;
  customerId: string;
  idempotencyKey: string;
  /** When the customer withdrew consent (the request's revoked_at). */
  revokedAt?: Date;
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
  /** When the poller may try it again (null if the row had already left 'queued'). */
  retryAt: Date | null;
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
  error?: { kind: SubmitErrorKind; error: Error; retryAfterMs?: number };
  /** Rows whose result was not stored because they had left 'queued' meanwhile (another process moved them). */
  skipped: string[];
}

export interface Submitter {
  /** Submits up to vendor.policy.maxBatchSize queued, leased deletions to one vendor and stores the outcome. */
  submit(vendor: DeletionVendor, rows: SubmitRow[]): Promise<SubmitOutcome>;
}

const TERMINAL: readonly VendorState[] = ['completed', 'cancelled', 'error'];

/** Maps a fault thrown by an adapter to its stored kind. Anything unexpected is treated as transient. */
export function classifyVendorError(err: unknown): SubmitErrorKind {
  if (err instanceof VendorRateLimitedError) return 'rate_limited';
  if (err instanceof VendorAuthError) return 'auth';
  if (err instanceof VendorContractError) return 'contract';
  if (err instanceof VendorRejectedError) return 'rejected';
  if (err instanceof VendorTransientError) return 'transient';
  return 'transient';
}

/** Keeps stored error text short; adapters already keep secrets out of messages. */
function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/**
 * Races the adapter against a guard timer: callVendor already times out each request, but an adapter that
 * never settles must not hold the lease (and the function) until the platform kills it.
 */
async function withGuard<T>(vendor: DeletionVendor, work: Promise<T>): Promise<T> {
  const guardMs = vendor.policy.timeoutMs * 2 + 1000;
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new VendorTransientError(vendor.name, `submit did not settle within ${guardMs} ms`)),
      guardMs,
    );
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the submitter, shared by the ingest (vendors taking one subject per call) and the poller (batches).
 * The rows must already be queued and leased by the caller (intent is recorded before the vendor is called),
 * so a crash between the call and the store leaves a row the poller retries with the same idempotency key.
 * Vendor faults are stored and returned; database faults are thrown.
 */
export function createSubmitter(deps: { pool: pg.Pool; log: Logger; clock: Clock }): Submitter {
  const { pool, log, clock } = deps;

  async function fail(
    vendor: DeletionVendor,
    rows: SubmitRow[],
    err: unknown,
    outcome: SubmitOutcome,
  ): Promise<void> {
    const kind = classifyVendorError(err);
    const message = describe(err);
    const policy = vendor.policy;
    const retryAfterMs = err instanceof VendorRateLimitedError ? err.retryAfterMs : undefined;
    const failedRows: FailedRow[] = rows.map((r) => ({
      deletionId: r.deletionId,
      error: message,
      errorKind: kind,
      // A 429 names its own wait; everything else backs off from the vendor's shortest check interval.
      baseDelayMs: retryAfterMs ?? policy.minCheckIntervalMs,
      maxDelayMs: retryAfterMs ?? policy.maxCheckIntervalMs,
    }));
    const stored = await recordSubmitFailed(pool, failedRows, clock.now());
    const byId = new Map(stored.map((s) => [s.deletionId, s]));
    for (const r of rows) {
      const s = byId.get(r.deletionId);
      if (!s) outcome.skipped.push(r.deletionId);
      outcome.failed.push({ deletionId: r.deletionId, customerId: r.customerId, kind, message, retryAt: s?.nextCheckAt ?? null });
    }
    outcome.error ??= {
      kind,
      error: err instanceof Error ? err : new VendorTransientError(vendor.name, message),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
    const level = kind === 'auth' || kind === 'contract' ? 'error' : 'warn';
    log[level](
      { event: 'vendor_submit_failed', vendor: vendor.name, kind, deletions: rows.length, retryAfterMs, error: message },
      'vendor did not accept the deletions; they stay queued',
    );
  }

  return {
    async submit(vendor, rows) {
      const outcome: SubmitOutcome = { vendor: vendor.name, submitted: [], failed: [], skipped: [] };
      if (rows.length === 0) return outcome;
      if (rows.length > vendor.policy.maxBatchSize) {
        throw new RangeError(`${vendor.name} takes at most ${vendor.policy.maxBatchSize} subjects per call, got ${rows.length}`);
      }

      let operations: SubmittedOperation[];
      try {
        operations = await withGuard(vendor, vendor.submit(rows));
      } catch (err) {
        await fail(vendor, rows, err, outcome);
        return outcome;
      }

      const now = clock.now();
      const wanted = new Map(rows.map((r) => [r.deletionId, r]));
      const accepted: SubmittedRow[] = [];
      const acceptedRows: Array<{ row: SubmitRow; state: VendorState; operationId: string }> = [];
      for (const op of operations) {
        const row = wanted.get(op.deletionId);
        // An operation for a subject we did not send (or sent once and got twice) is ignored here;
        // the subjects left without one are recorded as a contract violation below.
        if (!row) continue;
        wanted.delete(op.deletionId);
        const state: VendorState = op.status?.state ?? 'submitted';
        const expectedBy =
          op.status?.expectedCompletionAt ?? new Date(now.getTime() + vendor.policy.expectedDurationMs);
        const terminal = TERMINAL.includes(state);
        accepted.push({
          deletionId: op.deletionId,
          state,
          operationRef: op.ref,
          operationId: op.operationId,
          rawStatus: op.status?.rawStatus ?? null,
          statusPayload: op.status?.payload ?? null,
          expectedBy,
          nextCheckAt: terminal ? null : new Date(now.getTime() + vendor.policy.minCheckIntervalMs),
          completedAt: state === 'completed' ? now : null,
        });
        acceptedRows.push({ row, state, operationId: op.operationId });
      }

      const stored = await recordSubmitted(pool, accepted, now);
      const storedIds = new Set(stored.map((s) => s.deletionId));
      for (const a of acceptedRows) {
        if (storedIds.has(a.row.deletionId)) {
          outcome.submitted.push({
            deletionId: a.row.deletionId,
            customerId: a.row.customerId,
            operationId: a.operationId,
            state: a.state,
          });
        } else {
          outcome.skipped.push(a.row.deletionId);
        }
      }
      if (outcome.submitted.length > 0) {
        log.info(
          { event: 'vendor_submitted', vendor: vendor.name, deletions: outcome.submitted.length },
          'vendor accepted the deletions',
        );
      }

      if (wanted.size > 0) {
        const missing = [...wanted.values()];
        const err = new VendorContractError(
          vendor.name,
          `the create call returned no operation for ${missing.length} of ${rows.length} subjects`,
          '',
        );
        await fail(vendor, missing, err, outcome);
      }
      return outcome;
    },
  };
}
