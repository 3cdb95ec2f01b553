import assert from 'node:assert/strict';
import sinon from 'sinon';
import { createFakeClock, DAY, SECOND } from '../../../functions/clock.js';
import { allBudgets, createCallPacer, createDailyQuota, createTokenBucket } from '../../../functions/services/rateLimiter.js';

function fakeTime() {
  const clock = createFakeClock('2026-03-01T12:00:00Z');
  // Sleeping moves the fake clock; sinon keeps what was asked for.
  const sleep = sinon.stub<[number], Promise<void>>().callsFake(async (ms) => clock.advance(ms));
  return {
    clock,
    sleep,
    get slept() {
      return sleep.args.map(([ms]) => ms);
    },
    far: () => new Date(clock.now().getTime() + DAY),
  };
}

describe('createTokenBucket', () => {
  it('lets a burst through, then paces at the rate', async () => {
    const t = fakeTime();
    const bucket = createTokenBucket({ perSecond: 2, clock: t.clock, sleep: t.sleep });
    const start = t.clock.now().getTime();
    for (let i = 0; i < 10; i += 1) assert.equal(await bucket.take(1, t.far()), true);
    // 2 at once (the burst), then 8 more at 2 per second: 4 seconds.
    assert.equal(t.clock.now().getTime() - start, 4 * SECOND);
  });

  it('never grants more than rate × time + burst, even to concurrent callers', async () => {
    const t = fakeTime();
    const bucket = createTokenBucket({ perSecond: 5, burst: 5, clock: t.clock, sleep: t.sleep });
    const start = t.clock.now().getTime();
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, () => bucket.take(1, t.far()).then((ok) => ok && granted.push(t.clock.now().getTime() - start))),
    );
    assert.equal(granted.length, 50);
    for (const at of granted) {
      const within = granted.filter((g) => g <= at).length;
      assert.ok(within <= 5 + (at / SECOND) * 5 + 1e-9, `at ${at} ms: ${within} granted`);
    }
  });

  it('refuses at once when the wait would pass the deadline', async () => {
    const t = fakeTime();
    const bucket = createTokenBucket({ perSecond: 1, clock: t.clock, sleep: t.sleep });
    assert.equal(await bucket.take(1, t.far()), true);
    assert.equal(await bucket.take(1, new Date(t.clock.now().getTime() + 500)), false);
    assert.deepEqual(t.slept, []);
    assert.equal(await bucket.take(1, new Date(t.clock.now().getTime() + 1000)), true);
  });
});

describe('createDailyQuota', () => {
  it('grants up to the quota per UTC day and starts again the next day', async () => {
    const t = fakeTime();
    const quota = createDailyQuota({ perDay: 3, clock: t.clock });
    assert.equal(await quota.take(2, t.far()), true);
    assert.equal(await quota.take(2, t.far()), false);
    assert.equal(await quota.take(1, t.far()), true);
    assert.equal(quota.remaining(), 0);
    t.clock.advance(DAY);
    assert.equal(await quota.take(3, t.far()), true);
  });

  it('combines with a token bucket: both must grant', async () => {
    const t = fakeTime();
    const budget = allBudgets(createDailyQuota({ perDay: 1, clock: t.clock }), createTokenBucket({ perSecond: 100, clock: t.clock, sleep: t.sleep }));
    assert.equal(await budget.take(1, t.far()), true);
    assert.equal(await budget.take(1, t.far()), false);
  });
});

describe('createCallPacer', () => {
  it('spaces calls at 1 a second from the end of the previous call, so a slow first request cannot share a window', async () => {
    const t = fakeTime();
    const pacer = createCallPacer({ perSecond: 1, clock: t.clock, sleep: t.sleep });
    const start = t.clock.now().getTime();
    const first = await pacer.acquire(t.far());
    assert.ok(first);
    // A cold connection: the first request takes 80 ms to reach the vendor and answer.
    const second = pacer.acquire(t.far());
    t.clock.advance(80);
    first.done();
    const slot = await second;
    assert.ok(slot);
    assert.equal(t.clock.now().getTime() - start, 1080, 'a whole second after the first call ended');
  });

  it('lets N calls start at once, then never more than N in any window counted from call ends', async () => {
    const t = fakeTime();
    const pacer = createCallPacer({ perSecond: 5, clock: t.clock, sleep: t.sleep });
    const start = t.clock.now().getTime();
    const calls: Array<{ startedAt: number; endedAt: number }> = [];
    for (let i = 0; i < 23; i += 1) {
      const slot = await pacer.acquire(t.far());
      assert.ok(slot);
      const startedAt = t.clock.now().getTime() - start;
      // Each call lasts a different time; the pacer must wait for the end, not the start.
      t.clock.advance((i * 37) % 90);
      slot.done();
      calls.push({ startedAt, endedAt: t.clock.now().getTime() - start });
    }
    for (let i = 1; i < 5; i += 1) assert.equal(calls[i]!.startedAt, calls[i - 1]!.endedAt, 'the first five were not held back by the window');
    assert.ok(calls[5]!.startedAt > calls[4]!.endedAt, 'the sixth was');
    for (let j = 5; j < calls.length; j += 1) {
      assert.ok(calls[j]!.startedAt >= calls[j - 5]!.endedAt + 1000, `call ${j} started ${calls[j]!.startedAt} ms, call ${j - 5} ended ${calls[j - 5]!.endedAt} ms`);
    }
  });

  it('paces a rate below one a second as one call per 1/rate seconds', async () => {
    const t = fakeTime();
    const pacer = createCallPacer({ perSecond: 0.5, clock: t.clock, sleep: t.sleep });
    (await pacer.acquire(t.far()))!.done();
    (await pacer.acquire(t.far()))!.done();
    assert.deepEqual(t.slept, [2000]);
  });

  it('refuses at once when no slot frees before the deadline, and keeps the slot for a later caller', async () => {
    const t = fakeTime();
    const pacer = createCallPacer({ perSecond: 1, clock: t.clock, sleep: t.sleep });
    (await pacer.acquire(t.far()))!.done();
    assert.equal(await pacer.acquire(new Date(t.clock.now().getTime() + 500)), null);
    assert.deepEqual(t.slept, []);
    assert.ok(await pacer.acquire(new Date(t.clock.now().getTime() + 1000)));
    assert.deepEqual(t.slept, [1000]);
  });
});
