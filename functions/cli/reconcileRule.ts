import type { ScannedCustomer } from './firestoreAdmin.js';
import type { LatestRequest } from '../store/latestRequests.js';

/** What reconciliation concludes about one customer document. */
export type ReconcileVerdict =
  /** Consent is true: nothing to delete. */
  | 'consented'
  /** A request already covers the withdrawal (none regranted since). */
  | 'covered'
  /** Never written since it was created without consent: not a revocation (unless the operator includes these). */
  | 'never_consented'
  /** Consent is not true and no request exists since the last grant: a revocation was lost. */
  | 'missing';

/**
 * Decides whether a customer needs a deletion request that does not exist. Consent not true with an open
 * request (not regranted since) is covered; not true with no request, or with a request that was regranted
 * and so ended, means a revocation was lost. A document never updated since it was created without consent is
 * not a revocation (DESIGN.md), unless `includeNeverUpdated` says to treat it as one.
 */
export function reconcileVerdict(
  customer: ScannedCustomer,
  latest: LatestRequest | undefined,
  includeNeverUpdated = false,
): ReconcileVerdict {
  if (customer.consent === true) return 'consented';
  if (latest) {
    if (latest.regrantedAt === null) return 'covered';
    // Regranted, and consent is not true again: covered only if that request is itself newer than the last write.
    return latest.revokedAt.getTime() >= customer.updateTime.getTime() ? 'covered' : 'missing';
  }
  if (!includeNeverUpdated && customer.createTime.getTime() === customer.updateTime.getTime()) return 'never_consented';
  return 'missing';
}
