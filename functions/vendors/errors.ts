import { ConsentErasureError } from '../errors.js';

/** Base of every fault a vendor adapter reports. `vendor` names the adapter. */
export class VendorError extends ConsentErasureError {
  constructor(
    readonly vendor: string,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`${vendor}: ${message}`, options);
    this.status = options?.status;
  }
  readonly status: number | undefined;
}

/** 5xx, timeout, connection reset: try again later. */
export class VendorTransientError extends VendorError {}

/** 429: pause this vendor for `retryAfterMs`. */
export class VendorRateLimitedError extends VendorError {
  constructor(
    vendor: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown; status?: number },
  ) {
    super(vendor, `rate limited, retry after ${retryAfterMs} ms`, options);
  }
}

/** 401/403: the credential was rejected (expired token, revoked key). Needs a person. */
export class VendorAuthError extends VendorError {}

/** A 4xx the vendor will answer the same way every time (bad request, unknown operation). */
export class VendorRejectedError extends VendorError {}

/**
 * The response broke the vendor's documented contract (missing field, unknown status, non-JSON body).
 * The operation keeps its last good state; the violation is logged at ERROR and alerted once per incident.
 */
export class VendorContractError extends VendorError {
  constructor(
    vendor: string,
    readonly problem: string,
    /** A short, secret-free sample of what was received. */
    readonly sample: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(vendor, `contract violation: ${problem}`, options);
  }
}
