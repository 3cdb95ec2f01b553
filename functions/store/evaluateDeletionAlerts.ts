import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** Per-vendor lateness limits, as the poller's adapters define them. */
export interface AlertPolicy {
  vendor: string;
  expectedDurationMs: number;
  noProgressMs: number;
}

/** A vendor's forecast duration when it gives no date of its own (domain/slackForecast.ts expectedDuration). */
export interface VendorForecast {
  vendor: string;
  durationMs: number;
  /** Where the figure comes from, named in the deadline_at_risk alert. */
  source: string;
}

// The alert conditions of every unfinished deletion (domain/staleness.ts, domain/deadline.ts and
// domain/slackForecast.ts state the same rules for one row). Stale wins over no_progress; a deadline missed
// replaces its warning and its risk. A deletion is at risk when its expected completion (the vendor's own
// date where it gave one, expected_source naming it, else the vendor's forecast duration after submission;
// never before now) falls after its deadline minus the margin. A completed deletion whose verification found
// data stays alerted until it is verified. In one statement: conditions that newly hold open (or reopen) an
// alert row, open rows whose condition still holds get its current detail, and open rows whose condition no
// longer holds are resolved; the three touch disjoint rows.
const SQL = `
with policy as (
  select * from unnest($2::text[], $3::bigint[], $4::bigint[], $6::bigint[], $7::text[])
         as p(vendor, expected_ms, no_progress_ms, forecast_ms, forecast_source)
),
open_rows as (
  select d.id, d.state, r.deadline_at, d.updated_at,
         coalesce(d.expected_by,
                  coalesce(d.submitted_at, d.queued_at) + p.expected_ms * interval '1 millisecond') as expected_at,
         coalesce(d.status_changed_at, d.submitted_at, d.queued_at)
           + p.no_progress_ms * interval '1 millisecond' as no_progress_at,
         case when d.expected_source is not null and d.expected_by is not null then d.expected_by
              else coalesce(d.submitted_at, d.queued_at) + p.forecast_ms * interval '1 millisecond' end as forecast_at,
         case when d.expected_source is not null and d.expected_by is not null
              then d.vendor || '''s own date (' || d.expected_source || ')'
              else p.forecast_source end as forecast_source
    from vendor_deletion d
    join deletion_request r on r.id = d.request_id
    left join policy p on p.vendor = d.vendor
   where d.state not in ('completed', 'cancelled')
),
conditions as (
  select id, 'stale'::text as kind, expected_at as since, null::text as detail
    from open_rows
   where state in ('queued', 'submitted', 'in_progress') and expected_at <= $1::timestamptz
  union all
  select id, 'no_progress', no_progress_at, null
    from open_rows
   where state in ('queued', 'submitted', 'in_progress') and expected_at > $1::timestamptz
     and no_progress_at <= $1::timestamptz
  union all
  select id, 'failed', updated_at, null
    from open_rows
   where state in ('failed', 'error')
  union all
  select id, 'deadline_warning', deadline_at - $5::bigint * interval '1 millisecond', null
    from open_rows
   where deadline_at > $1::timestamptz and deadline_at - $5::bigint * interval '1 millisecond' <= $1::timestamptz
  union all
  select id, 'deadline_missed', deadline_at, null
    from open_rows
   where deadline_at <= $1::timestamptz
  union all
  -- The detail depends on the forecast and the deadline only (not on now), so a scan rewrites it only when
  -- either moved.
  select id, 'deadline_at_risk', $1::timestamptz,
         'expected ' || to_char(forecast_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
           || ' from ' || forecast_source
           || '; deadline ' || to_char(deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
           || '; slack ' || to_char(extract(epoch from deadline_at - forecast_at) / 86400, 'FM999990.0') || ' days'
           || case when forecast_at < $1::timestamptz then ' (that date passed without completion)' else '' end
    from open_rows
   where state in ('queued', 'submitted', 'in_progress') and deadline_at > $1::timestamptz
     and forecast_at is not null
     and greatest(forecast_at, $1::timestamptz) > deadline_at - $8::bigint * interval '1 millisecond'
  union all
  select d.id, 'verification_failed', d.verification_failed_at,
         left(coalesce(d.verification_evidence->>'summary', 'the lookup found data'), 500)
    from vendor_deletion d
   where d.verification_failed_at is not null and d.verified_at is null
),
opened as (
  insert into deletion_alert as a (vendor_deletion_id, kind, since, opened_at, detail)
  select c.id, c.kind, c.since, $1::timestamptz, c.detail
    from conditions c
   where not exists (select 1 from deletion_alert o
                      where o.vendor_deletion_id = c.id and o.kind = c.kind and o.resolved_at is null)
  on conflict (vendor_deletion_id, kind) do update
     set since = excluded.since, opened_at = excluded.opened_at, raised_at = null, escalation = 0, resolved_at = null,
         detail = excluded.detail
   where a.resolved_at is not null
  returning 1
),
refreshed as (
  update deletion_alert a
     set detail = c.detail
    from conditions c
   where a.resolved_at is null and c.id = a.vendor_deletion_id and c.kind = a.kind
     and a.detail is distinct from c.detail
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
  args: { now: Date; policies: AlertPolicy[]; deadlineWarningMs: number; forecasts?: VendorForecast[]; riskMarginMs?: number },
): Promise<{ opened: number; resolved: number }> {
  const forecast = new Map((args.forecasts ?? []).map((f) => [f.vendor, f]));
  try {
    const result = await db.query<{ opened: number; resolved: number }>(SQL, [
      args.now,
      args.policies.map((p) => p.vendor),
      args.policies.map((p) => Math.round(p.expectedDurationMs)),
      args.policies.map((p) => Math.round(p.noProgressMs)),
      Math.round(args.deadlineWarningMs),
      args.policies.map((p) => { const f = forecast.get(p.vendor); return f ? Math.round(f.durationMs) : null; }),
      args.policies.map((p) => forecast.get(p.vendor)?.source ?? null),
      Math.round(args.riskMarginMs ?? 0),
    ]);
    return result.rows[0] ?? { opened: 0, resolved: 0 };
  } catch (err) {
    throw mapDatabaseError(err, 'evaluating alert conditions');
  }
}
