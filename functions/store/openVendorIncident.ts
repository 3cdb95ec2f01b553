import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { capText } from '../text.js';

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
       hold_key = excluded.hold_key
returning vendor, kind, opened_at`;

// The deletions whose calls met the incident, kept per incident (a reopened incident starts an empty list).
const WITH_DELETIONS = `
with opened as (${SQL})
insert into vendor_incident_deletion as v (vendor, kind, opened_at, vendor_deletion_id, call, seen_at)
select o.vendor, o.kind, o.opened_at, d.id, $6::text, $3::timestamptz
  from opened o, unnest($7::bigint[]) as d(id)
on conflict (vendor, kind, opened_at, vendor_deletion_id) do update
   set call = excluded.call, seen_at = excluded.seen_at`;

/** The deletions whose call met an incident: a status check of their operations, or the create call that submitted them. */
export interface IncidentDeletions {
  call: 'check' | 'submit';
  deletionIds: string[];
}

/**
 * Opens (or keeps open) a vendor incident, recording what was last seen and the deletions whose calls met it;
 * `holdKey`: the vendor configuration a mass-refusal hold was made under (a deployment with another releases it).
 */
export async function openVendorIncident(
  db: Queryable,
  args: { vendor: string; kind: VendorIncidentKind; detail: string; now: Date; deletions?: IncidentDeletions; holdKey?: string },
): Promise<void> {
  const detail = capText(args.detail, 2000);
  const ids = [...new Set(args.deletions?.deletionIds ?? [])];
  try {
    const hold = args.holdKey ?? null;
    if (ids.length === 0) await db.query(SQL, [args.vendor, args.kind, args.now, detail, hold]);
    else await db.query(WITH_DELETIONS, [args.vendor, args.kind, args.now, detail, hold, args.deletions!.call, ids]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording a vendor incident');
  }
}
