import type { DeletionState, EventKind } from './states.js';
import type { OperationToCheck } from './operation.js';
import type { RegimeId } from './regimes.js';

/** One deletion claimed by a poller (or a regrant's canceller), with what it needs to work it. */
export interface ClaimedDeletion {
  deletionId: string;
  requestId: string;
  customerId: string;
  vendor: string;
  state: DeletionState;
  idempotencyKey: string;
  /** When the customer withdrew consent (the request's revoked_at); vendors that record it are told. */
  revokedAt: Date;
  /** The request's legal regime (its vendors are told the matching regulation). */
  regime: RegimeId;
  operationRef: Record<string, unknown> | null;
  operationId: string | null;
  rawStatus: string | null;
  submitAttempts: number;
  checkCount: number;
  queuedAt: Date;
  submittedAt: Date | null;
  statusChangedAt: Date | null;
  expectedBy: Date | null;
}

/** The operation an adapter reads or cancels, from a claimed row. */
export function toOperation(row: ClaimedDeletion): OperationToCheck {
  return {
    deletionId: row.deletionId,
    customerId: row.customerId,
    ref: row.operationRef ?? {},
    operationId: row.operationId ?? '',
    submittedAt: row.submittedAt ?? row.queuedAt,
  };
}

/** What one status check (or failed check) changes on one claimed deletion. */
export interface StatusUpdate {
  deletionId: string;
  /** New state; null keeps the current one (a fault keeps the last good state). */
  state: DeletionState | null;
  rawStatus: string | null;
  payload: unknown;
  /** Null once nothing more is due. */
  nextCheckAt: Date | null;
  completedAt: Date | null;
  verifiedAt: Date | null;
  expectedBy: Date | null;
  /** Where `expectedBy` comes from when it is the vendor's own date; null keeps the stored one. */
  expectedSource: string | null;
  /** A verification after completion found data at the vendor: when, and the vendor's answer as evidence. */
  verificationFailedAt: Date | null;
  verificationEvidence: unknown;
  /** The vendor answered about this operation (counts as a check). */
  checked: boolean;
  /** The raw status differs from the one stored. */
  statusChanged: boolean;
  lastError: string | null;
  lastErrorKind: string | null;
  /** Back to queued for a new attempt: a fresh idempotency key, so the vendor does not hand back the failed job. */
  resubmit: boolean;
  /** A new stored reference (a failed job's part to resubmit in, domain/taskSplit.ts); null keeps the current one. */
  operationRef: Record<string, unknown> | null;
}

/** One evidence entry to append with the update. */
export interface StatusEvent {
  deletionId: string;
  kind: EventKind;
  detail: Record<string, unknown>;
}

/** An update that changes nothing but what it names (the lease is released by the write itself). */
export function blankUpdate(deletionId: string, over: Partial<StatusUpdate> = {}): StatusUpdate {
  return {
    deletionId,
    state: null,
    rawStatus: null,
    payload: null,
    nextCheckAt: null,
    completedAt: null,
    verifiedAt: null,
    expectedBy: null,
    expectedSource: null,
    verificationFailedAt: null,
    verificationEvidence: null,
    checked: false,
    statusChanged: false,
    lastError: null,
    lastErrorKind: null,
    resubmit: false,
    operationRef: null,
    ...over,
  };
}
