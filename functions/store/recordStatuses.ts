import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { StatusEvent, StatusUpdate } from '../domain/deletion.js';

// One statement: the updates and their evidence commit together. Only rows this poller still leases
// are written (a poller whose lease expired and was taken over writes nothing), and only their events.
const SQL = `
with input as (
  select *
    from unnest($3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[],
                $9::timestamptz[], $10::timestamptz[], $11::boolean[], $12::boolean[], $13::text[], $14::text[],
                $15::boolean[], $19::jsonb[], $20::text[], $21::timestamptz[], $22::jsonb[])
      as t(id, state, raw_status, payload, next_check_at, completed_at, verified_at, expected_by, checked,
           status_changed, last_error, last_error_kind, resubmit, operation_ref, expected_source,
           verification_failed_at, verification_evidence)
),
updated as (
  update vendor_deletion d
     set state = coalesce(i.state, d.state),
         raw_status = coalesce(i.raw_status, d.raw_status),
         status_payload = coalesce(i.payload, d.status_payload),
         next_check_at = i.next_check_at,
         completed_at = coalesce(i.completed_at, d.completed_at),
         verified_at = coalesce(i.verified_at, d.verified_at),
         expected_by = coalesce(i.expected_by, d.expected_by),
         -- A new date without a vendor source is our own estimate: it clears the vendor's.
         expected_source = case when i.expected_by is not null then i.expected_source else d.expected_source end,
         expected_changed_at = case when i.expected_source is not null and i.expected_by is distinct from d.expected_by
                                    then $1::timestamptz else d.expected_changed_at end,
         verification_failed_at = coalesce(i.verification_failed_at, d.verification_failed_at),
         verification_evidence = coalesce(i.verification_evidence, d.verification_evidence),
         check_count = d.check_count + case when i.checked then 1 else 0 end,
         last_checked_at = case when i.checked then $1::timestamptz else d.last_checked_at end,
         status_changed_at = case when i.status_changed then $1::timestamptz else d.status_changed_at end,
         last_error = i.last_error,
         last_error_kind = i.last_error_kind,
         idempotency_key = case when i.resubmit then gen_random_uuid() else d.idempotency_key end,
         operation_ref = coalesce(i.operation_ref, d.operation_ref),
         lease_owner = null,
         lease_expires_at = null,
         updated_at = $1::timestamptz
    from input i
   where d.id = i.id
     and d.lease_owner = $2::text
  returning d.id, d.request_id, d.customer_id, d.vendor
),
events as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select u.request_id, u.id, u.customer_id, u.vendor, e.kind, e.detail, $1::timestamptz
    from unnest($16::bigint[], $17::text[], $18::jsonb[]) with ordinality as e(id, kind, detail, n)
    join updated u on u.id = e.id
   order by e.n
  returning 1
)
select u.id::text as id, (select count(*) from events)::int as events
  from updated u`;

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * Writes a batch of status results and their events in one statement. Returns the ids written; a
 * claimed id missing from it had lost its lease to another poller.
 */
export async function recordStatuses(
  db: Queryable,
  args: { now: Date; owner: string; updates: StatusUpdate[]; events: StatusEvent[] },
): Promise<{ written: Set<string>; events: number }> {
  if (args.updates.length === 0) return { written: new Set(), events: 0 };
  const u = args.updates;
  try {
    const result = await db.query<{ id: string; events: number }>(SQL, [
      args.now,
      args.owner,
      u.map((x) => x.deletionId),
      u.map((x) => x.state),
      u.map((x) => x.rawStatus),
      u.map((x) => json(x.payload)),
      u.map((x) => x.nextCheckAt),
      u.map((x) => x.completedAt),
      u.map((x) => x.verifiedAt),
      u.map((x) => x.expectedBy),
      u.map((x) => x.checked),
      u.map((x) => x.statusChanged),
      u.map((x) => x.lastError),
      u.map((x) => x.lastErrorKind),
      u.map((x) => x.resubmit),
      args.events.map((e) => e.deletionId),
      args.events.map((e) => e.kind),
      args.events.map((e) => JSON.stringify(e.detail)),
      u.map((x) => json(x.operationRef)),
      u.map((x) => x.expectedSource),
      u.map((x) => x.verificationFailedAt),
      u.map((x) => json(x.verificationEvidence)),
    ]);
    return { written: new Set(result.rows.map((r) => r.id)), events: result.rows[0]?.events ?? 0 };
  } catch (err) {
    throw mapDatabaseError(err, 'recording status results');
  }
}
