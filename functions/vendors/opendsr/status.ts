import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';

/** The OpenDSR 2.0 specification's request_status words (section 8), which mParticle documents; no failed state. */
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

/**
 * AppsFlyer's words: its OpenAPI file spells `in-progress` and `canceled`; AppsFlyer implements OpenDSR, whose
 * specification spells `in_progress` and `cancelled`. Both spellings are accepted.
 */
export const APPSFLYER_STATUS_WORDS = ['pending', 'in-progress', 'in_progress', 'completed', 'canceled', 'cancelled'] as const;
export type AppsFlyerStatusWord = (typeof APPSFLYER_STATUS_WORDS)[number];
export const AppsFlyerStatusWordSchema = z.enum(APPSFLYER_STATUS_WORDS);
export const APPSFLYER_STATUS_MAP: Readonly<Record<AppsFlyerStatusWord, VendorState>> = {
  pending: 'submitted',
  'in-progress': 'in_progress',
  in_progress: 'in_progress',
  completed: 'completed',
  canceled: 'cancelled',
  cancelled: 'cancelled',
};

/** mParticle's forwarding status of one partner in `extensions[]` (DSR API v3, Extensions). */
export const MPARTICLE_FORWARDING_WORDS = ['pending', 'skipped', 'sent', 'failed'] as const;
export const MParticleForwardingWordSchema = z.enum(MPARTICLE_FORWARDING_WORDS);
