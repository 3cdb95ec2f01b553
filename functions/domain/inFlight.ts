import type { VendorPolicy } from './policy.js';

/**
 * Calls in flight per vendor, sized from its rate limit and the latency the poller measures.
 *
 * Little's law: to keep `rate` calls a second going when each takes `latency` seconds, `rate × latency` must be
 * in flight; half as much again leaves room for our own work per call (HTTP client, zod, batching) so the
 * vendor, not our side, is the bottleneck. The pacer, not this number, enforces the vendor's rate, so the
 * allowance cannot overrun it. The result stays between the policy's `concurrency` (what it starts at, and
 * the least it ever uses) and its `maxConcurrency` (a vendor with a documented limit on parallel calls keeps
 * its `concurrency`: there the two are equal).
 */
export const IN_FLIGHT_HEADROOM = 1.5;

/** Weight of the newest sample in the moving average of a vendor's call latency. */
export const LATENCY_WEIGHT = 0.2;

export function inFlightFor(policy: Pick<VendorPolicy, 'requestsPerSecond' | 'concurrency' | 'maxConcurrency'>, latencyMs: number | undefined): number {
  const ceiling = Math.max(1, Math.floor(policy.maxConcurrency ?? policy.concurrency));
  const floor = Math.min(ceiling, Math.max(1, Math.floor(policy.concurrency)));
  if (latencyMs === undefined || !Number.isFinite(latencyMs) || latencyMs <= 0) return floor;
  const wanted = Math.ceil((IN_FLIGHT_HEADROOM * policy.requestsPerSecond * latencyMs) / 1000);
  return Math.min(ceiling, Math.max(floor, wanted));
}

/** The moving average of a vendor's call latency after one more call (the first call sets it). */
export function nextLatency(previousMs: number | undefined, sampleMs: number): number {
  if (!Number.isFinite(sampleMs) || sampleMs < 0) return previousMs ?? 0;
  if (previousMs === undefined) return sampleMs;
  return previousMs + LATENCY_WEIGHT * (sampleMs - previousMs);
}
