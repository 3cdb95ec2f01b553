/** How fast and how much an adapter may call its vendor, and what "late" means there. */
export interface VendorPolicy {
  /** Subjects per create call; 1 means one customer per call (submitted at ingest, like the seed). */
  maxBatchSize: number;
  /** Sustained calls per second across submissions and status checks. */
  requestsPerSecond: number;
  /** New-request quota per day, where the vendor has one. */
  dailySubmitQuota?: number;
  /**
   * Subjects (customers) the vendor accepts per calendar month, counted from our own record of submissions
   * (domain/subjectQuota.ts), where it has such a quota (Segment: 110,000). Past it, deletions wait for the month.
   */
  monthlySubjectQuota?: number;
  /** The share of `monthlySubjectQuota` at which an alert is raised (default 0.8). */
  quotaAlertShare?: number;
  /**
   * Calls in flight at once: where `maxConcurrency` is set, the least the poller uses and where it starts;
   * otherwise the fixed number (a vendor's documented limit on parallel calls, or an operator's setting).
   */
  concurrency: number;
  /**
   * The most calls in flight the poller may size up to from the measured latency and the rate
   * (domain/inFlight.ts); unset means `concurrency` is fixed.
   */
  maxConcurrency?: number;
  /** Typical time from submission to completion; past it an operation is stale. */
  expectedDurationMs: number;
  /** No status change for this long is an alarm even before the expected duration. */
  noProgressMs: number;
  /** First and last gap between status checks of one operation. */
  minCheckIntervalMs: number;
  maxCheckIntervalMs: number;
  /** Submissions tried before a failed deletion needs a person. */
  maxSubmitAttempts: number;
  /**
   * Refused creates (a 4xx other than 401/403/408/409/429, an undocumented answer) tried before the deletion
   * goes to `error` and a person (default DEFAULT_MAX_REFUSALS in failureClasses.ts).
   */
  maxRefusals?: number;
  /** Per-call timeout. */
  timeoutMs: number;
}

/**
 * How long an adapter call may take before it is abandoned: twice its per-call timeout (an adapter may make
 * two calls, e.g. a create answered "already exists" and the read that follows) and a second to spare.
 */
export function guardMs(policy: Pick<VendorPolicy, 'timeoutMs'>): number {
  return policy.timeoutMs * 2 + 1000;
}

/**
 * How long a process leases a deletion it calls the vendor about right away (the ingest's submission, a
 * regrant's cancel): the call and its guard, and no more, so a crash hands the row to the poller soon.
 */
export function callLeaseMs(policy: Pick<VendorPolicy, 'timeoutMs'>): number {
  return policy.timeoutMs * 2 + 30_000;
}
