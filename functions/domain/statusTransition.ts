import { nextCheckAt } from './backoff.js';
import { blankUpdate, type ClaimedDeletion, type StatusEvent, type StatusUpdate } from './deletion.js';
import type { StatusReport } from './operation.js';
import type { VendorPolicy } from './policy.js';
import { expectedCompletion } from './staleness.js';
import { FAILURE_HANDLING, failureClassOf } from './failureClasses.js';

/**
 * The poller's status rules, pure: a claimed row and what the vendor said about it (a report, no report,
 * or a fault) under the vendor's policy at `now` give the row's update and the events that record it.
 * Nothing here reads a clock or a database; services/poll/ does the calls and the writes.
 */

/** The policy fields the rules read. */
export type TransitionPolicy = Pick<VendorPolicy, 'maxSubmitAttempts' | 'minCheckIntervalMs' | 'maxCheckIntervalMs' | 'expectedDurationMs'>;

/** What one transition adds to the cycle's report. */
export interface Tally {
  checked: number;
  completed: number;
  verified: number;
  resubmitted: number;
  errors: number;
}

export interface Transition {
  update: StatusUpdate;
  events: StatusEvent[];
  tally: Tally;
}

/** How a vendor fault is classified (vendors/errors.ts gives each error class its kind). */
export const VENDOR_FAULT_KINDS = ['transient', 'rate_limited', 'auth', 'rejected', 'contract'] as const;
export type VendorFaultKind = (typeof VENDOR_FAULT_KINDS)[number];

/** A failed status call, as the rules need it. */
export interface CheckFault {
  kind: VendorFaultKind;
  /** The error's text, already short and free of secrets. */
  message: string;
  /** A secret-free sample of what a contract-breaking vendor answered. */
  sample?: string;
  httpStatus?: number;
}

/** The longest back-off after a transient fault, in multiples of the shortest check interval. */
const TRANSIENT_BACKOFF_CAP = 8;

export const noTally = (): Tally => ({ checked: 0, completed: 0, verified: 0, resubmitted: 0, errors: 0 });

/** When to check a row again after `checks` checks: the back-off aimed at its expected completion. */
export function nextCheckFor(policy: TransitionPolicy, row: ClaimedDeletion, checks: number, expectedBy: Date | null, now: Date): Date {
  const expected =
    expectedBy ??
    expectedCompletion(policy, {
      queuedAt: row.queuedAt,
      submittedAt: row.submittedAt,
      expectedBy: row.expectedBy,
      statusChangedAt: row.statusChangedAt,
    });
  return nextCheckAt(policy, { checkCount: checks, expectedBy: expected, now });
}

/** A claimed row already finished (completed, cancelled, error) with a check left over: nothing more is due. */
export function settled(row: ClaimedDeletion): Transition {
  return { update: blankUpdate(row.deletionId), events: [], tally: noTally() };
}

/** What a lookup after completion came to, for a completed deletion (none: no lookup was made). */
export type VerificationOutcome = { verifiedAt: Date; evidence: unknown } | { failedAt: Date; evidence: unknown; summary: string };

/**
 * The vendor's answer about one row. No report: it was not read this time, and is looked at again at the
 * next step of the schedule. `verification`: what a lookup after a completion found (a `Date` is read as verified).
 */
export function afterReport(
  row: ClaimedDeletion,
  report: StatusReport | undefined,
  policy: TransitionPolicy,
  now: Date,
  verification: VerificationOutcome | Date | null = null,
): Transition {
  const lookup: VerificationOutcome | null = verification instanceof Date ? { verifiedAt: verification, evidence: null } : verification;
  const tally = noTally();
  if (!report) {
    return { update: blankUpdate(row.deletionId, { nextCheckAt: nextCheckFor(policy, row, row.checkCount + 1, null, now) }), events: [], tally };
  }
  tally.checked = 1;
  const events: StatusEvent[] = [];
  const event = (kind: StatusEvent['kind'], detail: Record<string, unknown>) => events.push({ deletionId: row.deletionId, kind, detail });
  const changed = report.rawStatus !== row.rawStatus;
  if (changed) {
    // The payload stays on the row (retention rewrites it there); it may list a shared job's other customers.
    event('status_seen', { rawStatus: report.rawStatus, state: report.state, operationId: row.operationId });
  }
  const base = blankUpdate(row.deletionId, {
    rawStatus: report.rawStatus,
    payload: report.payload ?? null,
    checked: true,
    statusChanged: changed,
    expectedBy: report.expectedCompletionAt ?? null,
    expectedSource: report.expectedCompletionAt ? (report.expectedCompletionSource ?? 'its status answer') : null,
  });
  const failure = report.detail ?? `vendor reported ${report.rawStatus}`;
  switch (report.state) {
    case 'completed': {
      tally.completed = 1;
      event('completed', { rawStatus: report.rawStatus, operationId: row.operationId });
      const done = { ...base, state: 'completed' as const, completedAt: now, nextCheckAt: null };
      if (lookup && 'verifiedAt' in lookup) {
        tally.verified = 1;
        event('verified', { operationId: row.operationId, ...(lookup.evidence !== null ? { evidence: lookup.evidence } : {}) });
        return { update: { ...done, verifiedAt: lookup.verifiedAt }, events, tally };
      }
      if (lookup) {
        // Completion stands on the vendor's word; the lookup's answer is the evidence that data is still there.
        event('verification_failed', { operationId: row.operationId, summary: lookup.summary, evidence: lookup.evidence });
        return { update: { ...done, verificationFailedAt: lookup.failedAt, verificationEvidence: { summary: lookup.summary, answer: lookup.evidence } }, events, tally };
      }
      return { update: done, events, tally };
    }
    case 'failed':
      return afterFailed(row, report, policy, now, { base, events, tally });
    case 'cancelled':
      event('cancelled', { rawStatus: report.rawStatus, operationId: row.operationId });
      return { update: { ...base, state: 'cancelled', nextCheckAt: null }, events, tally };
    case 'error':
      tally.errors = 1;
      event('error', { rawStatus: report.rawStatus, detail: report.detail ?? null });
      return { update: { ...base, state: 'error', nextCheckAt: null, lastError: failure, lastErrorKind: 'vendor_error' }, events, tally };
    default: {
      const next = nextCheckFor(policy, row, row.checkCount + 1, report.expectedCompletionAt ?? null, now);
      return { update: { ...base, state: report.state, nextCheckAt: next }, events, tally };
    }
  }
}

/**
 * A failed operation: split with its job's other operations where the job failed as a whole (taskSplit.ts),
 * straight to a person when it was alone in its failed job, else resubmitted as it was up to the policy's attempts.
 */
function afterFailed(
  row: ClaimedDeletion,
  report: StatusReport,
  policy: TransitionPolicy,
  now: Date,
  t: { base: StatusUpdate; events: StatusEvent[]; tally: Tally },
): Transition {
  const { base, events, tally } = t;
  const event = (kind: StatusEvent['kind'], detail: Record<string, unknown>) => events.push({ deletionId: row.deletionId, kind, detail });
  const failure = report.detail ?? `vendor reported ${report.rawStatus}`;
  event('failed', { rawStatus: report.rawStatus, operationId: row.operationId, detail: report.detail ?? null, attempt: row.submitAttempts });
  const retry = report.retry;
  if (retry?.kind === 'split') {
    // Not bounded by the attempts: each split halves the job, so the halving itself ends (taskSplit.ts).
    const { part } = retry;
    tally.resubmitted = 1;
    event('retried', {
      attempt: row.submitAttempts + 1,
      previousOperationId: row.operationId,
      split: { from: part.from, half: part.part === 0 ? 'first' : 'second', subjects: part.subjects, lineage: part.lineage },
    });
    const operationRef = { ...(row.operationRef ?? {}), resubmitIn: part };
    return { update: { ...base, state: 'queued', nextCheckAt: now, resubmit: true, operationRef, lastError: failure, lastErrorKind: 'failed' }, events, tally };
  }
  if (retry?.kind !== 'alone' && row.submitAttempts < policy.maxSubmitAttempts) {
    tally.resubmitted = 1;
    event('retried', { attempt: row.submitAttempts + 1, previousOperationId: row.operationId });
    return { update: { ...base, state: 'queued', nextCheckAt: now, resubmit: true, lastError: failure, lastErrorKind: 'failed' }, events, tally };
  }
  tally.errors = 1;
  event('error', retry?.kind === 'alone' ? { reason: 'failed alone in its job: a resubmission cannot help' } : { reason: 'submission attempts exhausted', attempts: row.submitAttempts });
  return { update: { ...base, state: 'error', nextCheckAt: null, lastError: failure, lastErrorKind: 'failed' }, events, tally };
}

/**
 * A status call that failed for this row. A rate limit is not a fault of the row (the vendor is paused and
 * the row handed back, see services/poll/vendorGate.ts); it is treated as transient if it gets here.
 */
export function afterFault(row: ClaimedDeletion, fault: CheckFault, policy: TransitionPolicy, now: Date): Transition {
  // The rules per failure class are one table (failureClasses.ts); a 408 or 409 passes like a 5xx.
  const rule = FAILURE_HANDLING[failureClassOf({ kind: fault.kind, httpStatus: fault.httpStatus }, 'check')].check;
  let next: Date | null;
  if (rule.gaveUp) next = null;
  else if (rule.stored === 'transient') {
    const steps = Math.min(2 ** Math.max(0, row.checkCount - 1), TRANSIENT_BACKOFF_CAP);
    next = new Date(now.getTime() + policy.minCheckIntervalMs * steps);
  } else next = nextCheckFor(policy, row, row.checkCount + 1, null, now);
  // A response sample may name a shared job's other customers: it is kept with the row's error, which retention
  // rewrites, and not in the chained event.
  const sample = fault.kind === 'contract' && fault.sample !== undefined ? fault.sample : undefined;
  const detail: Record<string, unknown> = {
    errorKind: rule.stored,
    message: fault.message,
    operationId: row.operationId,
    ...(fault.httpStatus !== undefined ? { httpStatus: fault.httpStatus } : {}),
  };
  return {
    update: blankUpdate(row.deletionId, {
      state: rule.gaveUp ? 'error' : null,
      nextCheckAt: next,
      lastError: sample === undefined ? fault.message : `${fault.message} (sample: ${sample})`,
      lastErrorKind: rule.stored,
    }),
    events: [{ deletionId: row.deletionId, kind: rule.event, detail }],
    tally: { ...noTally(), errors: 1 },
  };
}
