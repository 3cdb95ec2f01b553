import { systemClock, type Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { VendorPolicy } from '../domain/policy.js';
import type { DeletionVendor, VendorKind } from './DeletionVendor.js';
import { withPolicyOverrides } from './DeletionVendor.js';
import { createHttpVendor, HTTP_POLICY_DEFAULTS } from './http/httpVendor.js';
import { AMPLITUDE_POLICY_DEFAULTS, createAmplitudeVendor } from './amplitude/amplitudeVendor.js';
import { createMixpanelVendor, MIXPANEL_POLICY_DEFAULTS } from './mixpanel/mixpanelVendor.js';
import { APPSFLYER_POLICY_DEFAULTS, createAppsFlyerVendor } from './opendsr/appsflyerVendor.js';
import { createMParticleVendor, MPARTICLE_POLICY_DEFAULTS } from './opendsr/mparticleVendor.js';
import { createSegmentVendor, SEGMENT_POLICY_DEFAULTS } from './segment/segmentVendor.js';
import type { VendorConfig, VendorConfigOf, VendorSettings } from './settings.js';

/** What an adapter is built with beside its settings and policy. */
export interface AdapterExtras {
  /** Our status callback endpoint(s), for the vendors that post callbacks (config.ts decides which). */
  statusCallbackUrls?: readonly string[] | undefined;
}

type Factory<K extends VendorKind> = (settings: VendorSettings<K>, policy: Partial<VendorPolicy>, clock: Clock, extras: AdapterExtras) => DeletionVendor;

/** The adapter of each vendor kind, built from settings config.ts has parsed (vendors/settings.ts). */
const FACTORIES: { [K in VendorKind]: Factory<K> } = {
  http: (settings, policy) => createHttpVendor(settings, policy),
  segment: (settings, policy, clock) => createSegmentVendor(settings, policy, clock),
  mixpanel: (settings, policy, _clock, extras) => createMixpanelVendor(settings, policy, extras.statusCallbackUrls),
  amplitude: (settings, policy, clock) => createAmplitudeVendor(settings, policy, clock),
  mparticle: (settings, policy, clock, extras) => createMParticleVendor(settings, policy, clock, extras.statusCallbackUrls),
  appsflyer: (settings, policy, clock, extras) => createAppsFlyerVendor(settings, policy, clock, extras.statusCallbackUrls),
};

export interface CreateVendorsOptions {
  /** Per-call timeout for every adapter, replacing each vendor's policy.timeoutMs (tests, the local stack). */
  fetchTimeoutMs?: number;
  /** The clock adapters that read time use (Amplitude's cancel window, OpenDSR's submitted_time, Segment's rate-limit reset). */
  clock?: Clock;
}

function build<K extends VendorKind>(config: VendorConfigOf<K>, options: CreateVendorsOptions): DeletionVendor {
  if (config.absentCredentials?.length) {
    throw new ConfigError([`VENDOR_${config.name.toUpperCase()}: this process was not given its credentials (${config.absentCredentials.join(', ')}), so it cannot call the vendor`]);
  }
  const factory: Factory<K> = FACTORIES[config.name];
  const policy = options.fetchTimeoutMs === undefined ? config.policy : { ...config.policy, timeoutMs: options.fetchTimeoutMs };
  return factory(config.settings, policy, options.clock ?? systemClock, { statusCallbackUrls: config.statusCallbackUrls });
}

/** Builds one adapter per configured vendor, in the configured order. */
export function createVendors(configs: readonly VendorConfig[], options: CreateVendorsOptions = {}): DeletionVendor[] {
  return configs.map((config) => build(config, options));
}

const POLICY_DEFAULTS: { [K in VendorKind]: Readonly<VendorPolicy> } = {
  http: HTTP_POLICY_DEFAULTS,
  segment: SEGMENT_POLICY_DEFAULTS,
  mixpanel: MIXPANEL_POLICY_DEFAULTS,
  amplitude: AMPLITUDE_POLICY_DEFAULTS,
  mparticle: MPARTICLE_POLICY_DEFAULTS,
  appsflyer: APPSFLYER_POLICY_DEFAULTS,
};

/** A configured vendor's policy (its documented defaults with the operator's overrides) without building its adapter. */
export function policyOf(config: Pick<VendorConfig, 'name' | 'policy'>): VendorPolicy {
  return withPolicyOverrides(POLICY_DEFAULTS[config.name], config.policy);
}
