import assert from 'node:assert/strict';
import { MIXPANEL_STATUS_DETAIL, MIXPANEL_STATUS_MAP, MIXPANEL_STATUS_WORDS, MixpanelStatusWordSchema } from '../../../../functions/vendors/mixpanel/status.js';

describe('mixpanel status mapping', () => {
  it('maps each documented word as vendors.md A8 says', () => {
    assert.deepEqual(MIXPANEL_STATUS_MAP, {
      PENDING: 'submitted',
      STAGING: 'submitted',
      STARTED: 'in_progress',
      SUCCESS: 'completed',
      FAILURE: 'failed',
      REVOKED: 'cancelled',
      NOT_FOUND: 'error',
      UNKNOWN: 'error',
    });
    assert.equal(MIXPANEL_STATUS_WORDS.length, 8);
  });
  it('explains every failed, cancelled and error word', () => {
    for (const word of MIXPANEL_STATUS_WORDS) {
      const state = MIXPANEL_STATUS_MAP[word];
      assert.equal(MIXPANEL_STATUS_DETAIL[word] !== undefined, ['failed', 'cancelled', 'error'].includes(state), word);
    }
  });
  it('rejects any other word, including other casings', () => {
    for (const word of ['pending', 'QUEUED', 'COMPLETED', '', 'SUCCESS ']) assert.equal(MixpanelStatusWordSchema.safeParse(word).success, false, word);
  });
});
