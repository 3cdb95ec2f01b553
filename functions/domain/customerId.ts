/**
 * Prefixes the system writes into customer-id columns itself: `hmac-sha256:` marks a pseudonym written by
 * retention, `purged:` one whose key was dropped. A real customer whose id began with one would be taken for a
 * pseudonymised record (skipped by retention, looked up as a pseudonym, accepted by verify-log), so such ids are
 * refused where they come in.
 */
export const RESERVED_CUSTOMER_ID_PREFIXES = ['hmac-sha256:', 'purged:'] as const;

/** Why `customerId` cannot be recorded (it starts with a reserved prefix), or undefined when it can. */
export function reservedCustomerIdProblem(customerId: string): string | undefined {
  const prefix = RESERVED_CUSTOMER_ID_PREFIXES.find((p) => customerId.toLowerCase().startsWith(p));
  if (!prefix) return undefined;
  return (
    `customer id ${JSON.stringify(customerId.slice(0, 80))} starts with "${prefix}", a prefix reserved for pseudonymised ids: ` +
    'not recorded; rename the customer document, or erase this customer by hand'
  );
}
