import assert from 'node:assert/strict';
import { loadConfig } from '../../../../functions/config.js';
import { ConfigError } from '../../../../functions/errors.js';
import { createVendors } from '../../../../functions/vendors/registry.js';
import { vendorConfigs } from '../../../../functions/vendors/settings.js';

const env = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http' };

describe('createVendors', () => {
  it('builds the http adapter with the operator policy over the defaults', () => {
    const config = loadConfig({ ...env, VENDOR_HTTP_RATE_PER_SECOND: '7', VENDOR_HTTP_STALE_AFTER_HOURS: '12' });
    const [vendor, ...rest] = createVendors(config.vendors);
    assert.equal(rest.length, 0);
    assert.equal(vendor!.name, 'http');
    assert.equal(vendor!.policy.requestsPerSecond, 7);
    assert.equal(vendor!.policy.expectedDurationMs, 12 * 3_600_000);
    assert.equal(vendor!.policy.maxBatchSize, 1);
    assert.equal(vendor!.policy.timeoutMs, 10_000);
    assert.equal(typeof vendor!.cancel, 'function');
    assert.equal(vendor!.verify, undefined);
  });

  it('lets the caller set every adapter timeout', () => {
    const config = loadConfig({ ...env, VENDOR_HTTP_TIMEOUT_MS: '5000' });
    assert.equal(createVendors(config.vendors, { fetchTimeoutMs: 300 })[0]!.policy.timeoutMs, 300);
  });

  it('names every vendor it cannot build, at once', () => {
    assert.throws(
      () =>
        createVendors(
          vendorConfigs([
            { name: 'segment', settings: {}, policy: {} },
            { name: 'http', settings: { baseUrl: 'https://x' }, policy: {} },
            { name: 'mixpanel', settings: {}, policy: {} },
          ]),
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith('VENDOR_SEGMENT settings')) &&
        err.problems.some((p) => p.startsWith('VENDOR_MIXPANEL settings')) &&
        !err.problems.some((p) => p.startsWith('VENDOR_HTTP')),
    );
  });

  it('rejects http settings that do not validate, naming the setting', () => {
    assert.throws(
      () => createVendors(vendorConfigs([{ name: 'http', settings: { baseUrl: 'not a url' }, policy: {} }])),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('VENDOR_HTTP settings baseUrl')),
    );
  });
});
