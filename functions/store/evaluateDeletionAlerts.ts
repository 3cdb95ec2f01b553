import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** Per-vendor lateness limits, as the poller's adapters define them. */
export interface AlertPolicy {
  vendor: string;
  expectedDurationMs: number;
  noProgressMs: number;
}

// The alert conditions of every unfinished deletion (domain/staleness.ts and domain/deadline.ts state
// the same rules for one row). Stale wins over no_progress; a deadline missed replaces its warning.
// In one statement: conditions that newly hold open (or reopen) an alert row, and open alert rows
// whose condition no longer holds are resolved; the two touch disjoint rows.
const SQL = `
with policy as (
  select * from unnest($2::text[], $3::bigint[], $4::bigint[]) as p(vendor, expected_ms, no_progress_ms)
),
open_rows as (
  select d.id, d.state, r.deadline_at, d.updated_at,
         coalesce(d.expected_by,
                  coalesce(d.submitted_at, d.queued_at) + p.expected_ms * interval '1 millisecond') as expected_at,
         coalesce(d.status_changed_at, d.submitted_at, d.queued_at)
           + p.no_progress_ms * interval '1 millisecond' as no_progress_at
    from vendor_deletion d
    join deletion_request r on r.id = d.request_id
    left join policy p on p.vendor = d.vendor
   where d.state not in ('completed', 'cancelled')
),
conditions as (
  select id, 'stale'::text as kind, expected_at as since
    from open_rows
   where state in ('queued', 'submitted', 'in_progress') and expected_at <= $1::timestamptz
  union all
  select id, 'no_progress', no_progress_at
    from open_rows
   where state in ('queued', 'submitted', 'in_progress') and expected_at > $1::timestamptz
     and no_progress_at <= $1::timestamptz
  union all
  select id, 'failed', updated_at
    from open_rows
   where state in ('failed', 'error')
  union all
  select id, 'deadline_warning', deadline_at - $5::bigint * interval '1 millisecond'
    from open_rows
   where deadline_at > $1::timestamptz and deadline_at - $5::bigint * interval '1 millisecond' <= $1::timestamptz
  union all
  select id, 'deadline_missed', deadline_at
    from open_rows
   where deadline_at <= $1::timestamptz
),
opened as (
  insert into deletion_alert as a (vendor_deletion_id, kind, since, opened_at)
  select c.id, c.kind, c.since, $1::timestamptz
    from conditions c
   where not exists (select 1 from deletion_alert o
                      where o.vendor_deletion_id = c.id and o.kind = c.kind and o.resolved_at is null)
  on conflict (vendor_deletion_id, kind) do update
     set since = excluded.since, opened_at = excluded.opened_at, raised_at = null, escalation = 0, resolved_at = null
   where a.resolved_at is not null
  returning 1
),
resolved as (
  update deletion_alert a
     set resolved_at = $1::timestamptz
   where a.resolved_at is null
     and not exists (select 1 from conditions c where c.id = a.vendor_deletion_id and c.kind = a.kind)
  returning 1
)
select (select count(*) from opened)::int as opened, (select count(*) from resolved)::int as resolved`;

/** Opens alert rows for conditions that began and resolves those that ended. */
export async function evaluateDeletionAlerts(
  db: Queryable,
  args: { now: Date; policies: AlertPolicy[]; deadlineWarningMs: number },
): Promise<{ opened: number; resolved: number }> {
  try {
    const result = await db.query<{ opened: number; resolved: number }>(SQL, [
      args.now,
      args.policies.map((p) => p.vendor),
      args.policies.map((p) => Math.round(p.expectedDurationMs)),
      args.policies.map((p) => Math.round(p.noProgressMs)),
      Math.round(args.deadlineWarningMs),
    ]);
    return result.rows[0] ?? { opened: 0, resolved: 0 };
  } catch (err) {
    throw mapDatabaseError(err, 'evaluating alert conditions');
  }
}
