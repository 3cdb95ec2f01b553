-- Up Migration
-- The poller's working tables (000003) were created before the event-chain migration (000005) set default
-- privileges for the functions' runtime role, so they get their grants here. They are working state, not
-- evidence: the poller updates and deletes nothing in deletion_event.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
end;
$$;
grant select, insert, update on vendor_pause, deletion_alert, vendor_incident to consent_erasure_runtime;
