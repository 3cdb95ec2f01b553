import type { VendorConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { DeletionVendor, VendorKind, VendorPolicy } from './DeletionVendor.js';
import { createHttpVendor } from './http/httpVendor.js';
import { createAmplitudeVendor } from './amplitude/amplitudeVendor.js';
import { createMixpanelVendor } from './mixpanel/mixpanelVendor.js';
import { createAppsFlyerVendor, createMParticleVendor } from './opendsr/openDsrVendor.js';
import { createSegmentVendor } from './segment/segmentVendor.js';
import { VENDOR_SETTINGS, type VendorSettings } from './settings.js';

type NamedKind = Exclude<VendorKind, 'http'>;

/** The adapters of the vendors with their own API (settings already validated). */
function createNamedVendor<K extends NamedKind>(name: K, settings: VendorSettings<K>, policy: Partial<VendorPolicy>): DeletionVendor {
  switch (name) {
    case 'segment':
      return createSegmentVendor(settings as VendorSettings<'segment'>, policy);
    case 'mixpanel':
      return createMixpanelVendor(settings as VendorSettings<'mixpanel'>, policy);
    case 'amplitude':
      return createAmplitudeVendor(settings as VendorSettings<'amplitude'>, policy);
    case 'mparticle':
      return createMParticleVendor(settings as VendorSettings<'mparticle'>, policy);
    default:
      return createAppsFlyerVendor(settings as VendorSettings<'appsflyer'>, policy);
  }
}

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
      case 'appsflyer': {
        const settings = VENDOR_SETTINGS[config.name].safeParse(config.settings);
        if (!settings.success) {
          problems.push(...settings.error.issues.map((i) => `${prefix} settings ${i.path.join('.') || '(root)'}: ${i.message}`));
          break;
        }
        vendors.push(createNamedVendor(config.name, settings.data, policy));
        break;
      }
      default: {
        const unknown: never = config.name;
        problems.push(`VENDORS: unknown vendor "${String(unknown)}"`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return vendors;
}
