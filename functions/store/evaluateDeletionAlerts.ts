import { createHash } from 'node:crypto';
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

// The alert conditions of the deletions whose time has come (domain/staleness.ts, domain/deadline.ts and
// domain/slackForecast.ts state the same rules for one row). Stale wins over no_progress; a deadline missed
// replaces its warning and its risk. A deletion is at risk when its expected completion (the vendor's own
// date where it gave one, expected_source naming it, else the vendor's forecast duration after submission;
// never before now) falls after its deadline minus the margin. A completed deletion whose verification found
// data stays alerted until it is verified.
// Only candidates are read: deletions whose alert_check_at has passed (a write changed what the conditions
// read, or a threshold was reached; sql/000021_alert_scan_incremental.sql) and those with an open alert (to
// refresh or resolve it). In one statement: conditions that newly hold open (or reopen) an alert row, open rows
// whose condition still holds get its current detail, open rows whose condition no longer holds are resolved,
// and each candidate gets its next threshold, unless a concurrent write changed it meanwhile (its trigger asked
// for another look) or holds its lock (skipped: it stays due for the next scan, so the scan never waits).
const SQL = `
with policy as (
  select * from unnest($2::text[], $3::bigint[], $4::bigint[], $6::bigint[], $7::text[])
         as p(vendor, expected_ms, no_progress_ms, forecast_ms, forecast_source)
),
due_rows as (
  select id from vendor_deletion where alert_check_at <= $1::timestamptz order by alert_check_at limit $9::int
),
candidates as (
  select id from due_rows
  union
  select vendor_deletion_id from deletion_alert where resolved_at is null
),
seen as (
  -- Each candidate with what its conditions compare, computed once through the primary keys. Later steps read
  -- this CTE alone and never join two CTEs to each other: the planner cannot size such a join and, at a large
  -- first scan, chose to read the whole table for it.
  select d.id, d.state, d.status_changed_at, d.expected_by, d.expected_source, d.verified_at,
         d.verification_failed_at, d.verification_evidence, d.updated_at, d.alert_check_at,
         d.state not in ('completed', 'cancelled') as unfinished,
         r.deadline_at,
         r.deadline_at - $5::bigint * interval '1 millisecond' as warning_at,
         r.deadline_at - $8::bigint * interval '1 millisecond' as risk_from,
         coalesce(d.expected_by,
                  coalesce(d.submitted_at, d.queued_at) + p.expected_ms * interval '1 millisecond') as expected_at,
         coalesce(d.status_changed_at, d.submitted_at, d.queued_at)
           + p.no_progress_ms * interval '1 millisecond' as no_progress_at,
         case when d.expected_source is not null and d.expected_by is not null then d.expected_by
              else coalesce(d.submitted_at, d.queued_at) + p.forecast_ms * interval '1 millisecond' end as forecast_at,
         case when d.expected_source is not null and d.expected_by is not null
              then d.vendor || '''s own date (' || d.expected_source || ')'
              else p.forecast_source end as forecast_source
    from candidates c
    join vendor_deletion d on d.id = c.id
    join deletion_request r on r.id = d.request_id
    left join policy p on p.vendor = d.vendor
),
open_rows as (
  select id, state, deadline_at, warning_at, risk_from, updated_at, expected_at, no_progress_at, forecast_at, forecast_source
    from seen
   where unfinished
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
  select id, 'deadline_warning', warning_at, null
    from open_rows
   where deadline_at > $1::timestamptz and warning_at <= $1::timestamptz
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
     and greatest(forecast_at, $1::timestamptz) > risk_from
  union all
  select d.id, 'verification_failed', d.verification_failed_at,
         left(coalesce(d.verification_evidence->>'summary', 'the lookup found data'), 500)
    from seen d
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
),
next_look as (
  -- The next moment a condition of the row can begin or end: each threshold still ahead, the same columns of
  -- seen that the conditions above compare with now (a finished row has none; an open alert keeps it a
  -- candidate anyway).
  select s.id, s.state, s.status_changed_at, s.expected_by, s.expected_source, s.verified_at, s.verification_failed_at,
         s.alert_check_at,
         case when s.unfinished then
           (select min(t) from (values (s.expected_at), (s.no_progress_at), (s.warning_at), (s.deadline_at),
                                       (s.risk_from), (s.forecast_at)) v(t)
             where t > $1::timestamptz) end as at
    from seen s
),
lockable as (
  -- The rows to reschedule, locked, with their next look: the update below joins them to the table alone.
  select n.* from next_look n join vendor_deletion d on d.id = n.id
   for update of d skip locked
),
rescheduled as (
  update vendor_deletion d
     set alert_check_at = n.at
    from lockable n
   where d.id = n.id
     and d.state = n.state
     and d.status_changed_at is not distinct from n.status_changed_at
     and d.expected_by is not distinct from n.expected_by
     and d.expected_source is not distinct from n.expected_source
     and d.verified_at is not distinct from n.verified_at
     and d.verification_failed_at is not distinct from n.verification_failed_at
     -- A deadline moved by a transaction that committed after this statement began re-marks the row's
     -- alert_check_at (deletion_request_alert_recheck); the update sees that (it re-reads a row changed
     -- meanwhile) and leaves the mark. A row that was already marked '-infinity' is rescheduled from the old
     -- deadline: an extension only moves thresholds later, so that look comes early, finds nothing, and
     -- reschedules from the new deadline.
     and d.alert_check_at is not distinct from n.alert_check_at
  returning 1
)
select (select count(*) from opened)::int as opened, (select count(*) from resolved)::int as resolved,
       (select count(*) from candidates)::int as candidates, (select count(*) from due_rows)::int as due,
       (select count(*) from rescheduled r)::int as rescheduled,
       (select count(*) from due_rows u left join lockable l on l.id = u.id where l.id is null)::int as skipped`;

// When the scan's policy changes (the vendors' durations and forecasts, the warning and risk margins), every
// unfinished deletion's stored threshold is stale: each is looked at again once (sql/000023: the function plans
// the marking update only when the policy changed).
const POLICY_SQL = 'select alert_scan_policy_apply($1::text, $2::timestamptz) as marked';

/**
 * Rows due for a look taken per statement: a statement holds the row locks of what it reschedules, so after the
 * migration or a policy change (every unfinished deletion due at once) the work goes in passes that commit one
 * by one instead of one statement locking them all.
 */
export const ALERT_SCAN_PASS_ROWS = 20_000;

/** Opens alert rows for conditions that began and resolves those that ended, reading only the candidates. */
export async function evaluateDeletionAlerts(
  db: Queryable,
  args: { now: Date; policies: AlertPolicy[]; deadlineWarningMs: number; forecasts?: VendorForecast[]; riskMarginMs?: number; passRows?: number; maxMs?: number },
): Promise<{ opened: number; resolved: number; candidates: number; passes: number }> {
  const forecast = new Map((args.forecasts ?? []).map((f) => [f.vendor, f]));
  const policies = [...args.policies].sort((a, b) => a.vendor.localeCompare(b.vendor));
  const vendors = policies.map((p) => p.vendor);
  const expected = policies.map((p) => Math.round(p.expectedDurationMs));
  const noProgress = policies.map((p) => Math.round(p.noProgressMs));
  const forecastMs = policies.map((p) => {
    const f = forecast.get(p.vendor);
    return f ? Math.round(f.durationMs) : null;
  });
  const forecastSource = policies.map((p) => forecast.get(p.vendor)?.source ?? null);
  const warning = Math.round(args.deadlineWarningMs);
  const margin = Math.round(args.riskMarginMs ?? 0);
  const passRows = args.passRows ?? ALERT_SCAN_PASS_ROWS;
  const hash = createHash('sha256')
    .update(JSON.stringify([vendors, expected, noProgress, forecastMs, forecastSource, warning, margin]))
    .digest('hex');
  const total = { opened: 0, resolved: 0, candidates: 0, passes: 0 };
  const started = performance.now();
  const maxMs = args.maxMs ?? 20_000;
  try {
    const changed = await db.query<{ marked: string }>(POLICY_SQL, [hash, args.now]);
    // Fresh statistics after marking many rows, so the passes join them in bulk rather than row by row.
    if (Number(changed.rows[0]?.marked ?? 0) > passRows) await db.query('select alert_scan_analyze()');
    for (;;) {
      const result = await db.query<{ opened: number; resolved: number; candidates: number; due: number; skipped: number }>(SQL, [
        args.now,
        vendors,
        expected,
        noProgress,
        warning,
        forecastMs,
        forecastSource,
        margin,
        passRows,
      ]);
      const row = result.rows[0];
      total.passes += 1;
      total.opened += row?.opened ?? 0;
      total.resolved += row?.resolved ?? 0;
      total.candidates += row?.candidates ?? 0;
      // A full pass may have left more due rows. One that skipped locked rows ends the scan: they would come first
      // again; they, and the rest, are looked at by the next scan.
      // A scan works for at most maxMs (default 20 s) of passes: after the migration or a policy change over a
      // large table, the rest is looked at by the following scans, so a poll cycle stays within its budget.
      if ((row?.due ?? 0) < passRows || (row?.skipped ?? 0) > 0 || performance.now() - started >= maxMs) break;
    }
    // After a bulk of passes the statistics still count the rows as due: refresh them, or the next (small) scans
    // would be planned for a bulk.
    if (total.passes > 1) await db.query('select alert_scan_analyze()');
    return total;
  } catch (err) {
    throw mapDatabaseError(err, 'evaluating alert conditions');
  }
}
