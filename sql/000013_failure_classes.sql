-- Up Migration
-- Every failure has an end (functions/domain/failureClasses.ts).
-- A refused create (a 4xx other than 401/403/408/409/429, an undocumented answer) is counted per deletion in
-- `refusals`; at the vendor's limit (VENDOR_<NAME>_MAX_REFUSALS, default 3) the deletion goes to `error` with the
-- vendor's words and a `failed` alert. `retry` puts it back with the count at zero.
alter table vendor_deletion add column refusals integer not null default 0;

-- The same refusal across many deletions of one vendor within a window is one incident, `mass_refusal`, that
-- holds the vendor's submissions. It is keyed by a hash of the vendor's configuration and the deployed revision
-- (`hold_key`): a deployment that changes either releases it, as does `consent-erasure vendors resume <vendor>`.
alter table vendor_incident add column hold_key text;
alter table vendor_incident drop constraint vendor_incident_kind_check;
alter table vendor_incident add constraint vendor_incident_kind_check
  check (kind in ('contract_violation', 'credential_rejected', 'quota_low', 'quota_exhausted', 'mass_refusal'));

-- The refusals of one vendor in the window are counted from the log's `submit_failed` events.
create index deletion_event_submit_failed on deletion_event (vendor, occurred_at) where kind = 'submit_failed';
