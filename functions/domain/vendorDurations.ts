import { DAY } from '../clock.js';
import type { VendorKind } from './vendorKinds.js';

/** A vendor's own published statement of how long a deletion takes. */
export interface DocumentedDuration {
  /** The longest time the vendor states, from submission to completion. */
  upToMs: number;
  /** The vendor's words, short. */
  statement: string;
  source: string;
}

/**
 * The documented figures, used to forecast completion until our own history of a vendor is long
 * enough. Each is the upper end of what the vendor publishes. Null where a vendor publishes none: the
 * forecast then falls back to the configured expected duration and says so.
 */
export const DOCUMENTED_DURATIONS: Readonly<Record<VendorKind, DocumentedDuration | null>> = {
  // "Segment has a 30-day SLA for submitted deletion requests"; the SLA holds for at most 110,000 users a
  // month per regulation category and covers Segment's own stores, not destinations.
  segment: {
    upToMs: 30 * DAY,
    statement: '30-day SLA for submitted deletion requests',
    source: 'segment-docs src/privacy/user-deletion-and-suppression.md (Segment’s SLA); quota: segment-docs PR #7685',
  },
  // "may take up to 30 days to complete a deletion task"
  mixpanel: {
    upToMs: 30 * DAY,
    statement: 'up to 30 days to complete a deletion task',
    source: 'docs.mixpanel.com/reference/gdpr-api; mixpanel/docs openapi/src/gdpr.openapi.yaml',
  },
  // "within 30 days after receiving the request"; a job is scheduled for a `day` and marked `done` five
  // days after the scrub (the job's own date is preferred when known: see amplitudeExpectedCompletion).
  amplitude: {
    upToMs: 30 * DAY,
    statement: 'within 30 days after receiving the request',
    source: 'amplitude/amplitude-docs content/collections/api/en/user-privacy.md',
  },
  // Erasure completes in 7–21 days (a 7-day cancellable waiting period), 1–14 with skip_waiting_period.
  mparticle: {
    upToMs: 21 * DAY,
    statement: 'erasure in 7–21 days (1–14 with skip_waiting_period)',
    source: 'mParticle/docs src/pages/developers/dsr-api/v3/index.md',
  },
  // AppsFlyer publishes no duration for OpenDSR requests; its create answer carries
  // expected_completion_time, which the forecast uses instead.
  appsflyer: null,
  // The generic HTTP adapter's vendor is whatever the operator configures.
  http: null,
};

/** Amplitude waits this long after the scrub (or the job day) before marking a job `done`. */
export const AMPLITUDE_DONE_AFTER_SCRUB_MS = 5 * DAY;

/**
 * Amplitude's own date for a deletion: its job's scheduled `day` (or `active_scrub_done_date` once the
 * scrub ran) plus the five days it waits for backups before `done` (amplitude-docs user-privacy.md).
 * Days are UTC dates (`YYYY-MM-DD`).
 */
export function amplitudeExpectedCompletion(day: string, activeScrubDoneDate?: string | null): Date {
  const base = activeScrubDoneDate ?? day;
  const start = Date.parse(`${base}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(base) || Number.isNaN(start)) throw new RangeError(`not an Amplitude job day: ${base}`);
  return new Date(start + AMPLITUDE_DONE_AFTER_SCRUB_MS);
}
