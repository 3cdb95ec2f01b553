import assert from 'node:assert/strict';
import { loadConfig } from '../../../functions/config.js';
import { localVendors } from '../../../local/localVendors.js';
import { SandboxConfigSchema } from '../../../local/sandbox/types.js';
import { VENDOR_KINDS } from '../../../functions/vendors/DeletionVendor.js';
import { createVendors } from '../../../functions/vendors/registry.js';

describe('localVendors (the local stack playing every vendor)', () => {
  it('gives each vendor a valid sandbox module config and variables the configuration accepts', () => {
    const played = localVendors([...VENDOR_KINDS]);
    assert.deepEqual([...played.keys()], [...VENDOR_KINDS]);
    const env: Record<string, string> = { DATABASE_URL: 'postgres://127.0.0.1/x', VENDORS: VENDOR_KINDS.join(',') };
    for (const [name, v] of played) {
      SandboxConfigSchema.parse(v.sandbox);
      Object.assign(env, v.env('http://127.0.0.1:9999'));
      assert.equal(env[`VENDOR_${name.toUpperCase()}_BASE_URL`], `http://127.0.0.1:9999/${name}`);
    }
    const vendors = createVendors(loadConfig(env).vendors);
    assert.equal(vendors.length, VENDOR_KINDS.length);
  });

  it('makes up new credentials at every start and ignores names it does not know', () => {
    const a = localVendors(['segment', 'acme']);
    const b = localVendors(['segment']);
    assert.deepEqual([...a.keys()], ['segment']);
    assert.notEqual(a.get('segment')!.env('u')['VENDOR_SEGMENT_TOKEN'], b.get('segment')!.env('u')['VENDOR_SEGMENT_TOKEN']);
    assert.equal(a.get('segment')!.sandbox.credential, a.get('segment')!.env('u')['VENDOR_SEGMENT_TOKEN']);
  });
});
