import { guardMs } from '../domain/policy.js';
import type { DeletionVendor } from './DeletionVendor.js';
import { VendorTransientError } from './errors.js';

/**
 * Races an adapter call against a guard timer: callVendor already times out each request, but an adapter
 * that never settles must not hold the lease (and the function) until the platform kills it.
 */
export async function guarded<T>(vendor: Pick<DeletionVendor, 'name' | 'policy'>, what: string, work: Promise<T>): Promise<T> {
  const ms = guardMs(vendor.policy);
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VendorTransientError(vendor.name, `${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
  }
}
