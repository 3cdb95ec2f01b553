import assert from 'node:assert/strict';
import { DOCUMENTED_ANSWERS } from '../../../../functions/vendors/contract/documentedShapes.js';
import { judgeAnswer, overall, type ProbeCall } from '../../../../functions/vendors/contract/probe.js';

const step = { call: 'stub status', documented: DOCUMENTED_ANSWERS.appsflyerStubStatus, words: { request_status: ['pending', 'in-progress'] } };
const judge = (status: number, body: unknown, type = 'application/json') => judgeAnswer(step, 'GET /x', status, typeof body === 'string' ? body : JSON.stringify(body), type);
const pending = { subject_request_id: 'a', controller_id: 'c', expected_completion_time: '2026-01-01T00:00:00Z', request_status: 'pending' };

describe('judging a live answer against the documented ones (pure)', () => {
  it('matches a documented shape and word; names the closest fixture', () => {
    const j = judge(200, pending);
    assert.deepEqual([j.outcome, j.closest, j.differences], ['matches', 'appsflyer/status-openapi-stub-pending.json', []]);
  });

  it('an added field only: grown; a missing one, a retyped one or an undocumented word: differs', () => {
    assert.equal(judge(200, { ...pending, region: 'eu' }).outcome, 'grown');
    const { controller_id: _gone, ...missing } = pending;
    assert.deepEqual(judge(200, missing).differences, ['$.controller_id: missing']);
    assert.equal(judge(200, { ...pending, request_status: 3 }).outcome, 'differs');
    assert.deepEqual(judge(200, { ...pending, request_status: 'on_hold' }).differences, ['$.request_status: "on_hold" is not a documented word (pending, in-progress)']);
    assert.equal(judge(200, '<html>oops</html>', 'text/html').outcome, 'differs');
  });

  it('a status the documents do not show: failed for a rejected credential, a rate limit or a vendor fault; differs otherwise', () => {
    assert.deepEqual([judge(401, {}).outcome, judge(403, {}).outcome, judge(429, {}).outcome, judge(503, {}).outcome], ['failed', 'failed', 'failed', 'failed']);
    const odd = judge(418, { error: 'teapot' });
    assert.equal(odd.outcome, 'differs');
    assert.match(odd.problem ?? '', /answered 418 \(an undocumented status\); the documents show 200/);
  });

  it('a documented text answer (202 text/plain) matches whatever its text', () => {
    const cancel = judgeAnswer({ call: 'stub cancel', documented: DOCUMENTED_ANSWERS.appsflyerStubCancel }, 'DELETE /x', 202, 'Accepted', 'text/plain');
    assert.equal(cancel.outcome, 'matches');
  });

  it('a check is as bad as its worst call, and failed when no call was made', () => {
    const c = (outcome: ProbeCall['outcome']): ProbeCall => ({ call: 'x', request: 'GET /x', status: 200, outcome, differences: [] });
    assert.equal(overall([c('matches'), c('grown')]), 'grown');
    assert.equal(overall([c('grown'), c('differs'), c('matches')]), 'differs');
    assert.equal(overall([c('differs'), c('failed')]), 'failed');
    assert.equal(overall([]), 'failed');
  });
});
