import type { Clock } from '../../clock.js';
import { inFlightFor, nextLatency } from '../../domain/inFlight.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';

/**
 * Calls in flight per vendor, from its rate and the latency this poller instance measured (domain/inFlight.ts).
 * The measurements live as long as the instance, like the pacers: a warm instance starts its next cycle at the
 * size the last one reached. Only the vendor's own calls are timed, not the wait for a paced slot.
 */
export interface InFlightSizer {
  /** Calls in flight allowed for `vendor` now. */
  limit(vendor: DeletionVendor): number;
  /** The vendor's calls, timed: each call's duration updates the measured latency. */
  timed(vendor: DeletionVendor): DeletionVendor;
  latencyMs(vendor: string): number | undefined;
}

export function createInFlightSizer(deps: { clock: Clock; onChange?: (vendor: string, limit: number) => void }): InFlightSizer {
  const latency = new Map<string, number>();
  const wrapped = new Map<DeletionVendor, DeletionVendor>();

  async function time<T>(vendor: DeletionVendor, call: () => Promise<T>): Promise<T> {
    const t0 = deps.clock.now().getTime();
    try {
      return await call();
    } finally {
      const before = inFlightFor(vendor.policy, latency.get(vendor.name));
      latency.set(vendor.name, nextLatency(latency.get(vendor.name), deps.clock.now().getTime() - t0));
      const after = inFlightFor(vendor.policy, latency.get(vendor.name));
      if (after !== before) deps.onChange?.(vendor.name, after);
    }
  }

  return {
    limit: (vendor) => inFlightFor(vendor.policy, latency.get(vendor.name)),
    latencyMs: (name) => latency.get(name),
    timed(vendor) {
      let w = wrapped.get(vendor);
      if (!w) {
        w = Object.assign(Object.create(vendor) as DeletionVendor, {
          submit: (subjects: Parameters<DeletionVendor['submit']>[0]) => time(vendor, () => vendor.submit(subjects)),
          checkStatus: (ops: Parameters<DeletionVendor['checkStatus']>[0], round?: Parameters<DeletionVendor['checkStatus']>[1]) =>
            time(vendor, () => vendor.checkStatus(ops, round)),
        });
        wrapped.set(vendor, w);
      }
      return w;
    },
  };
}
