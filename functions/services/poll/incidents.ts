import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { closeVendorIncidents } from '../../store/closeVendorIncidents.js';
import { openVendorIncident, type VendorIncidentKind } from '../../store/openVendorIncident.js';
import { readOpenVendorIncidents } from '../../store/readOpenVendorIncidents.js';

/** A cycle's view of vendor-wide incidents (contract violation, credential rejected). */
export interface Incidents {
  /** Opens (or sees again) an incident of `vendor`. */
  open(vendor: string, kind: VendorIncidentKind, detail: string): Promise<void>;
  /** The vendor answered in its contract: its incidents are over. */
  answeredWell(vendor: string): Promise<void>;
  /** Whether any incident is open as far as this cycle knows (alerts are raised for it). */
  anyOpen(): boolean;
}

/** Reads the open incidents once per cycle, then keeps them up to date as the cycle's calls answer. */
export async function loadIncidents(deps: { pool: pg.Pool; log: Logger; clock: Clock }): Promise<Incidents> {
  const { pool, log, clock } = deps;
  const open = new Map<string, Set<string>>();
  const add = (vendor: string, kind: string) => {
    const kinds = open.get(vendor) ?? new Set<string>();
    kinds.add(kind);
    open.set(vendor, kinds);
  };
  for (const i of await readOpenVendorIncidents(pool)) add(i.vendor, i.kind);
  return {
    async open(vendor, kind, detail) {
      await openVendorIncident(pool, { vendor, kind, detail, now: clock.now() });
      add(vendor, kind);
    },
    async answeredWell(vendor) {
      const kinds = open.get(vendor);
      if (!kinds || kinds.size === 0) return;
      const list = [...kinds];
      kinds.clear();
      const closed = await closeVendorIncidents(pool, { vendor, kinds: list, now: clock.now() });
      if (closed.length) log.info({ event: 'vendor_incident_closed', vendor, kinds: closed }, 'vendor answers well again');
    },
    anyOpen: () => [...open.values()].some((kinds) => kinds.size > 0),
  };
}
