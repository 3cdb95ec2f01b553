import { z } from 'zod';
import type { ResubmitPart } from './taskSplit.js';

/**
 * What identifies a job at a vendor. Some vendors' jobs cover many customers, and some have no id at all
 * (Amplitude: project + scheduled day), so it is JSON, with `operationId` as its text form for operators.
 */
export const OperationRefSchema = z.record(z.string(), z.unknown());
export type OperationRef = z.infer<typeof OperationRefSchema>;

/** The normalised state a vendor status maps to (facts: vendors.md A8). */
export const VENDOR_STATES = ['submitted', 'in_progress', 'completed', 'failed', 'cancelled', 'error'] as const;
export type VendorState = (typeof VENDOR_STATES)[number];

/** One status reading of one operation. */
export interface StatusReport {
  state: VendorState;
  /** The vendor's own status word, exactly as received. */
  rawStatus: string;
  /** The vendor's status payload (already free of secrets), kept as evidence. */
  payload: unknown;
  /** When the vendor says it expects to finish, if it says. */
  expectedCompletionAt?: Date;
  /** Which of the vendor's fields that date comes from (`expected_completion_time`, `job day + 5 days`), for the forecast. */
  expectedCompletionSource?: string;
  /** Human-readable explanation for failed/error states. */
  detail?: string;
  /**
   * How a `failed` operation is tried again (domain/taskSplit.ts). Absent: resubmitted as it was, up to the
   * policy's attempts. `split`: its shared job failed and is resubmitted in halves; this operation goes in `part`.
   * `alone`: it was alone in its failed job, so a resubmission cannot help: it needs a person.
   */
  retry?: { kind: 'split'; part: ResubmitPart } | { kind: 'alone' };
}

/**
 * What a lookup after completion found (the vendor's documented user or profile lookup): nothing for the
 * customer (verified), or data (the deletion missed it, or it came back). `evidence` is the vendor's answer,
 * free of secrets, kept in the event log; `summary` says in a line what was found.
 */
export type VerificationReport = { found: false; evidence: unknown } | { found: true; evidence: unknown; summary: string };

/** An operation to check, as stored. */
export interface OperationToCheck {
  deletionId: string;
  customerId: string;
  ref: OperationRef;
  operationId: string;
  submittedAt: Date;
}
