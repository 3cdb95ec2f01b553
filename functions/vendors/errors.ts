import { ConsentErasureError, PermanentError, TransientError } from '../errors.js';
import type { VendorFaultKind } from '../domain/statusTransition.js';

/**
 * The faults a vendor adapter reports, in the common tree: a fault a retry may cure (5xx, timeout, 429) is
 * a TransientError, one the vendor will answer the same way every time until a person acts (a rejected
 * credential, a rejected request, a broken contract) is a PermanentError. Each names its vendor, the HTTP
 * status if there was one, and its `kind`, which is how every caller classifies it (classifyVendorError).
 */
interface VendorFaultOptions {
  cause?: unknown;
  status?: number;
}

/** A vendor fault on `Base`'s branch of the tree: the vendor's name, the HTTP status if any, and its kind. */
function vendorFault(Base: typeof ConsentErasureError, kind: VendorFaultKind) {
  return class extends Base {
    readonly kind: VendorFaultKind = kind;
    readonly status: number | undefined;
    constructor(
      readonly vendor: string,
      message: string,
      options?: VendorFaultOptions,
    ) {
      super(`${vendor}: ${message}`, options);
      this.status = options?.status;
    }
  };
}

/** 5xx, timeout, connection reset: try again later. */
export class VendorTransientError extends vendorFault(TransientError, 'transient') {}

/** 429: pause this vendor for `retryAfterMs`. */
export class VendorRateLimitedError extends vendorFault(TransientError, 'rate_limited') {
  constructor(
    vendor: string,
    readonly retryAfterMs: number,
    options?: VendorFaultOptions,
  ) {
    super(vendor, `rate limited, retry after ${retryAfterMs} ms`, options);
  }
}

/** 401/403: the credential was rejected (expired token, revoked key). Needs a person. */
export class VendorAuthError extends vendorFault(PermanentError, 'auth') {}

/** A 4xx the vendor will answer the same way every time (bad request, unknown operation). */
export class VendorRejectedError extends vendorFault(PermanentError, 'rejected') {}

/**
 * The response broke the vendor's documented contract (missing field, unknown status, non-JSON body).
 * The operation keeps its last good state; the violation is logged at ERROR and alerted once per incident.
 */
export class VendorContractError extends vendorFault(PermanentError, 'contract') {
  /** The answer was not JSON at all (an HTML page, a cut-off body), as opposed to JSON of the wrong shape. */
  readonly notJson: boolean;
  constructor(
    vendor: string,
    readonly problem: string,
    /** A short, secret-free sample of what was received. */
    readonly sample: string,
    options?: VendorFaultOptions & { notJson?: boolean },
  ) {
    super(vendor, `contract violation: ${problem}`, options);
    this.notJson = options?.notJson ?? false;
  }
}

/** Any of the vendor faults above. */
export type VendorError = VendorTransientError | VendorRateLimitedError | VendorAuthError | VendorRejectedError | VendorContractError;

const VENDOR_ERRORS = [VendorTransientError, VendorRateLimitedError, VendorAuthError, VendorRejectedError, VendorContractError] as const;

/** `err instanceof VendorError` holds for every vendor fault, whichever branch of the tree it is on. */
export const VendorError = {
  [Symbol.hasInstance](err: unknown): err is VendorError {
    return VENDOR_ERRORS.some((type) => err instanceof type);
  },
};

/** The facts of a fault that its failure class is decided on (domain/failureClasses.ts). */
export function faultFactsOf(err: unknown): { kind: VendorFaultKind; httpStatus?: number; notJson?: boolean } {
  if (!(err instanceof VendorError)) return { kind: 'transient' };
  return {
    kind: err.kind,
    ...(err.status !== undefined ? { httpStatus: err.status } : {}),
    ...(err instanceof VendorContractError && err.notJson ? { notJson: true } : {}),
  };
}

/** How a fault thrown by an adapter is classified. Anything that is not a vendor fault counts as transient. */
export function classifyVendorError(err: unknown): VendorFaultKind {
  return err instanceof VendorError ? err.kind : 'transient';
}
