import assert from 'node:assert/strict';
import { OPENDSR_STATUS_MAP, OpenDsrStatusWordSchema } from '../../../../functions/vendors/opendsr/status.js';
import { APPSFLYER_POLICY_DEFAULTS, appsflyerPolicy } from '../../../../functions/vendors/opendsr/appsflyerVendor.js';
import { mparticlePolicy } from '../../../../functions/vendors/opendsr/mparticleVendor.js';

describe('OpenDSR status mapping and policy', () => {
  it('maps the four spec words and nothing else (there is no failed state)', () => {
    assert.deepEqual(OPENDSR_STATUS_MAP, { pending: 'submitted', in_progress: 'in_progress', completed: 'completed', cancelled: 'cancelled' });
    for (const word of ['failed', 'Pending', 'on_hold', 'complete']) assert.equal(OpenDsrStatusWordSchema.safeParse(word).success, false, word);
  });
  it('takes mParticle limits from its docs and lets the operator override them', () => {
    const p = mparticlePolicy({ requestsPerSecond: 5, dailySubmitQuota: undefined });
    assert.deepEqual([p.requestsPerSecond, p.dailySubmitQuota, p.maxBatchSize], [5, 80_000, 1]);
    assert.deepEqual(appsflyerPolicy(), APPSFLYER_POLICY_DEFAULTS);
  });
});
