import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/**
 * Vendor-wide incident kinds: the vendor as a whole misbehaves (its answers break the contract, it refuses our
 * credential), or its monthly subject quota runs low or out: something about the vendor, not one operation.
 */
export const VENDOR_INCIDENT_KINDS = ['contract_violation', 'credential_rejected', 'quota_low', 'quota_exhausted', 'mass_refusal'] as const;
export type VendorIncidentKind = (typeof VENDOR_INCIDENT_KINDS)[number];

// A closed incident that happens again is a new incident: new start, escalation from 0.
const SQL = `
insert into vendor_incident as i (vendor, kind, opened_at, last_seen_at, detail, hold_key)
values ($1::text, $2::text, $3::timestamptz, $3::timestamptz, $4::text, $5::text)
on conflict (vendor, kind) do update
   set opened_at = case when i.closed_at is null then i.opened_at else excluded.opened_at end,
       raised_at = case when i.closed_at is null then i.raised_at else null end,
       escalation = case when i.closed_at is null then i.escalation else 0 end,
       closed_at = null,
       last_seen_at = excluded.last_seen_at,
       detail = excluded.detail,
       hold_key = excluded.hold_key`;

/**
 * Opens (or keeps open) a vendor incident, recording what was last seen; `holdKey`: the vendor configuration a
 * mass-refusal hold was made under (a deployment with another releases it).
 */
export async function openVendorIncident(
  db: Queryable,
  args: { vendor: string; kind: VendorIncidentKind; detail: string; now: Date; holdKey?: string },
): Promise<void> {
  try {
    await db.query(SQL, [args.vendor, args.kind, args.now, args.detail.slice(0, 2000), args.holdKey ?? null]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording a vendor incident');
  }
}
