import assert from 'node:assert/strict';
import { reservedCustomerIdProblem } from '../../../functions/domain/customerId.js';

describe('reservedCustomerIdProblem', () => {
  const refused = ['hmac-sha256:0f', 'HMAC-SHA256:x', 'purged:1', 'Purged:'];
  const accepted = ['c-1', 'hmac-sha256', 'xhmac-sha256:1', 'purged', 'ünïcødé', ' purged:1'];
  for (const id of refused) it(`refuses ${JSON.stringify(id)}, naming the prefix`, () => assert.match(reservedCustomerIdProblem(id) ?? '', /reserved for pseudonymised ids/));
  for (const id of accepted) it(`accepts ${JSON.stringify(id)}`, () => assert.equal(reservedCustomerIdProblem(id), undefined));
});
