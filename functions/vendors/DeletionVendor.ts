import type { OperationRef, OperationToCheck, StatusReport, VerificationReport } from '../domain/operation.js';
import type { VendorPolicy } from '../domain/policy.js';
import type { Regulation } from '../domain/regulation.js';

// The values a vendor call carries are the domain's; adapters import them from here with the port.
export {
  OperationRefSchema,
  VENDOR_STATES,
  type OperationRef,
  type OperationToCheck,
  type StatusReport,
  type VendorState,
  type VerificationReport,
} from '../domain/operation.js';
export type { VendorPolicy } from '../domain/policy.js';
export { VENDOR_KINDS, isVendorKind, type VendorKind } from '../domain/vendorKinds.js';

/** The privacy laws a deletion can be made under, as OpenDSR spells them (Mixpanel: upper case). */
export { REGULATIONS, type Regulation } from '../domain/regulation.js';

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
  /**
   * The law the request is made under, as the vendor is told (domain/regulation.ts maps the request's regime);
   * absent, each adapter uses its configured default.
   */
  regulation?: Regulation;
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

/** A vendor's documented policy with the operator's overrides on top (an undefined override keeps the default). */
export function withPolicyOverrides(defaults: Readonly<VendorPolicy>, overrides: Partial<VendorPolicy> = {}): VendorPolicy {
  const policy: VendorPolicy = { ...defaults };
  for (const [key, value] of Object.entries(overrides) as [keyof VendorPolicy, number | undefined][]) {
    if (value !== undefined) policy[key] = value;
  }
  return policy;
}

/**
 * One check round (a poll cycle): a shared job (a regulation, a task, a day's listing) is read from the vendor
 * once in it, however the round's claims split the job's operations. `read` returns the first read's promise
 * (its answer or its fault) to every later caller with the same key.
 */
export interface CheckRound {
  read<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Whether `key` was read (or is being read) in this round: a batch of it costs no call. */
  has(key: string): boolean;
}

/** A round for one vendor: a map of keys to the first read's promise. */
export function createCheckRound(): CheckRound {
  const reads = new Map<string, Promise<unknown>>();
  return {
    read<T>(key: string, load: () => Promise<T>): Promise<T> {
      let p = reads.get(key) as Promise<T> | undefined;
      if (!p) {
        p = load();
        reads.set(key, p);
      }
      return p;
    },
    has: (key) => reads.has(key),
  };
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
  checkStatus(operations: OperationToCheck[], round?: CheckRound): Promise<Map<string, StatusReport>>;
  /**
   * The vendor job an operation's status is read from, where one call reads a whole job shared by many
   * operations (a regulation, a task, a day's listing). The poller checks one job per batch, so that one
   * rate-budget token pays for exactly one call; without it every batch is taken to cost one call.
   */
  jobOf?(operation: OperationToCheck): string;
  /** Cancels a job that has not started, where the vendor allows it. Returns false if it is too late. */
  cancel?(operation: OperationToCheck): Promise<boolean>;
  /**
   * Looks the customer up after the vendor reported the deletion complete, where the vendor documents a lookup
   * and the operator turned it on (test/fixtures/vendors/LOOKUPS.md). Nothing found: verified; data found: the
   * verification failed, and the answer is the evidence.
   */
  verify?(operation: OperationToCheck): Promise<VerificationReport>;
}
