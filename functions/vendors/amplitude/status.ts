import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';

/** Amplitude User Privacy API v1 job status words (vendors.md A3); there is no failure state. */
export const AMPLITUDE_STATUS_WORDS = ['staging', 'submitted', 'done'] as const;
export type AmplitudeStatusWord = (typeof AMPLITUDE_STATUS_WORDS)[number];
export const AmplitudeStatusWordSchema = z.enum(AMPLITUDE_STATUS_WORDS);

/** staging: not started, still cancellable; submitted: running; done: scrubbed and backups cleared. */
export const AMPLITUDE_STATUS_MAP: Readonly<Record<AmplitudeStatusWord, VendorState>> = {
  staging: 'submitted',
  submitted: 'in_progress',
  done: 'completed',
};

/** rawStatus of a customer Amplitude does not know (skipped with ignore_invalid_ids): nothing to delete. */
export const AMPLITUDE_INVALID_ID = 'invalid_id';
/** rawStatus of a customer missing from the job of its day (vendors.md A8: an error). */
export const AMPLITUDE_MISSING = 'missing_from_job';
