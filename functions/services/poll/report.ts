import type { Tally } from '../../domain/statusTransition.js';
import type { RaiseResult } from '../raiseAlerts.js';

/** What one cycle did, for logs and tests. */
export interface CycleReport {
  claimed: number;
  submitted: number;
  checked: number;
  completed: number;
  verified: number;
  resubmitted: number;
  errors: number;
  /** Verifications that found data: alerts are scanned at once. */
  verificationFailed: number;
  /** Rows handed back unworked (time budget, vendor pause, quota). */
  released: number;
  /** Queued rows not submitted because their vendor is held after a mass refusal. */
  held: number;
  pausedVendors: string[];
  stoppedByBudget: boolean;
  continuationPublished: boolean;
  alerts: RaiseResult | null;
}

export function emptyReport(): CycleReport {
  return {
    claimed: 0,
    submitted: 0,
    checked: 0,
    completed: 0,
    verified: 0,
    resubmitted: 0,
    errors: 0,
    verificationFailed: 0,
    released: 0,
    held: 0,
    pausedVendors: [],
    stoppedByBudget: false,
    continuationPublished: false,
    alerts: null,
  };
}

/** Adds what one status transition counted to the report. */
export function addTally(report: CycleReport, tally: Tally): void {
  report.checked += tally.checked;
  report.completed += tally.completed;
  report.verified += tally.verified;
  report.resubmitted += tally.resubmitted;
  report.errors += tally.errors;
}
