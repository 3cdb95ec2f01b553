import assert from 'node:assert/strict';
import sinon from 'sinon';
import { createCheckRound, type OperationToCheck, type StatusReport } from '../../../functions/vendors/DeletionVendor.js';
import { checkSharedJobs } from '../../../functions/vendors/sharedJobs.js';

const op = (deletionId: string, job: string) => ({ deletionId, job }) as unknown as OperationToCheck & { job: string };
const jobOf = (o: OperationToCheck) => (o as unknown as { job: string }).job;

describe('check rounds: a shared job is read once per round, whatever the batches', () => {
  it('two batches of one job in one round cost one read; a new round reads again', async () => {
    const readJob = sinon.stub<[string], Promise<StatusReport>>().resolves({ state: 'in_progress', rawStatus: 'RUNNING', payload: {} } as StatusReport);
    const round = createCheckRound();
    const a = await checkSharedJobs([op('1', 'j1'), op('2', 'j1')], jobOf, readJob, round);
    assert.equal(round.has('j1'), true);
    const b = await checkSharedJobs([op('3', 'j1'), op('4', 'j2')], jobOf, readJob, round);
    assert.deepEqual(readJob.args.map((x) => x[0]), ['j1', 'j2']);
    assert.equal(a.get('1')?.state, 'in_progress');
    assert.equal(b.get('3')?.state, 'in_progress');
    await checkSharedJobs([op('5', 'j1')], jobOf, readJob, createCheckRound());
    assert.equal(readJob.callCount, 3);
  });

  it('concurrent batches share the read in flight', async () => {
    let resolve!: (r: StatusReport) => void;
    const readJob = sinon.stub<[string], Promise<StatusReport>>().returns(new Promise((r) => (resolve = r)));
    const round = createCheckRound();
    const first = checkSharedJobs([op('1', 'j')], jobOf, readJob, round);
    const second = checkSharedJobs([op('2', 'j')], jobOf, readJob, round);
    resolve({ state: 'completed', rawStatus: 'FINISHED', payload: {} } as StatusReport);
    const [x, y] = await Promise.all([first, second]);
    assert.equal(readJob.callCount, 1);
    assert.equal(x.get('1')?.state, 'completed');
    assert.equal(y.get('2')?.state, 'completed');
  });

  it("a read's fault is the round's answer for that job: not read again in the round", async () => {
    const readJob = sinon.stub<[string], Promise<StatusReport>>().rejects(new Error('503'));
    const round = createCheckRound();
    await assert.rejects(checkSharedJobs([op('1', 'j')], jobOf, readJob, round), /503/);
    await assert.rejects(checkSharedJobs([op('2', 'j')], jobOf, readJob, round), /503/);
    assert.equal(readJob.callCount, 1);
  });

  it('without a round every call reads', async () => {
    const readJob = sinon.stub<[string], Promise<StatusReport>>().resolves({ state: 'submitted', rawStatus: 'INITIALIZED', payload: {} } as StatusReport);
    await checkSharedJobs([op('1', 'j')], jobOf, readJob);
    await checkSharedJobs([op('2', 'j')], jobOf, readJob);
    assert.equal(readJob.callCount, 2);
  });
});
