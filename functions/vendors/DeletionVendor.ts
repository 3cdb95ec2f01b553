import { z } from 'zod';

/** The names of the vendor adapters this build knows. */
export const VENDOR_KINDS = ['http', 'segment', 'mixpanel', 'amplitude', 'mparticle', 'appsflyer'] as const;
export type VendorKind = (typeof VENDOR_KINDS)[number];

export function isVendorKind(v: unknown): v is VendorKind {
  return typeof v === 'string' && (VENDOR_KINDS as readonly string[]).includes(v);
}

/**
 * What identifies a job at a vendor. Some vendors' jobs cover many customers, and some have no id at all
 * (Amplitude: project + scheduled day), so it is JSON, with `operationId` as its text form for operators.
 */
export const OperationRefSchema = z.record(z.string(), z.unknown());
export type OperationRef = z.infer<typeof OperationRefSchema>;

/** The privacy laws a deletion can be made under, as OpenDSR spells them (Mixpanel: upper case). */
export const REGULATIONS = ['gdpr', 'ccpa'] as const;
export type Regulation = (typeof REGULATIONS)[number];

/** One customer to delete at one vendor, as the poller or the ingest hands it to an adapter. */
export interface DeletionSubject {
  /** Our vendor_deletion row id. */
  deletionId: string;
  customerId: string;
  /** A UUID written before the first call; adapters whose vendor dedupes on a client id send it. */
  idempotencyKey: string;
  /**
   * When the data subject withdrew consent (the request's revoked_at): OpenDSR's submitted_time is "the time
   * the Data Subject originally submitted the request", not the time we send it.
   */
  revokedAt?: Date;
  /** The law the request is made under; absent, each adapter uses its configured default. */
  regulation?: Regulation;
}

/** The normalised state a vendor status maps to (facts: vendors.md A8). */
export const VENDOR_STATES = ['submitted', 'in_progress', 'completed', 'failed', 'cancelled', 'error'] as const;
export type VendorState = (typeof VENDOR_STATES)[number];

/** One status reading of one operation. */
export interface StatusReport {
  state: VendorState;
  /** The vendor's own status word, exactly as received. */
  rawStatus: string;
  /** The vendor's status payload (already free of secrets), kept as evidence. */
  payload: unknown;
  /** When the vendor says it expects to finish, if it says. */
  expectedCompletionAt?: Date;
  /** Human-readable explanation for failed/error states. */
  detail?: string;
}

/** The outcome of submitting one subject. */
export interface SubmittedOperation {
  deletionId: string;
  ref: OperationRef;
  /** Text form of `ref` for views and emails. */
  operationId: string;
  /** A status the create call already reported, if any. */
  status?: StatusReport;
}

/** An operation to check, as stored. */
export interface OperationToCheck {
  deletionId: string;
  customerId: string;
  ref: OperationRef;
  operationId: string;
  submittedAt: Date;
}

/** How fast and how much an adapter may call its vendor, and what "late" means there. */
export interface VendorPolicy {
  /** Subjects per create call; 1 means one customer per call (submitted at ingest, like the seed). */
  maxBatchSize: number;
  /** Sustained calls per second across submissions and status checks. */
  requestsPerSecond: number;
  /** New-request quota per day, where the vendor has one. */
  dailySubmitQuota?: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Typical time from submission to completion; past it an operation is stale. */
  expectedDurationMs: number;
  /** No status change for this long is an alarm even before the expected duration. */
  noProgressMs: number;
  /** First and last gap between status checks of one operation. */
  minCheckIntervalMs: number;
  maxCheckIntervalMs: number;
  /** Submissions tried before a failed deletion needs a person. */
  maxSubmitAttempts: number;
  /** Per-call timeout. */
  timeoutMs: number;
}

/** A vendor's documented policy with the operator's overrides on top (an undefined override keeps the default). */
export function withPolicyOverrides(defaults: Readonly<VendorPolicy>, overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  const policy: VendorPolicy = { ...defaults };
  for (const [key, value] of Object.entries(overrides) as [keyof VendorPolicy, number | undefined][]) {
    if (value !== undefined) policy[key] = value;
  }
  return policy;
}

/**
 * The port every vendor adapter implements. Adapters validate every response with zod and throw the
 * errors in vendors/errors.ts; they never guess that an unreadable status means "still pending".
 */
export interface DeletionVendor {
  /** The configured vendor name (`http`, `segment`, …): the `vendor` column. */
  readonly name: string;
  readonly policy: VendorPolicy;
  /** Asks the vendor to delete these subjects (at most policy.maxBatchSize). */
  submit(subjects: DeletionSubject[]): Promise<SubmittedOperation[]>;
  /**
   * Reads the status of these operations. Returns one report per deletionId it could read; an operation
   * missing from the map was not read this time (the caller re-schedules it).
   */
  checkStatus(operations: OperationToCheck[]): Promise<Map<string, StatusReport>>;
  /**
   * The vendor job an operation's status is read from, where one call reads a whole job shared by many
   * operations (a regulation, a task, a day's listing). The poller checks one job per batch, so that one
   * rate-budget token pays for exactly one call; without it every batch is taken to cost one call.
   */
  jobOf?(operation: OperationToCheck): string;
  /** Cancels a job that has not started, where the vendor allows it. Returns false if it is too late. */
  cancel?(operation: OperationToCheck): Promise<boolean>;
  /** Confirms a completed deletion another way, where the vendor allows it. */
  verify?(operation: OperationToCheck): Promise<boolean>;
}
