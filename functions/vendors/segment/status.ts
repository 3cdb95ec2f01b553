import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';

/** Segment's regulation and destination status words (vendors.md A1), nothing else. */
export const SEGMENT_STATUS_WORDS = [
  'FAILED',
  'FINISHED',
  'INITIALIZED',
  'INVALID',
  'NOT_SUPPORTED',
  'PARTIAL_SUCCESS',
  'RUNNING',
] as const;
export type SegmentStatusWord = (typeof SEGMENT_STATUS_WORDS)[number];
export const SegmentStatusWordSchema = z.enum(SEGMENT_STATUS_WORDS);

/**
 * `overallStatus` mapped to our states (vendors.md A8). FAILED and PARTIAL_SUCCESS are not final verdicts
 * here: classifySegmentRegulation reads the destinations for them.
 */
export const SEGMENT_STATUS_MAP: Readonly<Record<SegmentStatusWord, VendorState>> = {
  INITIALIZED: 'submitted',
  RUNNING: 'in_progress',
  FINISHED: 'completed',
  PARTIAL_SUCCESS: 'completed',
  FAILED: 'failed',
  INVALID: 'failed',
  NOT_SUPPORTED: 'failed',
};

/** One destination's part of a regulation, as Segment reports it. */
export interface SegmentDestinationStatus {
  name?: string | undefined;
  id?: string | undefined;
  status: SegmentStatusWord;
  errString?: string | null | undefined;
}

export interface SegmentClassification {
  state: VendorState;
  detail?: string;
}

const named = (d: SegmentDestinationStatus) => d.name ?? d.id ?? 'unnamed destination';
const withError = (d: SegmentDestinationStatus) => `${named(d)} ${d.status}${d.errString ? ` (${d.errString})` : ''}`;

/** Destination words that mean the destination has not (or not entirely) deleted. */
const NOT_DELETED: readonly SegmentStatusWord[] = ['FAILED', 'INVALID', 'PARTIAL_SUCCESS'];

/**
 * Our verdict on one regulation (vendors.md A1 and its corrections). Segment reports the overall status of
 * every deletion process: an unsupported destination turns it FAILED even when Segment's own stores and every
 * supporting destination deleted, and whether that destination then reads NOT_SUPPORTED or FAILED is not
 * documented. So for FINISHED, FAILED and PARTIAL_SUCCESS the destinations decide:
 * - any destination still INITIALIZED or RUNNING: in progress;
 * - any destination FAILED, INVALID or PARTIAL_SUCCESS: `error`, naming each with Segment's words. It is never
 *   resubmitted on its own: a new regulation would repeat the whole batch (up to 5000 customers) for what may
 *   be a destination that cannot delete at all; a person decides (and `consent-erasure retry` resubmits one);
 * - otherwise (every destination FINISHED or NOT_SUPPORTED): completed, naming the destinations without
 *   deletion support, whose copy is the operator's to remove;
 * - FAILED with no destination reported: failed (Segment's own deletion failed; resubmitted);
 *   PARTIAL_SUCCESS with none: `error` (nothing says what was deleted).
 * INITIALIZED is submitted, RUNNING in progress; INVALID and NOT_SUPPORTED overall mean the request itself
 * cannot be carried out: failed.
 */
export function classifySegmentRegulation(
  overall: SegmentStatusWord,
  destinations: readonly SegmentDestinationStatus[],
): SegmentClassification {
  if (overall === 'INITIALIZED' || overall === 'RUNNING') return { state: SEGMENT_STATUS_MAP[overall] };
  if (overall === 'INVALID' || overall === 'NOT_SUPPORTED') return { state: 'failed', detail: `Segment marked the regulation ${overall}` };
  if (destinations.some((d) => d.status === 'INITIALIZED' || d.status === 'RUNNING')) return { state: 'in_progress' };
  const notDeleted = destinations.filter((d) => NOT_DELETED.includes(d.status));
  if (notDeleted.length > 0) {
    return {
      state: 'error',
      detail:
        `Segment reported ${overall}; these destinations did not confirm the deletion: ${notDeleted.map(withError).join('; ')}. ` +
        'Segment does not document whether a destination without deletion support reports FAILED; the destination needs a person (not resubmitted: a new regulation would repeat the whole batch)',
    };
  }
  if (destinations.length === 0 && overall !== 'FINISHED') {
    return overall === 'FAILED'
      ? { state: 'failed', detail: 'Segment reported FAILED without any destination status' }
      : { state: 'error', detail: 'Segment reported PARTIAL_SUCCESS without any destination status: nothing shows what was deleted' };
  }
  const unsupported = destinations.filter((d) => d.status === 'NOT_SUPPORTED');
  if (unsupported.length > 0) {
    const names = unsupported.map(named).join(', ');
    return {
      state: 'completed',
      detail:
        overall === 'FINISHED'
          ? `deleted; destinations without deletion support kept their copy: ${names}`
          : `Segment reported ${overall} only because destinations without deletion support could not delete: ${names}`,
    };
  }
  return overall === 'FINISHED' ? { state: 'completed' } : { state: 'completed', detail: `Segment reported ${overall} although every destination finished` };
}
