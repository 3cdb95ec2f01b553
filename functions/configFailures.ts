import { z } from 'zod';
import { MINUTE } from './clock.js';
import { MASS_REFUSAL_DEFAULTS, type MassRefusalPolicy } from './domain/failureClasses.js';

/**
 * The variables of how failures end (domain/failureClasses.ts): when the same refusal across many deletions of
 * one vendor holds the vendor, and the deployed revision that a hold is keyed by (a new revision releases it).
 */
export const MassRefusalEnv = {
  MASS_REFUSAL_DELETIONS: z.coerce.number().int().min(1).max(1_000_000).default(MASS_REFUSAL_DEFAULTS.deletions),
  MASS_REFUSAL_WINDOW_MINUTES: z.coerce.number().positive().max(7 * 24 * 60).default(MASS_REFUSAL_DEFAULTS.windowMs / MINUTE),
  /** Set by Cloud Run on a deployed function: the revision serving this process. */
  K_REVISION: z.string().min(1).optional(),
};

/** The failure settings as the poller reads them. */
export function massRefusalOf(e: { MASS_REFUSAL_DELETIONS: number; MASS_REFUSAL_WINDOW_MINUTES: number; K_REVISION?: string | undefined }): {
  massRefusal: MassRefusalPolicy;
  revision: string | undefined;
} {
  return { massRefusal: { deletions: e.MASS_REFUSAL_DELETIONS, windowMs: e.MASS_REFUSAL_WINDOW_MINUTES * MINUTE }, revision: e.K_REVISION };
}
