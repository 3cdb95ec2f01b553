import { DAY } from '../clock.js';
import { summarizeCallback, type CallbackSummary } from './callbackSummary.js';
import type { TimelineDeletionRow, TimelineEventRow, TimelineRequestRow } from './timelineRows.js';

/** Whether a request met its legal deadline, or how many days are left while it is open. */
export type DeadlineOutcome =
  | { status: 'met'; finishedAt: string }
  | { status: 'missed'; finishedAt: string | null }
  | { status: 'open'; daysLeft: number };

export interface TimelineEntry {
  at: string;
  kind: string;
  detail: unknown;
  /** Its position in the hash chain; null until sealed. */
  seq: number | null;
}

export interface VendorTimeline {
  vendor: string;
  state: string;
  operationId: string | null;
  operationRef: unknown;
  submittedAt: string | null;
  completedAt: string | null;
  verifiedAt: string | null;
  checks: number;
  /** Each distinct vendor status with when it was first seen. */
  statuses: Array<{ status: string; firstSeenAt: string }>;
  /** Each signed status callback received (callback_received events): status, signature and certificate. */
  callbacks: CallbackSummary[];
  events: TimelineEntry[];
}

export interface RequestTimeline {
  requestId: string;
  customerId: string;
  revokedAt: string;
  source: string;
  sourceEventId: string;
  deadlineAt: string;
  /** The legal regime the request is made under. */
  regime: string;
  regrantedAt: string | null;
  deadline: DeadlineOutcome;
  /** Events of the request itself (revoked, regranted, reconciled). */
  events: TimelineEntry[];
  vendors: VendorTimeline[];
}

const DONE = new Set(['completed', 'cancelled']);

/** The deadline outcome of a request from its deletions: met when every one finished by the deadline. */
export function deadlineOutcome(deadlineAt: Date, deletions: TimelineDeletionRow[], now: Date): DeadlineOutcome {
  const open = deletions.some((d) => !DONE.has(d.state));
  if (open) {
    const left = deadlineAt.getTime() - now.getTime();
    return left > 0 ? { status: 'open', daysLeft: Math.ceil(left / DAY) } : { status: 'missed', finishedAt: null };
  }
  const finished = deletions.map((d) => d.completed_at?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0);
  const finishedAt = new Date(finished).toISOString();
  return finished <= deadlineAt.getTime() ? { status: 'met', finishedAt } : { status: 'missed', finishedAt };
}

function entry(e: TimelineEventRow): TimelineEntry {
  return { at: e.occurred_at.toISOString(), kind: e.kind, detail: e.detail, seq: e.seq === null ? null : Number(e.seq) };
}

function statusOf(detail: unknown): string | undefined {
  if (detail && typeof detail === 'object') {
    const d = detail as Record<string, unknown>;
    for (const k of ['rawStatus', 'raw_status', 'status']) if (typeof d[k] === 'string') return d[k] as string;
  }
  return undefined;
}

/** Assembles the per-customer story an auditor reads, from the rows as stored. */
export function buildTimeline(
  rows: { requests: TimelineRequestRow[]; deletions: TimelineDeletionRow[]; events: TimelineEventRow[] },
  now: Date,
): RequestTimeline[] {
  return rows.requests.map((r) => {
    const deletions = rows.deletions.filter((d) => d.request_id === r.id);
    const events = rows.events.filter((e) => e.request_id === r.id);
    return {
      requestId: r.id,
      customerId: r.customer_id,
      revokedAt: r.revoked_at.toISOString(),
      source: r.source,
      sourceEventId: r.source_event_id,
      deadlineAt: r.deadline_at.toISOString(),
      regime: r.regime,
      regrantedAt: r.regranted_at?.toISOString() ?? null,
      deadline: deadlineOutcome(r.deadline_at, deletions, now),
      events: events.filter((e) => e.vendor_deletion_id === null).map(entry),
      vendors: deletions.map((d) => {
        const own = events.filter((e) => e.vendor_deletion_id === d.id);
        const statuses: Array<{ status: string; firstSeenAt: string }> = [];
        for (const e of own) {
          const s = e.kind === 'status_seen' || e.kind === 'submitted' || e.kind === 'completed' ? statusOf(e.detail) : undefined;
          if (s && !statuses.some((x) => x.status === s)) statuses.push({ status: s, firstSeenAt: e.occurred_at.toISOString() });
        }
        return {
          vendor: d.vendor,
          state: d.state,
          operationId: d.operation_id,
          operationRef: d.operation_ref,
          submittedAt: d.submitted_at?.toISOString() ?? null,
          completedAt: d.completed_at?.toISOString() ?? null,
          verifiedAt: d.verified_at?.toISOString() ?? null,
          checks: d.check_count,
          statuses,
          callbacks: own.filter((e) => e.kind === 'callback_received').flatMap((e) => summarizeCallback(e.detail) ?? []),
          events: own.map(entry),
        };
      }),
    };
  });
}
