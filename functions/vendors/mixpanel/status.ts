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

/** Why a status ended where it did, for the operator. */
export const MIXPANEL_STATUS_DETAIL: Partial<Record<MixpanelStatusWord, string>> = {
  FAILURE: 'Mixpanel could not carry out the task: check its input and create a new task',
  REVOKED: 'the task was cancelled at Mixpanel',
  NOT_FOUND: 'Mixpanel cannot find the deletion task',
  UNKNOWN: 'Mixpanel had an error while locating the deletion task',
};
