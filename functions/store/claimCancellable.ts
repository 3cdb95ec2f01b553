import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { ClaimedDeletion } from '../domain/deletion.js';
import { CLAIM_RETURNING, toClaimed } from './toClaimed.js';

/** Deletions of one regranted request: those leased for cancelling, and those another process holds. */
export interface CancellableClaim {
  claimed: ClaimedDeletion[];
  /** Deletions that have not finished but are leased (or locked) elsewhere right now. */
  busy: string[];
}

// The request is the one the regrant was recorded on: the customer's latest revoked at or before the regrant,
// and marked with exactly this regrant's time (a redelivery finds the same one; a later regrant of another
// request does not). A deletion that already has a cancel outcome is left alone, so a redelivered regrant
// changes nothing; a fault (`cancel_failed`) leaves it eligible for the next delivery. Rows another process
// leases are counted as busy rather than touched.
const SQL = `
with target as (
  select id, regranted_at
    from deletion_request
   where customer_id = $1::text
     and revoked_at <= $2::timestamptz
   order by revoked_at desc
   limit 1
),
eligible as (
  select d.id,
         (d.lease_expires_at is null or d.lease_expires_at <= $3::timestamptz) as free
    from vendor_deletion d
    join target t on t.id = d.request_id
   where t.regranted_at = $2::timestamptz
     and d.state in ('queued', 'submitted', 'in_progress')
     and not exists (
           select 1
             from deletion_event e
            where e.vendor_deletion_id = d.id
              and e.kind in ('cancelled', 'cancel_refused'))
),
locked as (
  select d.id
    from vendor_deletion d
    join eligible e on e.id = d.id
   where e.free
     for update of d skip locked
),
claimed as (
  update vendor_deletion d
     set lease_owner = $4::text,
         lease_expires_at = $3::timestamptz + $5::bigint * interval '1 millisecond',
         updated_at = $3::timestamptz
    from locked l
   where d.id = l.id
  returning ${CLAIM_RETURNING}
),
busy as (
  select coalesce(array_agg(e.id::text order by e.id) filter (where not exists (select 1 from claimed c where c.id = e.id)),
                  '{}'::text[]) as ids
    from eligible e
)
select c.*, b.ids as busy_ids
  from busy b
  left join claimed c on true`;

const BusyRow = z.object({ busy_ids: z.array(z.string()) });

/**
 * Leases, for `owner` until now + leaseMs, the unfinished deletions of the request this regrant marked that
 * have no cancel outcome yet; reports those held by another process as busy.
 */
export async function claimCancellable(
  db: Queryable,
  args: { customerId: string; regrantedAt: string; now: Date; owner: string; leaseMs: number },
): Promise<CancellableClaim> {
  let rows: Array<Record<string, unknown>>;
  try {
    const result = await db.query(SQL, [args.customerId, args.regrantedAt, args.now, args.owner, args.leaseMs]);
    rows = result.rows as Array<Record<string, unknown>>;
  } catch (err) {
    throw mapDatabaseError(err, 'claiming deletions to cancel');
  }
  const busy = rows.length > 0 ? BusyRow.parse(rows[0]).busy_ids : [];
  return { claimed: toClaimed(rows.filter((r) => r['id'] !== null && r['id'] !== undefined)), busy };
}
