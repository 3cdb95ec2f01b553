import assert from 'node:assert/strict';
import { amplitudeReport, dayWindows, type AmplitudeRef } from '../../../../functions/vendors/amplitude/amplitudeVendor.js';
import { AMPLITUDE_STATUS_MAP, AmplitudeStatusWordSchema } from '../../../../functions/vendors/amplitude/status.js';

const ref: AmplitudeRef = { project: 'web', day: '2026-03-11', id: 'u-1', idType: 'user_id' };
const job = (status: 'staging' | 'submitted' | 'done', users: { amplitude_id: number; user_id?: string }[], extra: Record<string, unknown> = {}) => ({
  day: '2026-03-11',
  status,
  amplitude_ids: users,
  ...extra,
});

describe('amplitude status mapping', () => {
  it('maps the three documented words and nothing else', () => {
    assert.deepEqual(AMPLITUDE_STATUS_MAP, { staging: 'submitted', submitted: 'in_progress', done: 'completed' });
    for (const word of ['failed', 'Staging', 'queued']) assert.equal(AmplitudeStatusWordSchema.safeParse(word).success, false);
  });

  it('finds the customer in the job of its day, by user id or amplitude id', () => {
    const byUser = amplitudeReport(ref, [job('submitted', [{ amplitude_id: 7, user_id: 'u-1' }])]);
    assert.deepEqual([byUser.state, byUser.rawStatus], ['in_progress', 'submitted']);
    assert.equal(byUser.expectedCompletionAt?.toISOString(), '2026-03-16T00:00:00.000Z');
    const byId = amplitudeReport({ ...ref, amplitudeId: 9 }, [job('done', [{ amplitude_id: 9 }], { active_scrub_done_date: '2026-03-12' })]);
    assert.deepEqual([byId.state, byId.expectedCompletionAt?.toISOString()], ['completed', '2026-03-17T00:00:00.000Z']);
  });

  it('is an error when the customer is missing from its day, or the day has no job', () => {
    assert.equal(amplitudeReport(ref, [job('staging', [{ amplitude_id: 7, user_id: 'u-2' }])]).state, 'error');
    assert.equal(amplitudeReport(ref, [{ ...job('staging', [{ amplitude_id: 7, user_id: 'u-1' }]), day: '2026-03-12' }]).state, 'error');
  });

  it('splits days into listing windows of at most 180 days', () => {
    assert.deepEqual(dayWindows(['2026-03-11', '2026-01-01', '2026-03-11']), [{ start: '2026-01-01', end: '2026-03-11' }]);
    assert.deepEqual(dayWindows(['2026-01-01', '2026-07-01', '2026-06-30']), [
      { start: '2026-01-01', end: '2026-06-30' },
      { start: '2026-07-01', end: '2026-07-01' },
    ]);
  });
});
