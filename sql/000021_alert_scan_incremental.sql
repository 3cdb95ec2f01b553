-- Up Migration
-- The alert scan reads only what changed: each unfinished deletion carries alert_check_at, the next time one
-- of its alert conditions can begin or end. Writes that change what the conditions read (state, status
-- change, expected completion and its source, submission or queueing time, verification, the request's
-- deadline, an extension included) set it to '-infinity'
-- ("look at me at the next scan"), in triggers, so no writer can forget; the scan evaluates the rows whose
-- time has come plus those with an open alert, then stores each one's next threshold. A scan over a million
-- unfinished deletions reads the few that are due, through the partial index below.
-- '-infinity' rather than now(): the scan compares with its own injected clock, which is not the database's.

alter table vendor_deletion add column alert_check_at timestamptz;
update vendor_deletion set alert_check_at = '-infinity' where state not in ('completed', 'cancelled');
create index vendor_deletion_alert_check on vendor_deletion (alert_check_at) where alert_check_at is not null;
create index deletion_alert_open_deletion on deletion_alert (vendor_deletion_id) where resolved_at is null;

-- The scan's policy (per-vendor expected durations, the deadline warning): when it changes, every unfinished
-- deletion's stored threshold is stale and is looked at again once.
create table alert_scan_policy (
  singleton   boolean primary key default true check (singleton),
  policy_hash text not null,
  updated_at  timestamptz not null
);
grant select, insert, update on alert_scan_policy to consent_erasure_runtime;

create function vendor_deletion_alert_recheck() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT'
     or new.state is distinct from old.state
     or new.status_changed_at is distinct from old.status_changed_at
     or new.expected_by is distinct from old.expected_by
     or new.submitted_at is distinct from old.submitted_at
     or new.queued_at is distinct from old.queued_at
     or new.request_id is distinct from old.request_id
     or new.expected_source is distinct from old.expected_source
     or new.verified_at is distinct from old.verified_at
     or new.verification_failed_at is distinct from old.verification_failed_at then
    new.alert_check_at := '-infinity';
  end if;
  return new;
end $$;

create trigger vendor_deletion_alert_recheck
  before insert or update of state, status_changed_at, expected_by, submitted_at, queued_at, request_id,
                             expected_source, verified_at, verification_failed_at
  on vendor_deletion
  for each row execute function vendor_deletion_alert_recheck();

create function deletion_request_alert_recheck() returns trigger
language plpgsql as $$
begin
  update vendor_deletion
     set alert_check_at = '-infinity'
   where request_id = new.id
     and state not in ('completed', 'cancelled');
  return null;
end $$;

create trigger deletion_request_alert_recheck
  after update of deadline_at on deletion_request
  for each row when (new.deadline_at is distinct from old.deadline_at)
  execute function deletion_request_alert_recheck();

-- The planner must know how many rows are due: right after every unfinished row was marked (this migration, a
-- policy change) its statistics still say none, and it would join the scan's candidates row by row (quadratic in a
-- pass). The runtime role cannot ANALYZE a table it does not own; it asks through this function.
create function alert_scan_analyze() returns void
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  analyze vendor_deletion;
end;
$$;
revoke all on function alert_scan_analyze() from public;
grant execute on function alert_scan_analyze() to consent_erasure_runtime;

analyze vendor_deletion;
