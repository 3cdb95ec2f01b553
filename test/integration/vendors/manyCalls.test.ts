import assert from 'node:assert/strict';
import sinon from 'sinon';
import { createFakeClock, HOUR, MINUTE, SECOND } from '../../../functions/clock.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { callVendor } from '../../../functions/vendors/callVendor.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { z } from 'zod';
import { useTestDatabase } from '../../helpers/db.js';
import { seedDeletions } from '../poller/fixtures.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

/**
 * The fault suite's full profile once stalled after ~17,500 vendor calls from one process (issue 8): a
 * client connection pool worn out by one origin was suspected. These tests keep both halves of the answer:
 * tens of thousands of calls through callVendor to one sandbox origin all answer, and a poll round on a
 * clock that stands still (as the suite's fake clock does within a cycle) is not slowed by its rate pacing
 * call after call, which is what stalled that run (a token bucket that ran into debt on every call because
 * the clock it refilled from never moved, so the k-th call waited k/rate seconds).
 */

const Created = z.object({ operationId: z.string().min(1) });
const Status = z.object({ operationId: z.string().min(1), status: z.string() });
const T0 = new Date('2026-11-27T10:00:00Z');
const CONCURRENCY = 8;

/**
 * Runs `calls` with `CONCURRENCY` workers and stops at the first failure, so a wedged client fails the test
 * after one call timeout instead of after thousands of them.
 */
async function runFailFast(count: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < count) {
      const i = next++;
      try {
        await call(i);
      } catch (err) {
        failure ??= new Error(`call ${i + 1} of ${count} failed`, { cause: err });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (failure !== undefined) throw failure;
}

/** Creates `count` operations at the http sandbox through callVendor; returns their ids in order. */
async function createOperations(sandbox: RunningSandbox, prefix: string, count: number): Promise<string[]> {
  const ids = new Array<string>(count);
  await runFailFast(count, async (i) => {
    const key = `${prefix}-key-${i}`;
    const { body } = await callVendor(
      'http',
      {
        method: 'POST',
        url: `${sandbox.url}/http/deletions`,
        headers: { 'idempotency-key': key },
        json: { customerId: `${prefix}-${i}`, requestId: key },
        timeoutMs: 5 * SECOND,
      },
      Created,
    );
    ids[i] = body.operationId;
  });
  return ids;
}

describe('many vendor calls from one process (issue 8: the full fault profile stalled)', function () {
  this.timeout(180_000);
  const db = useTestDatabase('vendors_many_calls');
  let sandbox: RunningSandbox;
  let clock: ReturnType<typeof createFakeClock>;

  before(async () => {
    clock = createFakeClock(T0);
    // The call record is not needed (the counters are kept regardless) and would only hold memory.
    sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 10 * MINUTE }, recordLimit: 0 } } });
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('answers 20,000 calls to one origin through callVendor, 8 at a time, without one failing', async () => {
    const before = sandbox.control.stats('http');
    // The mix of the suite's scenario 1: a create per customer, then a status read of each operation.
    const ids = await createOperations(sandbox, 'many', 10_000);
    await runFailFast(ids.length, async (i) => {
      const { body } = await callVendor('http', { method: 'GET', url: `${sandbox.url}/http/deletions/${ids[i]}`, timeoutMs: 5 * SECOND }, Status);
      assert.equal(body.operationId, ids[i]);
    });
    const after = sandbox.control.stats('http');
    assert.equal(after.requests - before.requests, 20_000);
    assert.equal((after.byStatus['201'] ?? 0) - (before.byStatus['201'] ?? 0), 10_000);
    assert.equal((after.byStatus['200'] ?? 0) - (before.byStatus['200'] ?? 0), 10_000);
  });

  /**
   * One poll cycle over `count` submitted deletions whose operations complete at the sandbox, on a clock
   * that does not move during the cycle; returns the waits the cycle asked its sleep for.
   */
  async function pollRoundOnStandingClock(prefix: string, count: number, requestsPerSecond: number) {
    clock.set(T0);
    const ids = await createOperations(sandbox, prefix, count);
    await seedDeletions(
      db().pool,
      ids.map((operationId, i) => ({
        customerId: `${prefix}-${i}`,
        vendor: 'http',
        state: 'submitted' as const,
        operationId,
        revokedAt: new Date(T0.getTime() - HOUR),
        nextCheckAt: T0,
      })),
    );
    // Past the operations' completion; from here the clock stands still for the whole cycle.
    clock.set(new Date(T0.getTime() + 11 * MINUTE));
    const sleep = sinon.stub<[number], Promise<void>>().resolves();
    const vendor = createHttpVendor(
      { baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' },
      { requestsPerSecond, concurrency: CONCURRENCY, timeoutMs: 5 * SECOND },
    );
    const cycle = buildPollCycle({
      pool: db().pool,
      vendors: [vendor],
      clock,
      // Waits are recorded, not slept: what is measured is how long the pacing asks to wait.
      sleep,
    });
    const report = await cycle.run({});
    return { report, waits: sleep.args.map(([ms]) => ms) };
  }

  it('paces a poll round of 3,000 checks on a standing clock without asking to wait when under the budget', async () => {
    const { report, waits } = await pollRoundOnStandingClock('wide', 3_000, 100_000);
    assert.equal(report.checked, 3_000);
    assert.equal(report.completed, 3_000);
    assert.equal(report.errors, 0);
    // 3,000 calls against 100,000 a second: no call has to wait (the bucket of that run asked for 45 s in all).
    const total = waits.reduce((a, b) => a + b, 0);
    assert.equal(waits.length, 0, `${waits.length} waits asked for, ${total} ms in all, the longest ${Math.max(0, ...waits)} ms`);
  });

  it('paces a poll round over its budget on a standing clock with waits that never grow past one window', async () => {
    const { report, waits } = await pollRoundOnStandingClock('narrow', 2_000, 500);
    assert.equal(report.checked, 2_000);
    assert.equal(report.completed, 2_000);
    // Every call beyond the first 500 waits for a slot of the one-second window; none waits longer than the
    // window however many calls came before it (the bucket of that run asked the 2,000th call for 4 s).
    const longest = Math.max(0, ...waits);
    assert.ok(longest <= SECOND, `the longest wait was ${longest} ms (after ${waits.indexOf(longest) + 1} waits), over the one-second window`);
    assert.ok(waits.every((ms) => ms > 0), 'a wait of no time was asked for');
    assert.equal(waits.length, 1_500);
  });
});
