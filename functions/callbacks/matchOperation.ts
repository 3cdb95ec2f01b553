import type { AcceptedCallback } from './decideCallback.js';
import { logSafe } from './reasons.js';

/** What the store knows of the deletion a callback names (looked up by `subject_request_id`). */
export interface KnownOperation {
  /** Our vendor name for the deletion's vendor. */
  vendor: string;
  /** The controller_id the vendor gave at creation, when it gave one (AppsFlyer's create answer has none). */
  controllerId?: string | null;
}

export type OperationDecision =
  | { accepted: true; status: 202; reason: 'accepted'; detail: string }
  | { accepted: false; status: 403 | 404; reason: 'unknown_request' | 'request_other_vendor' | 'controller_mismatch'; detail: string };

/**
 * The second half of the decision, once the wiring has looked the request id up: an unknown id is 404; a verified
 * callback naming another vendor's deletion (one processor's genuine signature replayed against another vendor's
 * request) or another controller's id is 403. Nothing is changed in either case.
 */
export function decideForOperation(callback: AcceptedCallback, operation: KnownOperation | null): OperationDecision {
  const id = callback.callback.subjectRequestId;
  const domain = callback.evidence.processorDomain;
  if (!operation) {
    return { accepted: false, status: 404, reason: 'unknown_request', detail: logSafe(`no deletion with subject_request_id ${id} (from ${domain})`) };
  }
  if (operation.vendor !== callback.processor.vendor) {
    return {
      accepted: false,
      status: 403,
      reason: 'request_other_vendor',
      detail: logSafe(`request ${id} belongs to ${operation.vendor}, but the callback is signed by ${domain} (${callback.processor.vendor})`),
    };
  }
  if (operation.controllerId && operation.controllerId !== callback.callback.controllerId) {
    return {
      accepted: false,
      status: 403,
      reason: 'controller_mismatch',
      detail: logSafe(`request ${id}: controller_id ${callback.callback.controllerId} is not ours (${operation.controllerId})`),
    };
  }
  return { accepted: true, status: 202, reason: 'accepted', detail: callback.detail };
}
