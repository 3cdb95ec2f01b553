import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { DeletionState } from '../domain/states.js';

/** Event kinds a cancel attempt writes: done, refused by the rules or the vendor, or a fault. */
export const CANCEL_EVENT_KINDS = ['cancelled', 'cancel_refused', 'cancel_failed'] as const;
export type CancelEventKind = (typeof CANCEL_EVENT_KINDS)[number];

/** The outcome of one cancel attempt on one leased deletion. */
export interface CancelResult {
  deletionId: string;
  kind: CancelEventKind;
  /** The state the attempt was made in; a `cancelled` result is only written if the row is still in it. */
  fromState: DeletionState;
  detail: Record<string, unknown>;
}

// One statement: the state change, the lease release and the evidence commit together. Only rows this
// process still leases are written. A refused or failed attempt leaves state and next check as they were:
// the deletion goes on.
const SQL = `
with input as (
  select *
    from unnest($3::bigint[], $4::text[], $5::text[], $6::jsonb[]) with ordinality
      as t(id, kind, from_state, detail, n)
),
updated as (
  update vendor_deletion d
     set state = case when i.kind = 'cancelled' then 'cancelled' else d.state end,
         next_check_at = case when i.kind = 'cancelled' then null else d.next_check_at end,
         lease_owner = null,
         lease_expires_at = null,
         updated_at = $1::timestamptz
    from input i
   where d.id = i.id
     and d.lease_owner = $2::text
     and (i.kind <> 'cancelled' or d.state = i.from_state)
  returning d.id, d.request_id, d.customer_id, d.vendor
),
events as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select u.request_id, u.id, u.customer_id, u.vendor, i.kind, i.detail, $1::timestamptz
    from input i
    join updated u on u.id = i.id
   order by i.n
)
select u.id::text as id from updated u`;

/** Writes cancel outcomes for leased deletions with one event each; returns the ids written. */
export async function recordCancellations(
  db: Queryable,
  args: { now: Date; owner: string; results: CancelResult[] },
): Promise<Set<string>> {
  if (args.results.length === 0) return new Set();
  const r = args.results;
  try {
    const result = await db.query<{ id: string }>(SQL, [
      args.now,
      args.owner,
      r.map((x) => x.deletionId),
      r.map((x) => x.kind),
      r.map((x) => x.fromState),
      r.map((x) => JSON.stringify(x.detail)),
    ]);
    return new Set(result.rows.map((row) => row.id));
  } catch (err) {
    throw mapDatabaseError(err, 'recording cancel outcomes');
  }
}
