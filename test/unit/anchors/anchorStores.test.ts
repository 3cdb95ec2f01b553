import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { anchorContent, anchorName, parseAnchor } from '../../../functions/anchors/ChainAnchor.js';
import { createFileAnchorStore } from '../../../functions/anchors/fileAnchorStore.js';
import { createGcsAnchorStore, type AnchorBucket, type AnchorObject } from '../../../functions/anchors/gcsAnchorStore.js';
import { anchorSettings, AnchorEnvSchema } from '../../../functions/anchors/settings.js';

const hash = (c: string) => c.repeat(64);
const anchor = (sequence: number, h = hash('a')) => ({ sequence, hash: h, time: '2026-11-29T18:00:00.000Z' });

describe('chain anchors: names and content', () => {
  it('names an anchor by its zero-padded sequence and hash, so names sort in chain order', () => {
    assert.equal(anchorName(anchor(42)), `00000000000000000042-${hash('a')}.json`);
    const parsed = parseAnchor(`dir/${anchorName(anchor(42))}`, anchorContent(anchor(42)));
    assert.deepEqual(parsed, { ...anchor(42), name: `dir/${anchorName(anchor(42))}` });
  });

  const refused: Array<[string, string, string, RegExp]> = [
    ['a name that is no anchor', 'notes.json', anchorContent(anchor(1)), /not an anchor name/],
    ['content that is no JSON', anchorName(anchor(1)), 'x', /not an anchor/],
    ['content naming another entry', anchorName(anchor(1)), anchorContent(anchor(2)), /its content names entry 2/],
    ['content with another hash', anchorName(anchor(1)), anchorContent(anchor(1, hash('b'))), /its content names entry 1, hash b/],
  ];
  for (const [what, name, content, error] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => parseAnchor(name, content), error));
  }
});

describe('file anchor store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anchors-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each anchor once, read-only, and lists them in sequence order', async () => {
    const store = createFileAnchorStore(join(dir, 'anchors'));
    assert.deepEqual(await store.list(), [], 'no folder yet: no anchors');
    assert.equal(await store.write(anchor(10)), 'written');
    assert.equal(await store.write(anchor(9)), 'written');
    assert.equal(await store.write(anchor(10)), 'exists');
    const listed = await store.list();
    assert.deepEqual(listed.map((a) => a.sequence), [9, 10]);
    const file = join(dir, 'anchors', anchorName(anchor(10)));
    assert.equal((await stat(file)).mode & 0o777, 0o444);
  });

  it('refuses to list a folder holding a forged anchor, naming it', async () => {
    const store = createFileAnchorStore(dir);
    await store.write(anchor(3));
    await writeFile(join(dir, anchorName(anchor(4))), anchorContent(anchor(5)));
    await assert.rejects(store.list(), /00000000000000000004-a+\.json: its content names entry 5/);
    assert.equal((await readdir(dir)).length, 2);
  });
});

describe('Cloud Storage anchor store (a fake bucket)', () => {
  function fakeBucket(existing: Record<string, string> = {}) {
    const objects = new Map(Object.entries(existing));
    const object = (name: string): AnchorObject => ({
      name,
      save: sinon.fake(async (data: string, options: { preconditionOpts: { ifGenerationMatch: number } }) => {
        if (options.preconditionOpts.ifGenerationMatch === 0 && objects.has(name)) throw Object.assign(new Error('precondition failed'), { code: 412 });
        objects.set(name, data);
      }),
      download: async () => [Buffer.from(objects.get(name) ?? '')],
    });
    const made: AnchorObject[] = [];
    const bucket: AnchorBucket = {
      name: 'proj-anchors',
      file: (name) => {
        const o = object(name);
        made.push(o);
        return o;
      },
      getFiles: async ({ prefix }) => [[...objects.keys()].filter((n) => n.startsWith(prefix)).map(object)],
    };
    return { bucket, objects, made };
  }

  it('creates objects only where none exists (ifGenerationMatch: 0), and answers exists on a 412', async () => {
    const { bucket, objects, made } = fakeBucket();
    const store = createGcsAnchorStore({ bucket, prefix: 'chain-head/' });
    assert.equal(store.where, 'gs://proj-anchors/chain-head/');
    assert.equal(await store.write(anchor(7)), 'written');
    assert.equal(await store.write(anchor(7)), 'exists');
    const options = (made[0]!.save as sinon.SinonSpy).firstCall.args[1];
    assert.deepEqual(options, { contentType: 'application/json', resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    assert.deepEqual([...objects.keys()], [`chain-head/${anchorName(anchor(7))}`]);
  });

  it('passes any other failure on, for the poller to log and retry', async () => {
    const { bucket } = fakeBucket();
    bucket.file = (name) => ({ name, save: async () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })), download: async () => [Buffer.from('')] });
    await assert.rejects(createGcsAnchorStore({ bucket, prefix: '' }).write(anchor(1)), /forbidden/);
  });

  it('lists the anchors under its prefix in sequence order', async () => {
    const { bucket } = fakeBucket({
      [`chain-head/${anchorName(anchor(20))}`]: anchorContent(anchor(20)),
      [`chain-head/${anchorName(anchor(3))}`]: anchorContent(anchor(3)),
      [`other/${anchorName(anchor(5))}`]: anchorContent(anchor(5)),
    });
    const listed = await createGcsAnchorStore({ bucket, prefix: 'chain-head/' }).list();
    assert.deepEqual(listed.map((a) => [a.sequence, a.name]), [
      [3, `gs://proj-anchors/chain-head/${anchorName(anchor(3))}`],
      [20, `gs://proj-anchors/chain-head/${anchorName(anchor(20))}`],
    ]);
  });
});

describe('anchor settings', () => {
  const settings = (env: Record<string, string>, required = false) => {
    const problems: string[] = [];
    const s = anchorSettings(AnchorEnvSchema.parse(env), problems, required);
    return { ...s, problems };
  };

  it('anchors hourly by default, in the named bucket or folder', () => {
    assert.deepEqual(settings({ ANCHOR_BUCKET: 'p-anchors' }), { intervalMs: 3_600_000, target: { kind: 'gcs', bucket: 'p-anchors', prefix: 'chain-head/' }, problems: [] });
    assert.deepEqual(settings({ ANCHOR_DIR: '/tmp/a', CHAIN_ANCHOR_MINUTES: '5' }), { intervalMs: 300_000, target: { kind: 'file', dir: '/tmp/a' }, problems: [] });
  });

  it('requires somewhere to write of the poller, unless anchoring is off; refuses two places', () => {
    assert.match(settings({}, true).problems[0]!, /^ANCHOR_BUCKET: required by pollDeletions/);
    assert.deepEqual(settings({ CHAIN_ANCHOR_MINUTES: '0' }, true).problems, []);
    assert.deepEqual(settings({}, false).problems, []);
    assert.deepEqual(settings({ ANCHOR_BUCKET: 'p-anchors', ANCHOR_DIR: '/tmp/a' }).problems, ['ANCHOR_DIR: set ANCHOR_BUCKET or ANCHOR_DIR, not both']);
    assert.throws(() => AnchorEnvSchema.parse({ ANCHOR_BUCKET: 'gs://p-anchors' }), /Cloud Storage bucket name/);
  });
});
