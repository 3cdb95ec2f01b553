import assert from 'node:assert/strict';
import sinon from 'sinon';
import { createFakeClock } from '../../../../functions/clock.js';
import { createInFlightSizer } from '../../../../functions/services/poll/inFlight.js';
import { fakeVendor } from '../../../helpers/fakeVendor.js';

describe('the in-flight sizer: calls in flight follow the measured latency', () => {
  const op = { deletionId: '1', operationId: 'op-1', ref: null } as never;

  it('starts at the policy concurrency, then sizes from rate × latency, up to maxConcurrency', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z');
    const vendor = fakeVendor('http', {
      policy: { requestsPerSecond: 500, concurrency: 8, maxConcurrency: 512 },
      check: () => void clock.advance(500),
    });
    const onChange = sinon.spy();
    const sizer = createInFlightSizer({ clock, onChange });
    assert.equal(sizer.limit(vendor), 8);
    await sizer.timed(vendor).checkStatus([op]);
    assert.equal(sizer.latencyMs('http'), 500);
    assert.equal(sizer.limit(vendor), 375);
    assert.deepEqual(onChange.args, [['http', 375]]);
    // The wrapper is the vendor otherwise: same name, policy and answer.
    assert.equal(sizer.timed(vendor).name, 'http');
    assert.equal(sizer.timed(vendor), sizer.timed(vendor));
    assert.equal(vendor.checkStatus.callCount, 1);
  });

  it('times failed calls too, and a faster vendor shrinks the size back towards the floor', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z');
    let latency = 400;
    const vendor = fakeVendor('v', {
      policy: { requestsPerSecond: 100, concurrency: 2, maxConcurrency: 100 },
      check: () => {
        clock.advance(latency);
        throw new Error('503');
      },
    });
    const sizer = createInFlightSizer({ clock });
    await assert.rejects(sizer.timed(vendor).checkStatus([op]), /503/);
    assert.equal(sizer.limit(vendor), 60);
    latency = 10;
    for (let i = 0; i < 40; i += 1) await sizer.timed(vendor).checkStatus([op]).catch(() => {});
    assert.equal(sizer.limit(vendor), 2);
  });

  it('a vendor with a fixed concurrency is never resized', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z');
    const vendor = fakeVendor('mixpanel', { policy: { requestsPerSecond: 1, concurrency: 1 }, check: () => void clock.advance(3000) });
    const sizer = createInFlightSizer({ clock });
    await sizer.timed(vendor).checkStatus([op]);
    assert.equal(sizer.limit(vendor), 1);
  });
});
