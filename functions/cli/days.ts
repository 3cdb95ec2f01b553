import { DAY } from '../clock.js';

/**
 * Whole days left before a deadline, rounded up (0.2 days reads as 1); 0 or less once it has passed.
 * Null for a deletion that has finished, where days left no longer mean anything.
 */
export function daysLeft(deadlineAt: Date, now: Date, finished: boolean): number | null {
  if (finished) return null;
  const left = deadlineAt.getTime() - now.getTime();
  return left > 0 ? Math.ceil(left / DAY) : Math.floor(left / DAY);
}
