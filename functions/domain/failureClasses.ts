import type { StatusEvent } from './deletion.js';
import type { VendorFaultKind } from './statusTransition.js';

/**
 * Every way a vendor call can fail, and how each ends: one table (FAILURE_HANDLING), read by the submitter
 * (services/submitDeletions.ts), the poller's submit step and the status rules (statusTransition.ts).
 * Nothing is retried without an end: a refusal ends in `error` after a few tries and reaches a person, a
 * credential or contract problem is one vendor incident, a transient fault runs into the deadline alerts.
 */

/** The classes of failure, as an operator would name them. */
export const FAILURE_CLASSES = ['refusal', 'contract', 'credential', 'rate_limit', 'transient'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** What is known of one failed call. */
export interface FaultFacts {
  kind: VendorFaultKind;
  httpStatus?: number | undefined;
  /** The answer was not JSON at all (an HTML page from a proxy, a cut-off body). */
  notJson?: boolean | undefined;
}

/** What a failed status check does to its row. */
export interface CheckRule {
  /** The kind stored in vendor_deletion.last_error_kind. */
  stored: string;
  event: StatusEvent['kind'];
  /** The row goes to `error` at once: asking again cannot help. */
  gaveUp: boolean;
}

/** How one class of failure is handled. */
export interface FailureHandling {
  /** What it is about: one deletion, or the vendor as a whole. */
  scope: 'deletion' | 'vendor';
  /** A refused create counts against the vendor's `maxRefusals`; at the limit the deletion goes to `error`. */
  bounded: boolean;
  /** The same refusal across many deletions holds the vendor (a mass refusal): one incident, not thousands of calls. */
  mass: boolean;
  /** The vendor-wide incident it opens (one alert however many deletions it touches). */
  incident: 'contract_violation' | 'credential_rejected' | null;
  /** How the next try is spaced: doubling from the vendor's shortest check interval, or the vendor's Retry-After. */
  backoff: 'doubling' | 'retry_after';
  /** What ends it, for the README and the alert text. */
  ends: string;
  /** A failed status check of an accepted job. */
  check: CheckRule;
}

export const FAILURE_HANDLING: Readonly<Record<FailureClass, FailureHandling>> = {
  // 4xx other than 401/403/408/409/429: the vendor will answer the same until a person changes something.
  refusal: {
    scope: 'deletion',
    bounded: true,
    mass: true,
    incident: null,
    backoff: 'doubling',
    ends: 'error after maxRefusals tries, with a failed alert naming the vendor\'s words',
    check: { stored: 'rejected', event: 'error', gaveUp: true },
  },
  // A JSON answer to a create in a shape the vendor does not document: bounded like a refusal (we cannot tell a
  // job was made), and one incident for the vendor. On a status check the row keeps its last good state.
  contract: {
    scope: 'vendor',
    bounded: true,
    // Already one vendor incident of its own, which closes by itself when the vendor answers well again.
    mass: false,
    incident: 'contract_violation',
    backoff: 'doubling',
    ends: 'error after maxRefusals tries on create; on a check, the incident closes when the vendor answers well',
    check: { stored: 'contract_violation', event: 'contract_violation', gaveUp: false },
  },
  // 401/403: every call would be refused; the vendor is held (one incident), not each deletion.
  credential: {
    scope: 'vendor',
    bounded: false,
    mass: false,
    incident: 'credential_rejected',
    backoff: 'doubling',
    ends: 'the incident closes when the credential is accepted; the deadline alerts are the backstop',
    check: { stored: 'credential_rejected', event: 'error', gaveUp: false },
  },
  // 429: the vendor is paused for its Retry-After (services/poll/vendorGate.ts).
  rate_limit: {
    scope: 'vendor',
    bounded: false,
    mass: false,
    incident: null,
    backoff: 'retry_after',
    ends: 'the pause ends; the deadline alerts are the backstop',
    check: { stored: 'transient', event: 'error', gaveUp: false },
  },
  // 5xx, timeouts, connection faults, 408, 409, a create answered with something that is not JSON.
  transient: {
    scope: 'deletion',
    bounded: false,
    mass: false,
    incident: null,
    backoff: 'doubling',
    ends: 'retried until it works; the deadline warning and deadline missed alerts are the backstop',
    check: { stored: 'transient', event: 'error', gaveUp: false },
  },
};

/** 408 (the vendor timed out) and 409 (a job for the subject is in flight) pass by themselves. */
const PASSING_4XX = new Set([408, 409]);

/**
 * The class of a failed call. `submit`: a create call, where an answer that is not JSON at all (a proxy's HTML
 * page) is taken as an outage, since the vendor's API never answered; on a status check it breaks the contract.
 */
export function failureClassOf(fault: FaultFacts, call: 'submit' | 'check'): FailureClass {
  switch (fault.kind) {
    case 'rate_limited':
      return 'rate_limit';
    case 'auth':
      return 'credential';
    case 'transient':
      return 'transient';
    case 'rejected':
      return fault.httpStatus !== undefined && PASSING_4XX.has(fault.httpStatus) ? 'transient' : 'refusal';
    case 'contract':
      return call === 'submit' && fault.notJson ? 'transient' : 'contract';
  }
}

/** The refusals a vendor may answer for one deletion before it goes to `error`, unless its policy says otherwise. */
export const DEFAULT_MAX_REFUSALS = 3;

/** After a failed create: the deletion's refusals counted so far, and whether it now goes to a person. */
export function afterSubmitFailure(cls: FailureClass, refusals: number, maxRefusals: number = DEFAULT_MAX_REFUSALS): { refusals: number; giveUp: boolean } {
  if (!FAILURE_HANDLING[cls].bounded) return { refusals, giveUp: false };
  const counted = refusals + 1;
  return { refusals: counted, giveUp: counted >= maxRefusals };
}

/** When the same refusal across many deletions of one vendor holds the vendor. */
export interface MassRefusalPolicy {
  /** Distinct deletions refused with the same words … */
  deletions: number;
  /** … within this long. */
  windowMs: number;
}

export const MASS_REFUSAL_DEFAULTS: Readonly<MassRefusalPolicy> = { deletions: 10, windowMs: 60 * 60 * 1000 };

/** The longest vendor message kept with a deletion and shown in its alert. */
export const MAX_REFUSAL_WORDS = 500;

/**
 * What makes two refusals "the same": the vendor's words with the refused subjects' ids taken out (a vendor that
 * quotes the id it refuses still refuses every subject for one cause), capped in length.
 */
export function refusalSignature(message: string, customerIds: readonly string[]): string {
  let words = message;
  for (const id of [...customerIds].filter((i) => i.length >= 3).sort((a, b) => b.length - a.length)) words = words.split(id).join('…');
  return words.slice(0, MAX_REFUSAL_WORDS);
}
