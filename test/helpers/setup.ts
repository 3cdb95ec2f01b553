import { stopStartedEmulators } from './emulators.js';

// Off Google Cloud the client libraries would probe the metadata server and warn.
process.env['METADATA_SERVER_DETECTION'] ??= 'none';

/** Root hooks for every mocha run: stop emulators the run started itself. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await stopStartedEmulators();
  },
};
