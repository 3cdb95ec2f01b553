import type { VendorPolicy } from './policy.js';

/** What the next-check rule needs to know about one operation. */
export interface BackoffInput {
  /** Status checks made so far (including the one just made). */
  checkCount: number;
  /** When the vendor or its policy expects the deletion to finish, if known. */
  expectedBy: Date | null;
  now: Date;
}

/**
 * Delay before the next status check: minCheckIntervalMs doubling per check up to maxCheckIntervalMs,
 * and shorter again as the expected completion approaches, so a deletion that should be done soon is
 * seen done soon without polling every operation often.
 */
export function nextCheckDelayMs(policy: Pick<VendorPolicy, 'minCheckIntervalMs' | 'maxCheckIntervalMs'>, input: BackoffInput): number {
  const min = Math.max(1, policy.minCheckIntervalMs);
  const max = Math.max(min, policy.maxCheckIntervalMs);
  // 2^n overflows to Infinity for large n, which Math.min handles.
  const exponent = Math.max(0, input.checkCount - 1);
  let delay = Math.min(max, min * 2 ** exponent);
  if (input.expectedBy) {
    const untilExpected = input.expectedBy.getTime() - input.now.getTime();
    // Aim at the expected completion: check again halfway there, never closer than the minimum.
    if (untilExpected > 0) delay = Math.min(delay, Math.max(min, Math.ceil(untilExpected / 2)));
  }
  return delay;
}

/** The time of the next status check (see nextCheckDelayMs). */
export function nextCheckAt(policy: Pick<VendorPolicy, 'minCheckIntervalMs' | 'maxCheckIntervalMs'>, input: BackoffInput): Date {
  return new Date(input.now.getTime() + nextCheckDelayMs(policy, input));
}
