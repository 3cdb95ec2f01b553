import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPubsubAdmin, type PubsubAdmin } from '../../../local/pubsubAdmin.js';
import { pubsubEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { cli } from './helpers.js';

describe('consent-erasure poll (real Pub/Sub emulator)', function () {
  this.timeout(60_000);
  let cwd: string;
  let host: string;
  let projectId: string;
  let admin: PubsubAdmin;

  const env = () => ({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:9/unused',
    GOOGLE_CLOUD_PROJECT: projectId,
    PUBSUB_EMULATOR_HOST: host,
    VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http',
  });

  /** Pulls until `n` messages arrived (the emulator may hand them over in several pulls). */
  async function pullAll(n: number) {
    const got: Array<{ data: string }> = [];
    for (let i = 0; i < 50 && got.length < n; i++) {
      got.push(...(await admin.pull('poll-tap', { maxMessages: 10 })));
      if (got.length < n) await new Promise((r) => setTimeout(r, 100));
    }
    return got;
  }

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'ce-poll-'));
    host = await pubsubEmulator();
    projectId = uniqueProjectId('poll');
    admin = createPubsubAdmin({ host, projectId });
    await admin.ensureTopic('deletion-poll');
    await admin.ensurePullSubscription('deletion-poll', 'poll-tap');
  });
  after(() => rmSync(cwd, { recursive: true, force: true }));

  it('publishes "do what is due" with no filter, and forced filters when given', async () => {
    const due = await cli(['poll'], env(), cwd);
    assert.equal(due.code, 0, due.stderr);
    const forced = await cli(
      ['poll', '--customer', 'c-1', '--customer', 'c-2', '--vendor', 'http', '--operation', 'op-9', '--reason', 'audit', '--json'],
      env(),
      cwd,
    );
    assert.equal(forced.code, 0, forced.stderr);
    const printed = JSON.parse(forced.stdout);
    assert.equal(printed.topic, 'deletion-poll');
    const messages = (await pullAll(2)).map((m) => JSON.parse(m.data));
    assert.deepEqual(
      messages.sort((a, b) => Object.keys(a).length - Object.keys(b).length),
      [
        { reason: 'consent-erasure poll' },
        { customerIds: ['c-1', 'c-2'], vendors: ['http'], operationIds: ['op-9'], reason: 'audit' },
      ],
    );
  });

  it('publishes to the configured topic', async () => {
    await admin.ensureTopic('other-poll');
    await admin.ensurePullSubscription('other-poll', 'other-tap');
    const run = await cli(['poll', '--vendor', 'http'], { ...env(), POLL_TOPIC: 'other-poll' }, cwd);
    assert.equal(run.code, 0, run.stderr);
    let got: Array<{ data: string }> = [];
    for (let i = 0; i < 50 && got.length === 0; i++) {
      got = await admin.pull('other-tap');
      if (got.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(JSON.parse(got[0]!.data), { vendors: ['http'], reason: 'consent-erasure poll' });
  });

  it('refuses a message the poller would reject, naming the field (exit 2, nothing published)', async () => {
    const run = await cli(['poll', '--reason', 'x'.repeat(600)], env(), cwd);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /reason/);
    assert.deepEqual(await admin.pull('poll-tap'), []);
  });
});
