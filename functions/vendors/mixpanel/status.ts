import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';

/** Mixpanel GDPR API v3 task status words, exactly as documented (vendors.md A2). */
export const MIXPANEL_STATUS_WORDS = ['PENDING', 'STAGING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED', 'NOT_FOUND', 'UNKNOWN'] as const;
export type MixpanelStatusWord = (typeof MIXPANEL_STATUS_WORDS)[number];
export const MixpanelStatusWordSchema = z.enum(MIXPANEL_STATUS_WORDS);

/**
 * Mixpanel's words mapped to our states (vendors.md A8): PENDING and STAGING can still be cancelled,
 * STARTED cannot; FAILURE needs a new task; NOT_FOUND and UNKNOWN mean Mixpanel cannot find the task.
 */
export const MIXPANEL_STATUS_MAP: Readonly<Record<MixpanelStatusWord, VendorState>> = {
  PENDING: 'submitted',
  STAGING: 'submitted',
  STARTED: 'in_progress',
  SUCCESS: 'completed',
  FAILURE: 'failed',
  REVOKED: 'cancelled',
  NOT_FOUND: 'error',
  UNKNOWN: 'error',
};

/** Why a status ended where it did, for the operator: Mixpanel's own words (reference page, Return Key). */
export const MIXPANEL_STATUS_DETAIL: Partial<Record<MixpanelStatusWord, string>> = {
  FAILURE: 'The deletion task has failed. Check the original task input parameters and create a new task.',
  REVOKED: 'The deletion task has been canceled through a DELETE operation.',
  NOT_FOUND: 'The deletion task cannot be found.',
  UNKNOWN: 'An error occurred while locating the deletion task.',
};
