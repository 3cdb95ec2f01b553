import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { closeVendorIncidents } from '../../store/closeVendorIncidents.js';
import { openVendorIncident, type IncidentDeletions, type VendorIncidentKind } from '../../store/openVendorIncident.js';
import { readOpenVendorIncidents } from '../../store/readOpenVendorIncidents.js';

/** The incidents a well-formed answer ends: the vendor answers in its contract and takes our credential. */
const ANSWER_KINDS: readonly VendorIncidentKind[] = ['contract_violation', 'credential_rejected'];

/** A cycle's view of vendor-wide incidents (contract violation, credential rejected, monthly quota low or spent). */
export interface Incidents {
  /**
   * Opens (or sees again) an incident of `vendor`; `deletions` are those whose call met it (listed in its email).
   * `keepThisCycle`: a good answer later in the same cycle does not end it, so its alert is raised (a contradicted
   * callback: the answers themselves are well-formed).
   */
  open(vendor: string, kind: VendorIncidentKind, detail: string, deletions?: IncidentDeletions, options?: { keepThisCycle?: boolean; holdKey?: string }): Promise<void>;
  /** The key of the vendor's open mass-refusal hold, if one is open (null: a hold made before keys existed). */
  holdKey(vendor: string): string | null | undefined;
  /** The vendor answered in its contract: its contract and credential incidents are over. */
  answeredWell(vendor: string): Promise<void>;
  /** Closes the vendor's open incidents of these kinds, if any is open. */
  close(vendor: string, kinds: readonly VendorIncidentKind[]): Promise<void>;
  /** The open kinds of `vendor`, as far as this cycle knows. */
  openKinds(vendor: string): VendorIncidentKind[];
  /** Whether any incident is open as far as this cycle knows (alerts are raised for it). */
  anyOpen(): boolean;
}

/** Reads the open incidents once per cycle, then keeps them up to date as the cycle's calls answer. */
export async function loadIncidents(deps: { pool: pg.Pool; log: Logger; clock: Clock }): Promise<Incidents> {
  const { pool, log, clock } = deps;
  const open = new Map<string, Set<VendorIncidentKind>>();
  const kept = new Set<string>();
  const add = (vendor: string, kind: VendorIncidentKind) => {
    const kinds = open.get(vendor) ?? new Set<VendorIncidentKind>();
    kinds.add(kind);
    open.set(vendor, kinds);
  };
  const holds = new Map<string, string | null>();
  for (const i of await readOpenVendorIncidents(pool)) {
    add(i.vendor, i.kind);
    if (i.kind === 'mass_refusal') holds.set(i.vendor, i.holdKey);
  }
  async function close(vendor: string, kinds: readonly VendorIncidentKind[], why: string): Promise<void> {
    const mine = open.get(vendor);
    const list = kinds.filter((k) => mine?.has(k) && !kept.has(`${vendor}/${k}`));
    if (list.length === 0) return;
    for (const k of list) mine!.delete(k);
    if (list.includes('mass_refusal')) holds.delete(vendor);
    const closed = await closeVendorIncidents(pool, { vendor, kinds: list, now: clock.now() });
    if (closed.length) log.info({ event: 'vendor_incident_closed', vendor, kinds: closed }, why);
  }
  return {
    async open(vendor, kind, detail, deletions, options) {
      await openVendorIncident(pool, { vendor, kind, detail, now: clock.now(), ...(deletions ? { deletions } : {}), ...(options?.holdKey !== undefined ? { holdKey: options.holdKey } : {}) });
      add(vendor, kind);
      if (options?.keepThisCycle) kept.add(`${vendor}/${kind}`);
      if (kind === 'mass_refusal') holds.set(vendor, options?.holdKey ?? null);
    },
    holdKey: (vendor) => holds.get(vendor),
    answeredWell: (vendor) => close(vendor, ANSWER_KINDS, 'vendor answers well again'),
    close: (vendor, kinds) => close(vendor, kinds, 'vendor incident over'),
    openKinds: (vendor) => [...(open.get(vendor) ?? [])],
    anyOpen: () => [...open.values()].some((kinds) => kinds.size > 0),
  };
}
