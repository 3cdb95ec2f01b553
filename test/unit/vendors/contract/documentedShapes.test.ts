import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOCUMENTED_ANSWERS } from '../../../../functions/vendors/contract/documentedShapes.js';
import { closestShape, isAddition, shapeDifferences } from '../../../../functions/vendors/contract/shapes.js';
import { FixtureSchema } from '../../../fixtures/vendors/contract.js';

const fixtureFile = (name: string) => FixtureSchema.parse(JSON.parse(readFileSync(new URL(`../../../fixtures/vendors/${name}`, import.meta.url), 'utf8')));

describe('the documented answers embedded for the live contract probe', () => {
  for (const [group, answers] of Object.entries(DOCUMENTED_ANSWERS)) {
    for (const answer of answers) {
      it(`${group}: ${answer.fixture} is a faithful copy of the transcribed fixture`, () => {
        const f = fixtureFile(answer.fixture);
        assert.equal(answer.status, f.response.status);
        assert.deepEqual('body' in answer ? answer.body : undefined, f.response.body);
      });
    }
  }

  it('tells an answer that only grew from one that broke, and picks the closest documented variant', () => {
    const doc = { a: 'x', b: [{ c: 1 }] };
    assert.deepEqual(shapeDifferences({ a: 'y', b: [{ c: 2 }] }, doc), []);
    const grown = shapeDifferences({ a: 'y', b: [], extra: true }, doc);
    assert.deepEqual(grown, ['$.extra: not in the document']);
    assert.ok(grown.every(isAddition));
    const broken = shapeDifferences({ a: 1, b: [{ d: 1 }] }, doc);
    assert.deepEqual(broken.filter((d) => !isAddition(d)), ['$.a: number where the document shows string', '$.b[0].c: missing']);
    assert.deepEqual(closestShape({ a: 'y', b: [] }, [{ z: 1 }, doc]), { index: 1, differences: [] });
    assert.equal(closestShape({ a: 'y' }, []).index, -1);
  });
});
