import assert from 'node:assert/strict';
import { resubmitPartOf, splitDecision, worstCaseCreates, type JobPosition } from '../../../functions/domain/taskSplit.js';

/**
 * Runs the split decision the way the poller applies it, without a vendor: a job of `ids` fails when it holds
 * the bad one; each of its operations goes to the part its position says, each part is a new job. Returns the
 * creates made, the jobs the bad id went through and where every id ended.
 */
function simulate(ids: string[], bad: string) {
  let creates = 0;
  let next = 0;
  const ended = new Map<string, 'completed' | 'alone'>();
  const badPath: string[] = [];
  const submit = (members: string[], lineage: string[]) => {
    creates += 1;
    const job = `job-${++next}`;
    if (!members.includes(bad)) {
      for (const id of members) ended.set(id, 'completed');
      return;
    }
    badPath.push(job);
    const parts = new Map<string, { ids: string[]; lineage: string[] }>();
    members.forEach((id, index) => {
      const d = splitDecision({ job, index, subjects: members.length, lineage });
      if (d.kind === 'alone') return void ended.set(id, 'alone');
      const group = parts.get(d.part.group) ?? { ids: [], lineage: d.part.lineage };
      group.ids.push(id);
      parts.set(d.part.group, group);
    });
    for (const p of parts.values()) submit(p.ids, p.lineage);
  };
  submit(ids, []);
  return { creates, ended, badPath };
}

/** Creates one bad id at `bad` among `n` costs: the first job, then both halves of every job on its way down. */
function createsAlongPath(n: number, bad: number): number {
  let creates = 1;
  let size = n;
  let index = bad;
  for (;;) {
    const d = splitDecision({ job: 'j', index, subjects: size, lineage: [] });
    if (d.kind === 'alone') return creates;
    creates += 2;
    if (d.part.part === 1) index -= Math.ceil(size / 2);
    size = d.part.subjects;
  }
}

describe('splitting a failed shared job (pure)', () => {
  const pos = (index: number, subjects: number, lineage: string[] = []): JobPosition => ({ job: 'A', index, subjects, lineage });

  it('puts the first ⌈n/2⌉ positions in the first half and the rest in the second, naming the job split', () => {
    assert.deepEqual(splitDecision(pos(0, 1999)), {
      kind: 'split',
      part: { group: 'A#0', part: 0, parts: 2, subjects: 1000, from: 'A', lineage: ['A'] },
    });
    assert.deepEqual(splitDecision(pos(999, 1999)).kind === 'split' && splitDecision(pos(999, 1999)), {
      kind: 'split',
      part: { group: 'A#0', part: 0, parts: 2, subjects: 1000, from: 'A', lineage: ['A'] },
    });
    const second = splitDecision(pos(1000, 1999, ['X', 'Y']));
    assert.deepEqual(second, { kind: 'split', part: { group: 'A#1', part: 1, parts: 2, subjects: 999, from: 'A', lineage: ['X', 'Y', 'A'] } });
    assert.deepEqual(splitDecision(pos(1, 2)), { kind: 'split', part: { group: 'A#1', part: 1, parts: 2, subjects: 1, from: 'A', lineage: ['A'] } });
  });

  it('leaves an operation alone in its job with nothing to split', () => {
    assert.deepEqual(splitDecision(pos(0, 1)), { kind: 'alone' });
  });

  it('refuses a position outside the job', () => {
    assert.throws(() => splitDecision(pos(5, 5)), RangeError);
    assert.throws(() => splitDecision(pos(-1, 5)), RangeError);
    assert.throws(() => splitDecision(pos(0, 0)), RangeError);
  });

  it('1,999 ids and one bad id: 1,998 complete, the bad one alone, at most 1 + 2·⌈log2 1999⌉ = 23 creates', () => {
    const ids = Array.from({ length: 1999 }, (_, i) => `id-${i}`);
    // The whole simulation at every 41st position (and the ends); the count alone at every position.
    for (const b of [...Array.from({ length: 49 }, (_, i) => i * 41), 1998]) {
      const { creates, ended } = simulate(ids, ids[b]!);
      assert.equal(ended.get(ids[b]!), 'alone');
      assert.equal([...ended.values()].filter((e) => e === 'completed').length, 1998, `bad at ${b}`);
      assert.equal(creates, createsAlongPath(1999, b), `bad at ${b}`);
    }
    const counts = ids.map((_, b) => createsAlongPath(1999, b));
    assert.equal(worstCaseCreates(1999), 23);
    // 1999 is not a power of two: 1,950 positions need 11 halvings (23 creates), 49 need 10 (21 creates). Without
    // the ceiling, 2·log2(1999) + 1 = 22.93 would hold only for those 49.
    assert.deepEqual([counts.filter((c) => c === 23).length, counts.filter((c) => c === 21).length], [1950, 49]);
    // The position the integration test uses (test/integration/vendors/mixpanelSplit.test.ts).
    assert.equal(counts[1234], 23);
  });

  it('never needs more than 1 + 2·⌈log2 n⌉ creates, for every job size up to 128 and every bad position', () => {
    for (let n = 1; n <= 128; n++) {
      const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
      for (let b = 0; b < n; b++) {
        const { creates, badPath } = simulate(ids, ids[b]!);
        assert.ok(creates <= worstCaseCreates(n), `n=${n}, bad at ${b}: ${creates}`);
        assert.equal(badPath.length, creates === 1 ? 1 : (creates - 1) / 2 + 1);
      }
    }
  });

  it('reads the part kept in a queued row\'s reference, and nothing else', () => {
    const part = { group: 'A#1', part: 1, parts: 2, subjects: 3, from: 'A', lineage: ['A'] };
    assert.deepEqual(resubmitPartOf({ trackingId: 'A', subjects: 6, index: 4, resubmitIn: part }), part);
    assert.equal(resubmitPartOf({ trackingId: 'A', subjects: 6 }), undefined);
    assert.equal(resubmitPartOf({ resubmitIn: { group: '' } }), undefined);
    assert.equal(resubmitPartOf(null), undefined);
  });
});
