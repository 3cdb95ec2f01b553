import assert from 'node:assert/strict';
import { classifyVendorError, type SubmitErrorKind } from '../../../functions/services/submitDeletions.js';
import {
  VendorAuthError,
  VendorContractError,
  VendorRateLimitedError,
  VendorRejectedError,
  VendorTransientError,
} from '../../../functions/vendors/errors.js';

describe('classifyVendorError', () => {
  const cases: Array<[string, unknown, SubmitErrorKind]> = [
    ['a 5xx or timeout', new VendorTransientError('http', 'answered 503'), 'transient'],
    ['a 429', new VendorRateLimitedError('http', 2000, { status: 429 }), 'rate_limited'],
    ['a rejected credential', new VendorAuthError('http', 'rejected the credential (401)'), 'auth'],
    ['a 4xx rejection', new VendorRejectedError('http', 'answered 400'), 'rejected'],
    ['a contract violation', new VendorContractError('http', 'missing operationId', '{}'), 'contract'],
    ['an unexpected error from an adapter', new TypeError('x is undefined'), 'transient'],
    ['a thrown string', 'boom', 'transient'],
  ];
  for (const [name, err, kind] of cases) {
    it(`${name} → ${kind}`, () => assert.equal(classifyVendorError(err), kind));
  }
});
