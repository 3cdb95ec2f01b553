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

/**
 * Our verdict on one regulation. Segment's overall FAILED (or PARTIAL_SUCCESS) can come from a destination
 * that does not support deletion while Segment's own stores and every supporting destination finished
 * (vendors.md §0.5), so for those two words the destinations decide:
 * - any destination FAILED or INVALID: failed, naming them and their errors;
 * - otherwise any destination still INITIALIZED or RUNNING: in progress;
 * - otherwise (every destination FINISHED or NOT_SUPPORTED): completed, naming the destinations that could
 *   not delete, because their copy of the data is the operator's to remove by hand;
 * - FAILED with no destination reported at all: failed (nothing shows the deletion happened).
 * INVALID and NOT_SUPPORTED overall mean the request itself cannot be carried out: failed.
 */
export function classifySegmentRegulation(
  overall: SegmentStatusWord,
  destinations: readonly SegmentDestinationStatus[],
): SegmentClassification {
  if (overall !== 'FAILED' && overall !== 'PARTIAL_SUCCESS') {
    const state = SEGMENT_STATUS_MAP[overall];
    const unsupported = destinations.filter((d) => d.status === 'NOT_SUPPORTED');
    if (state === 'completed' && unsupported.length > 0) {
      return { state, detail: `deleted; destinations without deletion support kept their copy: ${unsupported.map(named).join(', ')}` };
    }
    if (state === 'failed') return { state, detail: `Segment marked the regulation ${overall}` };
    return { state };
  }
  const failed = destinations.filter((d) => d.status === 'FAILED' || d.status === 'INVALID');
  if (failed.length > 0) {
    const what = failed.map((d) => `${named(d)} ${d.status}${d.errString ? ` (${d.errString})` : ''}`).join('; ');
    return { state: 'failed', detail: `Segment reported ${overall}: ${what}` };
  }
  if (destinations.length === 0) {
    return overall === 'FAILED'
      ? { state: 'failed', detail: 'Segment reported FAILED without any destination status' }
      : { state: 'completed', detail: 'Segment reported PARTIAL_SUCCESS without any destination status' };
  }
  if (destinations.some((d) => d.status === 'INITIALIZED' || d.status === 'RUNNING')) return { state: 'in_progress' };
  const unsupported = destinations.filter((d) => d.status === 'NOT_SUPPORTED');
  return {
    state: 'completed',
    detail:
      unsupported.length > 0
        ? `Segment reported ${overall} only because destinations without deletion support could not delete: ${unsupported.map(named).join(', ')}`
        : `Segment reported ${overall} although every destination finished`,
  };
}
