import type { VendorState } from './operation.js';

/** A request status in OpenDSR's vocabulary (the callback's, after its spellings are mapped). */
export type ClaimedStatus = 'pending' | 'in_progress' | 'completed' | 'cancelled';

/** The vendors' own words for what a status check saw, mapped to OpenDSR's (OpenDSR, AppsFlyer, Mixpanel). */
const WORDS: Readonly<Record<string, ClaimedStatus | 'failed'>> = {
  pending: 'pending',
  in_progress: 'in_progress',
  'in-progress': 'in_progress',
  completed: 'completed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  PENDING: 'pending',
  STAGING: 'pending',
  STARTED: 'in_progress',
  SUCCESS: 'completed',
  REVOKED: 'cancelled',
  FAILURE: 'failed',
};

const OF_STATE: Readonly<Partial<Record<VendorState, ClaimedStatus | 'failed'>>> = {
  submitted: 'pending',
  in_progress: 'in_progress',
  completed: 'completed',
  cancelled: 'cancelled',
  failed: 'failed',
};

const RANK: Readonly<Record<'pending' | 'in_progress' | 'completed', number>> = { pending: 0, in_progress: 1, completed: 2 };

/** What a check saw, in the callback's vocabulary: the vendor's word where it has one, else our state; null if neither says. */
export function checkedStatus(check: { state: VendorState; rawStatus: string }): ClaimedStatus | 'failed' | null {
  return WORDS[check.rawStatus] ?? OF_STATE[check.state] ?? null;
}

/**
 * Whether a status check made after a callback arrived contradicts it. A request only moves forward (pending →
 * in_progress → completed; cancelled only from pending), so a later check may show a later status than the callback,
 * never an earlier one, a cancellation the callback did not claim, or another end. A check that says nothing
 * comparable (an unknown request, a fault) contradicts nothing: it is its own alert.
 */
export function callbackContradicted(claimed: ClaimedStatus, checked: ClaimedStatus | 'failed' | null): boolean {
  if (checked === null) return false;
  if (claimed === 'cancelled' || checked === 'cancelled') return claimed !== checked && !(claimed === 'pending' && checked === 'cancelled');
  if (checked === 'failed') return claimed === 'completed';
  return RANK[checked] < RANK[claimed];
}
