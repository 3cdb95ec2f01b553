import { DAY, systemClock } from '../functions/clock.js';
import { createOpenDsrProcessor } from './sandbox/opendsr/processor.js';
import { createTestCa } from './sandbox/opendsr/testCa.js';
import type { SandboxModule } from './sandbox/types.js';
import { createOpenDsrSandbox } from './sandbox/vendors/opendsr.js';

/** The processor domains the local processors sign for: the production defaults (functions/callbacks/callbackSettings.ts). */
const DOMAINS = { mparticle: 'opendsr.mparticle.com', appsflyer: 'hq1.appsflyer.com' } as const;

export interface LocalCallbacks {
  /** The sandbox modules that play the processor side (discovery, certificate, signed callbacks), by vendor. */
  modules: Map<string, SandboxModule>;
  /** The local test CA's root, which the functions trust in local mode only (CALLBACK_TEST_ROOT_PEM). */
  trustRootPem: string;
}

/**
 * The processor side of status callbacks for the vendors of the stack that send them (mParticle, AppsFlyer): one
 * local test CA made at start (in memory), a signing certificate per processor domain issued by it, and their
 * sandbox modules built with it. Undefined when no such vendor is played.
 */
export async function localCallbacks(vendorNames: readonly string[]): Promise<LocalCallbacks | undefined> {
  const names = vendorNames.filter((n): n is keyof typeof DOMAINS => n in DOMAINS);
  if (names.length === 0) return undefined;
  const now = systemClock.now().getTime();
  const ca = await createTestCa({ commonName: 'consent-erasure local processors CA', notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY) });
  const modules = new Map<string, SandboxModule>();
  for (const name of names) {
    const processor = await createOpenDsrProcessor({ domain: DOMAINS[name], ca });
    modules.set(name, createOpenDsrSandbox(name, { processor }));
  }
  return { modules, trustRootPem: ca.certificatePem };
}
