import assert from 'node:assert/strict';
import { buildTimeline, deadlineOutcome } from '../../../functions/domain/timeline.js';
import type { TimelineDeletionRow } from '../../../functions/domain/timelineRows.js';

const deadline = new Date('2026-02-01T00:00:00Z');
function deletion(state: string, completedAt: string | null, vendor = 'http'): TimelineDeletionRow {
  return {
    id: vendor,
    request_id: '1',
    vendor,
    state,
    operation_id: 'op',
    operation_ref: null,
    submitted_at: null,
    completed_at: completedAt ? new Date(completedAt) : null,
    verified_at: null,
    check_count: 0,
    raw_status: null,
  };
}

describe('deadlineOutcome', () => {
  const cases: Array<[string, TimelineDeletionRow[], string, unknown]> = [
    ['met when every vendor completed before the deadline', [deletion('completed', '2026-01-20T00:00:00Z'), deletion('cancelled', null, 'b')], '2026-03-01T00:00:00Z', { status: 'met', finishedAt: '2026-01-20T00:00:00.000Z' }],
    ['missed when the last completion came after it', [deletion('completed', '2026-01-20T00:00:00Z'), deletion('completed', '2026-02-03T00:00:00Z', 'b')], '2026-03-01T00:00:00Z', { status: 'missed', finishedAt: '2026-02-03T00:00:00.000Z' }],
    ['open with days left (rounded up)', [deletion('submitted', null)], '2026-01-29T12:00:00Z', { status: 'open', daysLeft: 3 }],
    ['missed while still open past the deadline', [deletion('in_progress', null)], '2026-02-01T00:00:01Z', { status: 'missed', finishedAt: null }],
  ];
  for (const [name, deletions, now, expected] of cases) {
    it(name, () => assert.deepEqual(deadlineOutcome(deadline, deletions, new Date(now)), expected));
  }
});

describe('buildTimeline', () => {
  it('groups events per vendor in chain order and lists each distinct status once, when first seen', () => {
    const t = buildTimeline(
      {
        requests: [
          {
            id: '1',
            customer_id: 'c1',
            revoked_at: new Date('2026-01-01T00:00:00Z'),
            source: 'firestore',
            source_event_id: 'evt-1',
            deadline_at: deadline,
            regranted_at: null,
            created_at: new Date('2026-01-01T00:00:01Z'),
            regime: 'ccpa',
          },
        ],
        deletions: [{ ...deletion('completed', '2026-01-05T00:00:00Z'), id: '7' }],
        events: [
          { seq: '1', request_id: '1', vendor_deletion_id: null, vendor: null, kind: 'revoked', detail: {}, occurred_at: new Date('2026-01-01T00:00:00Z') },
          { seq: '2', request_id: '1', vendor_deletion_id: '7', vendor: 'http', kind: 'submitted', detail: { rawStatus: 'pending' }, occurred_at: new Date('2026-01-01T00:00:02Z') },
          { seq: '3', request_id: '1', vendor_deletion_id: '7', vendor: 'http', kind: 'status_seen', detail: { rawStatus: 'in_progress' }, occurred_at: new Date('2026-01-02T00:00:00Z') },
          { seq: '4', request_id: '1', vendor_deletion_id: '7', vendor: 'http', kind: 'status_seen', detail: { rawStatus: 'in_progress' }, occurred_at: new Date('2026-01-03T00:00:00Z') },
          { seq: '5', request_id: '1', vendor_deletion_id: '7', vendor: 'http', kind: 'completed', detail: { rawStatus: 'complete' }, occurred_at: new Date('2026-01-05T00:00:00Z') },
        ],
      },
      new Date('2026-03-01T00:00:00Z'),
    );
    assert.equal(t.length, 1);
    assert.equal(t[0]!.regime, 'ccpa', 'the request shows its regime');
    assert.deepEqual(t[0]!.events.map((e) => e.kind), ['revoked']);
    assert.deepEqual(t[0]!.vendors[0]!.statuses, [
      { status: 'pending', firstSeenAt: '2026-01-01T00:00:02.000Z' },
      { status: 'in_progress', firstSeenAt: '2026-01-02T00:00:00.000Z' },
      { status: 'complete', firstSeenAt: '2026-01-05T00:00:00.000Z' },
    ]);
    assert.deepEqual(t[0]!.deadline, { status: 'met', finishedAt: '2026-01-05T00:00:00.000Z' });
  });
});
