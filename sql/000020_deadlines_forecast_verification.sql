-- Up Migration
-- Deadlines that follow the request's law, extensions as recorded acts, the vendor's own completion date with
-- its source, and verification after completion (functions/domain/regimes.ts, legalDeadline.ts,
-- slackForecast.ts).
--
-- deletion_request.deadline_at stays the deadline in force (what the warning and missed alerts measure);
-- initial_deadline_at is the regime's first deadline, kept when an extension moves deadline_at. Requests
-- recorded before this migration had DEADLINE_DAYS after withdrawal as their only deadline: it becomes their
-- initial one. An extension (consent-erasure extend) records who took it, when and why, here for the report
-- and as a `deadline_extended` event for the evidence.

alter table deletion_request
  add column initial_deadline_at timestamptz,
  add column extended_at         timestamptz,
  add column extended_by         text check (length(extended_by) between 1 and 200),
  add column extension_reason    text check (length(extension_reason) between 1 and 2000),
  add constraint deletion_request_extension_recorded
    check ((extended_at is null) = (extension_reason is null) and (extended_at is null) = (extended_by is null));
update deletion_request set initial_deadline_at = deadline_at where initial_deadline_at is null;
alter table deletion_request alter column initial_deadline_at set not null;
-- A writer that names only deadline_at (the ingest before this migration, fixtures) gets it as the initial one.
create function deletion_request_initial_deadline() returns trigger
language plpgsql as $$
begin
  new.initial_deadline_at := coalesce(new.initial_deadline_at, new.deadline_at);
  return new;
end;
$$;
create trigger deletion_request_initial_deadline
  before insert on deletion_request
  for each row execute function deletion_request_initial_deadline();

-- expected_by is either the vendor's own date (OpenDSR expected_completion_time, Amplitude's job day + 5 days)
-- or our estimate from the vendor's policy; expected_source names the vendor's field when it is the former,
-- so the forecast and the deadline_at_risk alert can name the vendor's date and where it came from.
alter table vendor_deletion
  add column expected_source        text,
  -- When the vendor's date last changed: the poller scans for deadline_at_risk at its next tick after it, not
  -- at the next scheduled scan (a date past the deadline is said at once, whoever stored it).
  add column expected_changed_at    timestamptz,
  -- A verification after completion found the customer's data at the vendor; its answer is the evidence.
  add column verification_failed_at timestamptz,
  add column verification_evidence  jsonb;
create index vendor_deletion_expected_changed on vendor_deletion (expected_changed_at) where expected_changed_at is not null;
create index vendor_deletion_verification_failed on vendor_deletion (id)
  where verification_failed_at is not null and verified_at is null;

-- Two more per-deletion alert kinds; an alert row may carry what it is about (the vendor's date and its
-- source, the lookup's answer), shown in the email.
alter table deletion_alert drop constraint deletion_alert_kind_check;
alter table deletion_alert add constraint deletion_alert_kind_check
  check (kind in ('stale', 'no_progress', 'failed', 'deadline_warning', 'deadline_missed', 'deadline_at_risk', 'verification_failed'));
alter table deletion_alert add column detail text;

-- The forecast reads each vendor's most recent completions (their submission-to-completion times, p90).
create index vendor_deletion_completed_recent on vendor_deletion (vendor, completed_at desc)
  where state = 'completed' and submitted_at is not null;
