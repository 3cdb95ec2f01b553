import assert from 'node:assert/strict';
import { PollMessageSchema, forcedPollOf } from '../../../functions/domain/pollMessage.js';

describe('PollMessageSchema', () => {
  const valid: unknown[] = [
    {},
    { reason: 'scheduled' },
    { customerIds: ['c1'] },
    { vendors: ['http'], operationIds: ['op-1'], reason: 'operator' },
    { continuation: 3 },
  ];
  for (const m of valid) it(`accepts ${JSON.stringify(m)}`, () => assert.ok(PollMessageSchema.safeParse(m).success));

  const invalid: Array<[unknown, RegExp]> = [
    [{ customer: 'c1' }, /customer/],
    [{ customerIds: 'c1' }, /customerIds/],
    [{ customerIds: [] }, /customerIds/],
    [{ customerIds: [''] }, /customerIds/],
    [{ vendors: [1] }, /vendors/],
    [{ continuation: 0 }, /continuation/],
    // Found by the fault suite: a NUL reached PostgreSQL (22021) and the message failed on every delivery.
    [{ customerIds: ['a\u0000b'] }, /customerIds.*NUL/],
    [{ operationIds: ['\u0000'] }, /operationIds.*NUL/],
    [{ customerIds: Array.from({ length: 1001 }, (_, i) => `c${i}`) }, /customerIds/],
    [[], /object/i],
    ['{}', /object/i],
  ];
  for (const [m, where] of invalid) {
    it(`rejects ${JSON.stringify(m).slice(0, 40)}`, () => {
      const r = PollMessageSchema.safeParse(m);
      assert.equal(r.success, false);
      assert.match(JSON.stringify(r.error?.issues), where);
    });
  }

  it('only filters make a forced poll', () => {
    assert.equal(forcedPollOf({ reason: 'x', continuation: 2 }), null);
    assert.deepEqual(forcedPollOf({ customerIds: ['c1'], reason: 'x' }), { customerIds: ['c1'] });
  });
});
