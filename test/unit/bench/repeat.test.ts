import assert from 'node:assert/strict';
import { repeatsMarkdown, summarise } from '../../../bench/repeat.js';
import type { Figure } from '../../../bench/report.js';

const fig = (figure: string, value: number, pass: boolean | null): Figure => ({ figure, value, unit: '/s', target: '≥ 800/s', ideal: null, ratio: null, pass });

describe('bench --repeat: each figure over the runs', () => {
  it('gives min, median and max, judges the median run, and counts the runs that passed', () => {
    const runs = [
      [fig('ingest', 790, false), fig('sealer', 7000, null)],
      [fig('ingest', 850, true), fig('sealer', 6000, null)],
      [fig('ingest', 820, true), fig('sealer', 6500, null)],
    ];
    const [ingest, sealer] = summarise(runs);
    assert.deepEqual([ingest!.min, ingest!.median, ingest!.max, ingest!.pass, ingest!.passedRuns], [790, 820, 850, true, 2]);
    assert.deepEqual(ingest!.values, [790, 850, 820]);
    assert.deepEqual([sealer!.median, sealer!.pass, sealer!.passedRuns], [6500, null, null]);
    assert.match(repeatsMarkdown([ingest!, sealer!], 3), /\| ingest \| ≥ 800\/s \| 790 \/s \| 820 \/s \| 850 \/s \| pass \| 2 \|/);
  });

  it('with an even number of runs judges the lower middle run (never a figure no run measured)', () => {
    const [f] = summarise([[fig('x', 1, false)], [fig('x', 3, true)], [fig('x', 2, false)], [fig('x', 4, true)]]);
    assert.deepEqual([f!.median, f!.pass], [2, false]);
  });

  it('a figure missing from a later run is summarised over the runs that have it', () => {
    const [f] = summarise([[fig('x', 5, true)], []]);
    assert.deepEqual([f!.values, f!.median], [[5], 5]);
  });
});
