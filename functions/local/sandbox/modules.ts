import type { SandboxModule } from './types.js';
import { createHttpSandbox } from './http.js';

/**
 * The sandbox modules `startSandbox({ vendors: { name: config } })` can mount by name. Each entry builds a
 * fresh instance (a module keeps its own operations). Other vendors' modules register here.
 */
export const BUILTIN_MODULES: Record<string, () => SandboxModule> = {
  http: createHttpSandbox,
};
