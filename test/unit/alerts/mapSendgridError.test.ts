import assert from 'node:assert/strict';
import { AlertRejectedError, AlertSendFailedError } from '../../../functions/alerts/AlertSender.js';
import { createSendgridSender, mapSendgridError } from '../../../functions/alerts/sendgrid/createSendgridSender.js';
import { ConfigError, isTransient } from '../../../functions/errors.js';

/** The shape @sendgrid/helpers' ResponseError has: `code` = HTTP status, `response.{headers, body}`. */
function responseError(code: number, body: unknown, headers: Record<string, string> = {}) {
  return Object.assign(new Error('Bad'), { code, response: { headers, body } });
}

describe('mapSendgridError', () => {
  const table: Array<[string, unknown, 'transient' | 'permanent', RegExp]> = [
    ['500', responseError(500, { errors: [{ message: 'internal error', field: null }] }), 'transient', /answered 500: internal error/],
    ['503 without a body', responseError(503, ''), 'transient', /answered 503$/],
    ['429', responseError(429, { errors: [{ message: 'too many requests' }] }), 'transient', /answered 429/],
    ['408', responseError(408, {}), 'transient', /answered 408/],
    ['400', responseError(400, { errors: [{ message: 'The from email does not contain a valid address.', field: 'from.email' }] }), 'permanent', /\(400\): The from email does not contain a valid address\./],
    ['401', responseError(401, { errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked' }] }), 'permanent', /\(401\)/],
    ['403 with a string body', responseError(403, '{"errors":[{"message":"access forbidden"}]}'), 'permanent', /access forbidden/],
    ['413 with no errors', responseError(413, 'nope'), 'permanent', /\(413\): no reason given/],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', config: { headers: { Authorization: 'Bearer SG.secret' } } }), 'transient', /could not be reached \(ECONNREFUSED\)/],
    ['something odd', 'a string', 'transient', /could not be reached/],
  ];
  for (const [name, input, kind, message] of table) {
    it(`maps ${name} to a ${kind} error`, () => {
      const err = mapSendgridError(input);
      assert.equal(isTransient(err), kind === 'transient');
      assert.ok(kind === 'transient' ? err instanceof AlertSendFailedError : err instanceof AlertRejectedError);
      assert.match(err.message, message);
      assert.equal(err.cause, undefined, 'the HTTP client error (which carries the API key) is never kept');
      assert.ok(!JSON.stringify(err).includes('SG.secret'));
    });
  }

  it('keeps SendGrid messages for the ERROR log', () => {
    const err = mapSendgridError(responseError(400, { errors: [{ message: 'a' }, { message: 'b' }, { field: 'x' }] }));
    assert.ok(err instanceof AlertRejectedError);
    assert.deepEqual(err.providerMessages, ['a', 'b']);
    assert.equal(err.status, 400);
  });

  it('reads when a 429 may be retried from X-RateLimit-Reset', () => {
    const reset = Math.ceil(Date.now() / 1000) + 30;
    const err = mapSendgridError(responseError(429, {}, { 'x-ratelimit-reset': String(reset) }));
    assert.ok(err instanceof AlertSendFailedError);
    assert.ok(err.retryAfterSeconds !== undefined && err.retryAfterSeconds > 0 && err.retryAfterSeconds <= 31);
  });

  it('refuses to build a sender without an API key', () => {
    assert.throws(() => createSendgridSender({ apiKey: '' }), ConfigError);
  });
});
