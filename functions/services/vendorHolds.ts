import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { VendorConfig } from '../config.js';
import { readVendorHolds } from '../store/readVendorHolds.js';

/**
 * The key a mass-refusal hold is made under: a hash of the vendor's configuration (settings, credentials and
 * policy) and the deployed revision (K_REVISION). A hold whose key differs from the running one was made under
 * another configuration, so deploying a fix releases it without a person having to.
 */
export function holdKeyOf(vendor: Pick<VendorConfig, 'name' | 'settings' | 'policy'>, revision: string | undefined): string {
  const canonical = JSON.stringify([vendor.name, sorted(vendor.settings), sorted(vendor.policy), revision ?? null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** Each configured vendor's hold key; a vendor without a configuration (a test's hand-built one) is keyed by its name. */
export function holdKeysOf(config: { vendors?: readonly VendorConfig[]; failures?: { revision: string | undefined } }): (vendor: string) => string {
  const keys = new Map((config.vendors ?? []).map((v) => [v.name as string, holdKeyOf(v, config.failures?.revision)]));
  return (vendor) => keys.get(vendor) ?? `unconfigured:${vendor}`;
}

function sorted(value: object): Array<[string, unknown]> {
  return Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The vendors of `names` whose submissions are held now: an open mass-refusal incident made under the running
 * configuration. (One made under another configuration is left for the poller to close.)
 */
export async function heldVendors(pool: pg.Pool, names: readonly string[], keyOf: (vendor: string) => string): Promise<Set<string>> {
  const holds = await readVendorHolds(pool, names);
  return new Set(holds.filter((h) => h.holdKey === keyOf(h.vendor)).map((h) => h.vendor));
}
