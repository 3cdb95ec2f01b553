import assert from 'node:assert/strict';
import { amplitudeReport, dayWindows, type AmplitudeRef } from '../../../../functions/vendors/amplitude/amplitudeVendor.js';
import { AMPLITUDE_STATUS_MAP, AmplitudeStatusWordSchema } from '../../../../functions/vendors/amplitude/status.js';

const ref: AmplitudeRef = { project: 'web', day: '2026-03-11', id: 'u-1', idType: 'user_id', amplitudeIds: [7, 8] };
const job = (status: 'staging' | 'submitted' | 'done', ids: number[], extra: Record<string, unknown> = {}) => ({
  day: '2026-03-11',
  status,
  amplitude_ids: ids.map((amplitude_id) => ({ amplitude_id })),
  ...extra,
});

describe('amplitude status mapping', () => {
  it('maps the three documented words and nothing else', () => {
    assert.deepEqual(AMPLITUDE_STATUS_MAP, { staging: 'submitted', submitted: 'in_progress', done: 'completed' });
    for (const word of ['failed', 'Staging', 'queued']) assert.equal(AmplitudeStatusWordSchema.safeParse(word).success, false);
  });

  it('finds every amplitude_id of the customer in the jobs of its day; the least advanced decides', () => {
    const running = amplitudeReport(ref, [job('submitted', [7, 8, 9])]);
    assert.deepEqual([running.state, running.rawStatus], ['in_progress', 'submitted']);
    assert.equal(running.expectedCompletionAt?.toISOString(), '2026-03-16T00:00:00.000Z');
    const split = amplitudeReport(ref, [job('done', [7], { active_scrub_done_date: '2026-03-12' }), job('staging', [8])]);
    assert.deepEqual([split.state, split.expectedCompletionAt?.toISOString()], ['submitted', '2026-03-17T00:00:00.000Z']);
    const done = amplitudeReport(ref, [job('done', [7, 8], { active_scrub_done_date: '2026-03-12' })]);
    assert.deepEqual([done.state, done.expectedCompletionAt?.toISOString()], ['completed', '2026-03-17T00:00:00.000Z']);
  });

  it('reads jobs from firstDay to day when the ids sit in jobs of different days', () => {
    const spread: AmplitudeRef = { ...ref, firstDay: '2026-03-10' };
    const report = amplitudeReport(spread, [{ ...job('done', [7]), day: '2026-03-10' }, job('done', [8])]);
    assert.equal(report.state, 'completed');
  });

  it('is an error when an id is missing from its day, the day has no job, or the reference holds no id', () => {
    assert.equal(amplitudeReport(ref, [job('staging', [7])]).state, 'error');
    assert.match(amplitudeReport(ref, [job('staging', [7])]).detail ?? '', /amplitude_id 8/);
    assert.equal(amplitudeReport(ref, [{ ...job('staging', [7, 8]), day: '2026-03-12' }]).state, 'error');
    assert.equal(amplitudeReport({ ...ref, amplitudeIds: [] }, [job('staging', [7, 8])]).state, 'error');
  });

  it('splits days into listing windows of at most 180 days', () => {
    assert.deepEqual(dayWindows(['2026-03-11', '2026-01-01', '2026-03-11']), [{ start: '2026-01-01', end: '2026-03-11' }]);
    assert.deepEqual(dayWindows(['2026-01-01', '2026-07-01', '2026-06-30']), [
      { start: '2026-01-01', end: '2026-06-30' },
      { start: '2026-07-01', end: '2026-07-01' },
    ]);
  });
});
