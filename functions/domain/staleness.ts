import type { VendorPolicy } from './policy.js';

/** The times a staleness verdict is made from. */
export interface StalenessInput {
  queuedAt: Date;
  submittedAt: Date | null;
  /** The vendor's own expected completion, when it gave one. */
  expectedBy: Date | null;
  /** When the raw status last changed (null: never read). */
  statusChangedAt: Date | null;
}

/** When the deletion is expected to be done: the vendor's word, else submission (or queueing) + expected duration. */
export function expectedCompletion(policy: Pick<VendorPolicy, 'expectedDurationMs'>, input: StalenessInput): Date {
  if (input.expectedBy) return input.expectedBy;
  const start = input.submittedAt ?? input.queuedAt;
  return new Date(start.getTime() + policy.expectedDurationMs);
}

export type Staleness =
  | { kind: 'fresh' }
  | { kind: 'stale'; since: Date }
  | { kind: 'no_progress'; since: Date };

/**
 * Past the expected completion is `stale`; otherwise a status unchanged for longer than noProgressMs is
 * `no_progress`. Stale wins so one operation raises one kind of lateness alert, not two.
 */
export function staleness(
  policy: Pick<VendorPolicy, 'expectedDurationMs' | 'noProgressMs'>,
  input: StalenessInput,
  now: Date,
): Staleness {
  const expected = expectedCompletion(policy, input);
  if (now.getTime() >= expected.getTime()) return { kind: 'stale', since: expected };
  const lastChange = input.statusChangedAt ?? input.submittedAt ?? input.queuedAt;
  const limit = lastChange.getTime() + policy.noProgressMs;
  if (now.getTime() >= limit) return { kind: 'no_progress', since: new Date(limit) };
  return { kind: 'fresh' };
}
