import type { SandboxModule } from './types.js';
import { createHttpSandbox } from './http.js';
import { createAmplitudeSandbox } from './vendors/amplitude.js';
import { createMixpanelSandbox } from './vendors/mixpanel.js';
import { createOpenDsrSandbox } from './vendors/opendsr.js';
import { createSegmentSandbox } from './vendors/segment.js';

/**
 * The sandbox modules `startSandbox({ vendors: { name: config } })` can mount by name. Each entry builds a
 * fresh instance (a module keeps its own operations). Other vendors' modules register here.
 */
export const BUILTIN_MODULES: Record<string, () => SandboxModule> = {
  http: createHttpSandbox,
  segment: createSegmentSandbox,
  mixpanel: createMixpanelSandbox,
  amplitude: createAmplitudeSandbox,
  mparticle: () => createOpenDsrSandbox('mparticle'),
  appsflyer: () => createOpenDsrSandbox('appsflyer'),
};
