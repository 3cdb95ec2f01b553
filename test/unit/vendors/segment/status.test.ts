import assert from 'node:assert/strict';
import { classifySegmentRegulation, SEGMENT_STATUS_MAP, SEGMENT_STATUS_WORDS, type SegmentDestinationStatus } from '../../../../functions/vendors/segment/status.js';

const dest = (status: SegmentDestinationStatus['status'], name = status.toLowerCase(), errString = ''): SegmentDestinationStatus => ({ name, status, errString });

describe('segment status mapping', () => {
  it('maps every documented word', () => {
    assert.deepEqual(Object.keys(SEGMENT_STATUS_MAP).sort(), [...SEGMENT_STATUS_WORDS].sort());
    assert.deepEqual(
      ['INITIALIZED', 'RUNNING', 'FINISHED', 'INVALID', 'NOT_SUPPORTED'].map((w) => classifySegmentRegulation(w as never, []).state),
      ['submitted', 'in_progress', 'completed', 'failed', 'failed'],
    );
  });

  const cases: [string, SegmentDestinationStatus['status'], SegmentDestinationStatus[], string, RegExp | undefined][] = [
    ['FAILED only on an unsupported destination', 'FAILED', [dest('FINISHED', 'Amplitude'), dest('NOT_SUPPORTED', 'Webhooks')], 'completed', /Webhooks/],
    ['FAILED on a destination: a person, not a whole-batch resubmission', 'FAILED', [dest('FINISHED'), dest('FAILED', 'Braze', 'timeout')], 'error', /Braze FAILED \(timeout\).*not resubmitted/],
    ['FAILED with an INVALID destination', 'FAILED', [dest('INVALID', 'Heap')], 'error', /Heap INVALID/],
    ['FINISHED with a destination PARTIAL_SUCCESS', 'FINISHED', [dest('PARTIAL_SUCCESS', 'Iterable')], 'error', /Iterable PARTIAL_SUCCESS/],
    ['PARTIAL_SUCCESS with nothing reported', 'PARTIAL_SUCCESS', [], 'error', /without any destination/],
    ['FAILED with nothing reported', 'FAILED', [], 'failed', /without any destination/],
    ['PARTIAL_SUCCESS while one still runs', 'PARTIAL_SUCCESS', [dest('FINISHED'), dest('RUNNING')], 'in_progress', undefined],
    ['PARTIAL_SUCCESS all finished or unsupported', 'PARTIAL_SUCCESS', [dest('FINISHED'), dest('NOT_SUPPORTED', 'GA')], 'completed', /GA/],
    ['FINISHED with an unsupported destination', 'FINISHED', [dest('NOT_SUPPORTED', 'Intercom')], 'completed', /Intercom/],
  ];
  for (const [title, overall, destinations, state, detail] of cases) {
    it(title, () => {
      const verdict = classifySegmentRegulation(overall, destinations);
      assert.equal(verdict.state, state);
      if (detail) assert.match(verdict.detail ?? '', detail);
      else assert.equal(verdict.detail, undefined);
    });
  }
});
