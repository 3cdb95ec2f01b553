import { randomBytes } from 'node:crypto';
import type { SandboxConfigInput } from './sandbox/types.js';
import { isVendorKind, type VendorKind } from '../functions/vendors/DeletionVendor.js';

/** How each vendor is played on the local stack: its sandbox module's settings and the functions' variables. */
export interface LocalVendor {
  sandbox: SandboxConfigInput;
  /** The functions' variables, given the sandbox's address. */
  env(sandboxUrl: string): Record<string, string>;
}

/** Documented request rates (vendors.md), enforced by the sandboxes so the stack shows limits are respected. */
const RATE_PER_SECOND: Record<VendorKind, number> = {
  http: 50,
  segment: 10,
  mixpanel: 1,
  amplitude: 1,
  mparticle: 16,
  appsflyer: 10,
};

/** A deletion moves on within seconds locally (the real vendors take days to weeks). */
const LIFECYCLE = { inProgressAfterMs: 2_000, completeAfterMs: 6_000 };

/**
 * The sandbox modules and function variables for the vendors named in VENDORS (`http` alone by default;
 * `VENDORS=http,segment,mixpanel,amplitude,mparticle,appsflyer npm start` plays them all). Credentials are made
 * up per start: the sandbox checks them exactly as the vendor would, and nothing real is ever needed locally.
 * Variables the caller set (`VENDOR_<NAME>_*`) win over these.
 */
export function localVendors(names: string[]): Map<VendorKind, LocalVendor> {
  const out = new Map<VendorKind, LocalVendor>();
  const secret = (label: string) => `local-${label}-${randomBytes(6).toString('hex')}`;
  const quick = (name: string): Record<string, string> => ({
    [`VENDOR_${name}_MIN_CHECK_INTERVAL_SECONDS`]: '2',
    [`VENDOR_${name}_MAX_CHECK_INTERVAL_SECONDS`]: '10',
    [`VENDOR_${name}_TIMEOUT_MS`]: '3000',
  });
  for (const name of names) {
    if (!isVendorKind(name)) continue;
    const at = (url: string) => `${url}/${name}`;
    const rateLimit = { requests: RATE_PER_SECOND[name], perMs: 1_000 };
    const N = name.toUpperCase();
    switch (name) {
      case 'http':
        out.set(name, { sandbox: { lifecycle: LIFECYCLE, rateLimit }, env: (url) => ({ VENDOR_HTTP_BASE_URL: at(url) }) });
        break;
      case 'segment': {
        const token = secret('segment');
        out.set(name, {
          sandbox: { credential: token, lifecycle: LIFECYCLE, rateLimit },
          env: (url) => ({ ...quick(N), VENDOR_SEGMENT_BASE_URL: at(url), VENDOR_SEGMENT_TOKEN: token }),
        });
        break;
      }
      case 'mixpanel': {
        const token = secret('mixpanel');
        const projectToken = secret('mixpanel-project');
        out.set(name, {
          sandbox: { credential: token, lifecycle: LIFECYCLE, rateLimit, options: { projectToken } },
          env: (url) => ({ ...quick(N), VENDOR_MIXPANEL_BASE_URL: at(url), VENDOR_MIXPANEL_TOKEN: token, VENDOR_MIXPANEL_PROJECT_TOKEN: projectToken }),
        });
        break;
      }
      case 'amplitude': {
        const apiKey = secret('amplitude-key');
        const secretKey = secret('amplitude-secret');
        out.set(name, {
          sandbox: { credential: `${apiKey}:${secretKey}`, lifecycle: LIFECYCLE, rateLimit, options: { scheduleAfterDays: 0 } },
          env: (url) => ({ ...quick(N), VENDOR_AMPLITUDE_BASE_URL: at(url), VENDOR_AMPLITUDE_API_KEY: apiKey, VENDOR_AMPLITUDE_SECRET_KEY: secretKey }),
        });
        break;
      }
      case 'mparticle': {
        const apiKey = secret('mparticle-key');
        const apiSecret = secret('mparticle-secret');
        out.set(name, {
          sandbox: { credential: `${apiKey}:${apiSecret}`, lifecycle: LIFECYCLE, rateLimit },
          env: (url) => ({ ...quick(N), VENDOR_MPARTICLE_BASE_URL: at(url), VENDOR_MPARTICLE_API_KEY: apiKey, VENDOR_MPARTICLE_API_SECRET: apiSecret }),
        });
        break;
      }
      case 'appsflyer': {
        const token = secret('appsflyer');
        out.set(name, {
          sandbox: { credential: token, lifecycle: LIFECYCLE, rateLimit },
          env: (url) => ({
            ...quick(N),
            VENDOR_APPSFLYER_BASE_URL: at(url),
            VENDOR_APPSFLYER_TOKEN: token,
            VENDOR_APPSFLYER_PROPERTY_ID: 'com.example.local',
            VENDOR_APPSFLYER_PLATFORM: 'android',
          }),
        });
        break;
      }
    }
  }
  return out;
}
