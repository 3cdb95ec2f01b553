import assert from 'node:assert/strict';
import { loadConfig } from '../../../functions/config.js';
import { ConfigError } from '../../../functions/errors.js';
import { VENDOR_KINDS } from '../../../functions/vendors/DeletionVendor.js';
import { createVendors } from '../../../functions/vendors/registry.js';

/** The environment an operator writes for every vendor at once, as strings. */
const ALL_VENDORS = {
  DATABASE_URL: 'postgres://127.0.0.1/db',
  VENDORS: VENDOR_KINDS.join(','),
  VENDOR_HTTP_BASE_URL: 'https://deletions.example.com',
  VENDOR_SEGMENT_TOKEN: 'seg',
  VENDOR_MIXPANEL_TOKEN: 'mp',
  VENDOR_MIXPANEL_PROJECT_TOKEN: 'mpp',
  VENDOR_AMPLITUDE_API_KEY: 'ak',
  VENDOR_AMPLITUDE_SECRET_KEY: 'as',
  VENDOR_AMPLITUDE_IGNORE_INVALID_IDS: 'false',
  VENDOR_MPARTICLE_API_KEY: 'mk',
  VENDOR_MPARTICLE_API_SECRET: 'ms',
  VENDOR_MPARTICLE_SKIP_WAITING_PERIOD: 'true',
  VENDOR_APPSFLYER_TOKEN: 'af',
  VENDOR_APPSFLYER_PROPERTY_ID: 'com.example',
  VENDOR_APPSFLYER_PLATFORM: 'ios',
};

describe('configuration to adapters', () => {
  it('builds every vendor from the environment config.ts validated (settings are parsed once, by config.ts)', () => {
    const config = loadConfig(ALL_VENDORS);
    const vendors = createVendors(config.vendors);
    assert.deepEqual(
      vendors.map((v) => v.name),
      [...VENDOR_KINDS],
    );
    assert.equal((config.vendors.find((v) => v.name === 'amplitude')!.settings as Record<string, unknown>)['ignoreInvalidIds'], false);
    assert.equal((config.vendors.find((v) => v.name === 'mparticle')!.settings as Record<string, unknown>)['skipWaitingPeriod'], true);
  });

  it('builds no adapter from a configuration whose credentials this process was not given (another function\'s, or mounted unseen)', () => {
    const { VENDOR_SEGMENT_TOKEN: _token, ...withoutToken } = ALL_VENDORS;
    for (const config of [
      loadConfig({ ...ALL_VENDORS, FUNCTION_TARGET: 'sendAlert', SENDGRID_API_KEY: 'SG.k', VENDOR_MIXPANEL_TOKEN: '', VENDOR_MIXPANEL_PROJECT_TOKEN: '' }),
      loadConfig(withoutToken, { mountedSecrets: ['VENDOR_SEGMENT_TOKEN'] }),
    ]) {
      const absent = config.vendors.filter((v) => v.absentCredentials?.length).map((v) => v.name);
      assert.ok(absent.length > 0);
      assert.throws(
        () => createVendors(config.vendors),
        (err) => err instanceof ConfigError && err.problems.some((p) => p.startsWith(`VENDOR_${absent[0]!.toUpperCase()}: this process was not given its credentials`)),
      );
    }
    assert.equal(createVendors(loadConfig(ALL_VENDORS).vendors).length, VENDOR_KINDS.length, 'credentials present: every adapter');
  });

  it('names a yes/no setting that is neither', () => {
    assert.throws(() => loadConfig({ ...ALL_VENDORS, VENDOR_AMPLITUDE_IGNORE_INVALID_IDS: 'maybe' }), /VENDOR_AMPLITUDE_IGNORE_INVALID_IDS/);
  });
});
