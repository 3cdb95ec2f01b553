import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';

/** OpenDSR request_status words (vendors.md A4, A6); the spec has no failed state. */
export const OPENDSR_STATUS_WORDS = ['pending', 'in_progress', 'completed', 'cancelled'] as const;
export type OpenDsrStatusWord = (typeof OPENDSR_STATUS_WORDS)[number];
export const OpenDsrStatusWordSchema = z.enum(OPENDSR_STATUS_WORDS);

/** pending can still be cancelled; failure shows up only as errors or as never completing. */
export const OPENDSR_STATUS_MAP: Readonly<Record<OpenDsrStatusWord, VendorState>> = {
  pending: 'submitted',
  in_progress: 'in_progress',
  completed: 'completed',
  cancelled: 'cancelled',
};
