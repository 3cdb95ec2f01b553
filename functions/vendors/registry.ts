import type { VendorConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { DeletionVendor } from './DeletionVendor.js';
import { createHttpVendor } from './http/httpVendor.js';
import { VENDOR_SETTINGS } from './settings.js';

export interface CreateVendorsOptions {
  /** Per-call timeout for every adapter, replacing each vendor's policy.timeoutMs (tests, the local stack). */
  fetchTimeoutMs?: number;
}

/**
 * Builds one adapter per configured vendor, in the configured order. Throws ConfigError listing every
 * vendor it cannot build (settings that do not validate, an adapter this build does not have).
 */
export function createVendors(configs: VendorConfig[], options: CreateVendorsOptions = {}): DeletionVendor[] {
  const problems: string[] = [];
  const vendors: DeletionVendor[] = [];
  for (const config of configs) {
    const policy = options.fetchTimeoutMs === undefined ? config.policy : { ...config.policy, timeoutMs: options.fetchTimeoutMs };
    const prefix = `VENDOR_${config.name.toUpperCase()}`;
    switch (config.name) {
      case 'http': {
        const settings = VENDOR_SETTINGS.http.safeParse(config.settings);
        if (!settings.success) {
          problems.push(...settings.error.issues.map((i) => `${prefix} settings ${i.path.join('.') || '(root)'}: ${i.message}`));
          break;
        }
        vendors.push(createHttpVendor(settings.data, policy));
        break;
      }
      case 'segment':
      case 'mixpanel':
      case 'amplitude':
      case 'mparticle':
      case 'appsflyer':
        problems.push(`VENDORS: "${config.name}" has no adapter in this build yet (available: http)`);
        break;
      default: {
        const unknown: never = config.name;
        problems.push(`VENDORS: unknown vendor "${String(unknown)}"`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return vendors;
}
