import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { VENDOR_INCIDENT_KINDS, type VendorIncidentKind } from './openVendorIncident.js';

const Row = z.object({
  vendor: z.string(),
  kind: z.enum(VENDOR_INCIDENT_KINDS),
  opened_at: z.date(),
  last_seen_at: z.date(),
  detail: z.string(),
  raised_at: z.date().nullable(),
  escalation: z.coerce.number().int(),
  hold_key: z.string().nullable(),
});
/** An open vendor-wide incident. */
export interface OpenVendorIncident {
  vendor: string;
  kind: VendorIncidentKind;
  openedAt: Date;
  lastSeenAt: Date;
  detail: string;
  raisedAt: Date | null;
  escalation: number;
  /** A mass-refusal hold's configuration key (services/vendorHolds.ts); null for other kinds. */
  holdKey: string | null;
}

const SQL = `
select vendor, kind, opened_at, last_seen_at, detail, raised_at, escalation, hold_key
  from vendor_incident
 where closed_at is null
 order by vendor, kind`;

/** Every open vendor incident (a handful of rows at most: one per vendor and kind). */
export async function readOpenVendorIncidents(db: Queryable): Promise<OpenVendorIncident[]> {
  try {
    const result = await db.query(SQL);
    return result.rows.map((r) => {
      const row = Row.parse(r);
      return {
        vendor: row.vendor,
        kind: row.kind,
        openedAt: row.opened_at,
        lastSeenAt: row.last_seen_at,
        detail: row.detail,
        raisedAt: row.raised_at,
        escalation: row.escalation,
        holdKey: row.hold_key,
      };
    });
  } catch (err) {
    throw mapDatabaseError(err, 'reading vendor incidents');
  }
}
