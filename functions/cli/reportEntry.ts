import type { DeletionSlack } from '../services/deadlineSlack.js';
import type { ReportRow } from '../store/reportPage.js';
import { iso } from './output.js';
import { summarizeCallback } from '../domain/callbackSummary.js';

/** Whether the deletion finished by its legal deadline: true, false, or null while it is still open and in time. */
export function deadlineMet(row: Pick<ReportRow, 'completed_at' | 'deadline_at'>, now: Date): boolean | null {
  if (row.completed_at) return row.completed_at.getTime() <= row.deadline_at.getTime();
  return now.getTime() > row.deadline_at.getTime() ? false : null;
}

/** What a lookup after completion said: verified, found data, not (yet) verified, or nothing to verify yet. */
export type Verification = 'verified' | 'verification_failed' | 'not_verified' | null;

export function verificationOf(row: Pick<ReportRow, 'state' | 'verified_at' | 'verification_failed_at'>): Verification {
  if (row.verified_at) return 'verified';
  if (row.verification_failed_at) return 'verification_failed';
  return row.state === 'completed' ? 'not_verified' : null;
}

/** One deletion of the report, as every format shows it. */
export function reportEntry(r: ReportRow, slack: DeletionSlack | null, now: Date) {
  return {
    deletionId: r.deletion_id,
    requestId: r.request_id,
    customerId: r.customer_id,
    vendor: r.vendor,
    state: r.state,
    source: r.source,
    regime: r.regime,
    revokedAt: iso(r.revoked_at),
    submittedAt: iso(r.first_submit_at ?? r.submitted_at),
    acceptedAt: iso(r.submitted_at),
    operationId: r.operation_id,
    operationRef: r.operation_ref,
    completedAt: iso(r.completed_at),
    verifiedAt: iso(r.verified_at),
    verification: verificationOf(r),
    verificationEvidence: r.verification_failed_at ? { at: iso(r.verification_failed_at), answer: r.verification_evidence } : null,
    checks: r.check_count,
    alertsRaised: r.alerts_raised,
    alertsSent: r.alerts_sent,
    /** The deadline in force (the extended one once extended). */
    deadlineAt: iso(r.deadline_at),
    initialDeadlineAt: iso(r.initial_deadline_at),
    extension: r.extended_at ? { at: iso(r.extended_at), by: r.extended_by, reason: r.extension_reason } : null,
    deadlineMet: deadlineMet(r, now),
    expectedCompletion: slack ? { at: iso(slack.expectedAt), basis: slack.basis, source: slack.source } : null,
    slackDays: slack?.slackDays ?? null,
    atRisk: slack?.atRisk ?? false,
    regrantedAt: iso(r.regranted_at),
    completionEvidence: r.state === 'completed' ? { status: r.raw_status, payload: r.status_payload } : null,
    // Each signed status callback: signature verified or not, certificate subject and fingerprint.
    callbacks: r.callbacks.flatMap((c) => summarizeCallback(c) ?? []),
  };
}
export type ReportEntry = ReturnType<typeof reportEntry>;

export const CSV_HEADERS = [
  'customer_id',
  'vendor',
  'state',
  'source',
  'regime',
  'revoked_at',
  'submitted_at',
  'accepted_at',
  'operation_id',
  'completed_at',
  'verified_at',
  'checks',
  'alerts_raised',
  'alerts_sent',
  'deadline_at',
  'deadline_met',
  'final_status',
  'callbacks',
  'callbacks_verified',
  'last_callback',
  'initial_deadline_at',
  'extended_at',
  'extension_reason',
  'expected_completion_at',
  'expected_source',
  'slack_days',
  'at_risk',
  'verification',
];

/** The CSV cells of one entry, in CSV_HEADERS order. */
export function csvCells(e: ReportEntry): Array<string | number | boolean | null> {
  return [
    e.customerId,
    e.vendor,
    e.state,
    e.source,
    e.regime,
    e.revokedAt,
    e.submittedAt,
    e.acceptedAt,
    e.operationId,
    e.completedAt,
    e.verifiedAt,
    e.checks,
    e.alertsRaised,
    e.alertsSent,
    e.deadlineAt,
    e.deadlineMet === null ? 'open' : e.deadlineMet ? 'yes' : 'no',
    e.completionEvidence?.status ?? null,
    e.callbacks.length,
    e.callbacks.filter((c) => c.signatureVerified).length,
    lastCallback(e),
    e.initialDeadlineAt,
    e.extension?.at ?? null,
    e.extension?.reason ?? null,
    e.expectedCompletion?.at ?? null,
    e.expectedCompletion?.source ?? null,
    e.slackDays,
    e.atRisk ? 'yes' : 'no',
    e.verification,
  ];
}

function lastCallback(e: ReportEntry): string | null {
  const last = e.callbacks.at(-1);
  return last ? `${last.receivedAt} ${last.status}; certificate ${last.certificateSubject} (SHA-256 ${last.certificateFingerprint})` : null;
}
