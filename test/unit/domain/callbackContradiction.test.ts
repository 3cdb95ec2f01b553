import assert from 'node:assert/strict';
import { callbackContradicted, checkedStatus, type ClaimedStatus } from '../../../functions/domain/callbackContradiction.js';
import type { VendorState } from '../../../functions/domain/operation.js';

describe('callbackContradicted: a later status check against the callback it follows', () => {
  const table: Array<[ClaimedStatus, { state: VendorState; rawStatus: string }, boolean]> = [
    // The check may show the same status or a later one.
    ['pending', { state: 'submitted', rawStatus: 'pending' }, false],
    ['pending', { state: 'in_progress', rawStatus: 'in-progress' }, false],
    ['pending', { state: 'completed', rawStatus: 'completed' }, false],
    ['pending', { state: 'cancelled', rawStatus: 'canceled' }, false],
    ['in_progress', { state: 'completed', rawStatus: 'completed' }, false],
    ['completed', { state: 'completed', rawStatus: 'completed' }, false],
    // mParticle: completed, but a partner kept its copy (our state error, the vendor's word completed).
    ['completed', { state: 'error', rawStatus: 'completed' }, false],
    ['cancelled', { state: 'cancelled', rawStatus: 'cancelled' }, false],
    ['completed', { state: 'completed', rawStatus: 'SUCCESS' }, false],
    // Never an earlier one, another end, or a cancellation the callback did not claim.
    ['completed', { state: 'in_progress', rawStatus: 'in_progress' }, true],
    ['completed', { state: 'submitted', rawStatus: 'pending' }, true],
    ['in_progress', { state: 'submitted', rawStatus: 'pending' }, true],
    ['completed', { state: 'cancelled', rawStatus: 'cancelled' }, true],
    ['cancelled', { state: 'completed', rawStatus: 'completed' }, true],
    ['cancelled', { state: 'submitted', rawStatus: 'pending' }, true],
    ['in_progress', { state: 'cancelled', rawStatus: 'cancelled' }, true],
    ['completed', { state: 'failed', rawStatus: 'FAILURE' }, true],
    // A check that says nothing comparable (an unknown request) contradicts nothing: it is its own alert.
    ['completed', { state: 'error', rawStatus: 'http_404' }, false],
  ];
  for (const [claimed, check, expected] of table) {
    it(`${claimed} then ${check.rawStatus} (${check.state}): ${expected ? 'contradicted' : 'consistent'}`, () => {
      assert.equal(callbackContradicted(claimed, checkedStatus(check)), expected);
    });
  }
});
