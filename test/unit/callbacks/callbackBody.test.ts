import assert from 'node:assert/strict';
import { parseCallbackBody } from '../../../functions/callbacks/callbackBody.js';

const spec = {
  controller_id: 'example_controller_id',
  expected_completion_time: '2018-11-01T15:00:01Z',
  status_callback_url: 'https://examplecontroller.com/opendsr/callbacks',
  subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
  request_status: 'pending',
};

const problems = (body: unknown): string[] => {
  const parsed = parseCallbackBody(body);
  assert.equal(parsed.ok, false, 'expected the body to be refused');
  return parsed.ok ? [] : parsed.problems;
};

describe('callback body schema', () => {
  it('maps every spelling to the spec vocabulary (AppsFlyer: in-progress, canceled)', () => {
    const cases: Array<[string, string]> = [
      ['pending', 'pending'],
      ['in_progress', 'in_progress'],
      ['in-progress', 'in_progress'],
      ['completed', 'completed'],
      ['cancelled', 'cancelled'],
      ['canceled', 'cancelled'],
    ];
    for (const [word, status] of cases) {
      const parsed = parseCallbackBody({ ...spec, request_status: word });
      assert.ok(parsed.ok && parsed.callback.status === status, word);
    }
  });

  it('refuses a status no document has (the spec has no failed state)', () => {
    assert.deepEqual(problems({ ...spec, request_status: 'failed' }), ['request_status: invalid_value']);
  });

  it('names each missing required field', () => {
    const { controller_id: _c, subject_request_id: _s, ...rest } = spec;
    assert.deepEqual(problems(rest).sort(), ['controller_id: invalid_type', 'subject_request_id: invalid_type']);
  });

  it('refuses an unknown field, naming it (a changed contract is an alert, not a guess)', () => {
    assert.deepEqual(problems({ ...spec, request_state: 'completed' }), ['(body): unknown field(s) request_state']);
  });

  it('refuses a subject_request_id that is not a UUID v4, and lower-cases one in capitals', () => {
    problems({ ...spec, subject_request_id: '../../etc/passwd' });
    problems({ ...spec, subject_request_id: 'a7551968-d5d6-14b2-9831-815ac9017798' });
    const parsed = parseCallbackBody({ ...spec, subject_request_id: 'A7551968-D5D6-44B2-9831-815AC9017798' });
    assert.ok(parsed.ok && parsed.callback.subjectRequestId === 'a7551968-d5d6-44b2-9831-815ac9017798');
  });

  it('reads a time without offset as UTC, keeps one with an offset, and accepts null once cancelled', () => {
    const local = parseCallbackBody({ ...spec, expected_completion_time: '2021-12-09T00:00:00' });
    assert.ok(local.ok && local.callback.expectedCompletionAt?.toISOString() === '2021-12-09T00:00:00.000Z');
    const offset = parseCallbackBody({ ...spec, expected_completion_time: '2021-12-09T02:00:00+02:00' });
    assert.ok(offset.ok && offset.callback.expectedCompletionAt?.toISOString() === '2021-12-09T00:00:00.000Z');
    const cancelled = parseCallbackBody({ ...spec, request_status: 'cancelled', expected_completion_time: null });
    assert.ok(cancelled.ok && cancelled.callback.expectedCompletionAt === null);
    problems({ ...spec, expected_completion_time: 'next week' });
  });

  it('accepts the three documented forms of extensions and mParticle forwarding states only with documented words', () => {
    const forwarding = [{ domain: 'partner.example', name: 'Braze', status: 'sent', status_message: null }];
    for (const extensions of [null, forwarding, { 'example-processor.com': { custom: 1 } }]) {
      assert.ok(parseCallbackBody({ ...spec, extensions }).ok, JSON.stringify(extensions));
    }
    problems({ ...spec, extensions: [{ domain: 'p', name: 'n', status: 'done' }] });
    problems({ ...spec, extensions: 'yes' });
  });

  it('checks the optional fields: results_url a URL or null, results_count a whole number', () => {
    assert.ok(parseCallbackBody({ ...spec, results_url: null, results_count: 340, api_version: '2.0', group_id: null }).ok);
    problems({ ...spec, results_url: 'not a url' });
    problems({ ...spec, results_count: -1 });
    problems({ ...spec, results_count: 1.5 });
  });

  it('refuses JSON that is not an object', () => {
    for (const body of [null, [], 'pending', 42]) problems(body);
  });
});
