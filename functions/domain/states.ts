/** States of one vendor deletion (one request at one vendor). */
export const DELETION_STATES = [
  'queued',
  'submitted',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'cancel_refused',
  'cancel_failed',
  'error',
] as const;
export type DeletionState = (typeof DELETION_STATES)[number];

export function isDeletionState(v: unknown): v is DeletionState {
  return typeof v === 'string' && (DELETION_STATES as readonly string[]).includes(v);
}

/** States after which the poller no longer checks the vendor. */
export const TERMINAL_STATES: readonly DeletionState[] = ['completed', 'cancelled', 'error'];

export function isTerminal(state: DeletionState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Kinds of entries in the append-only event log. */
export const EVENT_KINDS = [
  'revoked',
  'regranted',
  'queued',
  'submit_attempted',
  'submitted',
  'submit_failed',
  'status_seen',
  'completed',
  'verified',
  'failed',
  'retried',
  'cancelled',
  'error',
  'contract_violation',
  'alert_raised',
  'alert_sent',
  'reconciled',
  'deadline_extended',
  'verification_failed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
