import type { Clock } from '../clock.js';

/** A map whose entries expire at a time of their own and whose size is bounded (least recently used goes first). */
export interface TtlCache<V> {
  get(key: string): { value: V; storedAt: Date; expiresAt: Date } | undefined;
  set(key: string, value: V, expiresAt: Date): void;
  delete(key: string): void;
  readonly size: number;
}

/** Time comes from the injected clock, so expiry is tested by moving the clock. */
export function createTtlCache<V>(options: { clock: Clock; maxEntries: number }): TtlCache<V> {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const entries = new Map<string, { value: V; storedAt: Date; expiresAt: Date }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt.getTime() <= options.clock.now().getTime()) {
        entries.delete(key);
        return undefined;
      }
      // Re-insert so Map order is recency order.
      entries.delete(key);
      entries.set(key, entry);
      return entry;
    },
    set(key, value, expiresAt) {
      entries.delete(key);
      entries.set(key, { value, storedAt: options.clock.now(), expiresAt });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
      }
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
