import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { VendorKind } from '../DeletionVendor.js';
import type { VendorConfig, VendorSettings } from '../settings.js';
import { APPSFLYER_STATUS_WORDS } from '../opendsr/status.js';
import { DOCUMENTED_ANSWERS } from './documentedShapes.js';
import { overall, runProbe, type ContractCheck, type ProbeStep } from './probe.js';

/** The identity value a stub request is made for: no customer's. */
export const PROBE_IDENTITY = 'consent-erasure-contract-probe';

/**
 * Why a vendor has no probe: none of its documents offers a test or discovery endpoint for the deletion API, and
 * probing the real one would mean creating a deletion. Reported as `no_probe`, never as a pass.
 */
const NO_PROBE: Record<Exclude<VendorKind, 'mparticle' | 'appsflyer'>, string> = {
  segment:
    'no probe documented: Segment offers no test or discovery endpoint for regulations (the Public API\'s GET /echo only echoes a token\'s request)',
  mixpanel: 'no probe documented: the GDPR API v3 offers no test or discovery endpoint; a probe would have to create a deletion task',
  amplitude: 'no probe documented: the User Privacy API offers no test or discovery endpoint; a probe would have to create a deletion job',
  http: 'no probe documented: the generic deletion API has no test endpoint',
};

export interface ProbeDeps {
  clock: Clock;
  /** Per-call timeout. */
  timeoutMs: number;
  /** The stub request's subject_request_id (a UUID v4); tests pass their own. */
  newId?: () => string;
}

/** mParticle: the OpenDSR discovery document (GET /v3/discovery/), read-only. */
function mparticleSteps(settings: VendorSettings<'mparticle'>): ProbeStep[] {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${settings.apiKey}:${settings.apiSecret}`).toString('base64')}` };
  return [{ call: 'discovery', method: 'GET', url: `${base}/v3/discovery/`, headers, documented: DOCUMENTED_ANSWERS.mparticleDiscovery }];
}

/**
 * AppsFlyer: both discovery documents, then a request in stub mode ("processes the payload in stub mode"; no
 * subject's data is touched), its status, and its cancellation, so nothing is left pending.
 */
function appsflyerSteps(settings: VendorSettings<'appsflyer'>, deps: ProbeDeps): Array<ProbeStep | ((answers: unknown[]) => ProbeStep | null)> {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${settings.token}` };
  const id = (deps.newId ?? randomUUID)();
  const stubId = (answers: unknown[]) => {
    const created = answers[2] as { subject_request_id?: unknown } | undefined;
    return typeof created?.subject_request_id === 'string' ? created.subject_request_id : id;
  };
  return [
    { call: 'discovery', method: 'GET', url: `${base}/api/gdpr/v1/discovery`, headers, documented: DOCUMENTED_ANSWERS.appsflyerDiscovery },
    { call: 'stub discovery', method: 'GET', url: `${base}/api/gdpr/v1/stub/discovery`, headers, documented: DOCUMENTED_ANSWERS.appsflyerDiscovery },
    {
      call: 'stub create',
      method: 'POST',
      url: `${base}/api/gdpr/v1/stub`,
      headers,
      // The body the adapter sends for a real request, for the probe's own identity.
      json: {
        subject_request_id: id,
        subject_request_type: 'erasure',
        submitted_time: deps.clock.now().toISOString(),
        subject_identities: [{ identity_type: settings.identityType, identity_value: PROBE_IDENTITY, identity_format: 'raw' }],
        api_version: settings.apiVersion,
        property_id: settings.propertyId,
        platform: settings.platform,
        regulation: settings.regulation,
      },
      documented: DOCUMENTED_ANSWERS.appsflyerStubCreate,
    },
    (answers) => ({
      call: 'stub status',
      method: 'GET',
      url: `${base}/api/gdpr/v1/stub/${encodeURIComponent(stubId(answers))}`,
      headers,
      documented: DOCUMENTED_ANSWERS.appsflyerStubStatus,
      words: { request_status: APPSFLYER_STATUS_WORDS },
    }),
    (answers) => ({
      call: 'stub cancel',
      method: 'DELETE',
      url: `${base}/api/gdpr/v1/stub/${encodeURIComponent(stubId(answers))}`,
      headers,
      documented: DOCUMENTED_ANSWERS.appsflyerStubCancel,
    }),
  ];
}

/** The contract check of one configured vendor: its probe where one is documented, else `no_probe`. */
export async function checkContract(config: VendorConfig, deps: ProbeDeps): Promise<ContractCheck> {
  const vendor = config.name;
  switch (config.name) {
    case 'mparticle': {
      const calls = await runProbe(vendor, mparticleSteps(config.settings), deps.timeoutMs);
      return { vendor, outcome: overall(calls), calls, note: 'the OpenDSR discovery document (GET /v3/discovery/)' };
    }
    case 'appsflyer': {
      const calls = await runProbe(vendor, appsflyerSteps(config.settings, deps), deps.timeoutMs);
      return {
        vendor,
        outcome: overall(calls),
        calls,
        note: 'the discovery documents and a request in stub mode (no subject\'s data is touched), its status and its cancellation',
      };
    }
    default:
      return { vendor, outcome: 'no_probe', calls: [], note: NO_PROBE[config.name] };
  }
}

/** Whether a vendor kind has a documented probe. */
export function hasProbe(kind: VendorKind): boolean {
  return kind === 'mparticle' || kind === 'appsflyer';
}
