-- Up Migration
-- The alert scan reads every unfinished deletion; it runs on its own schedule (every few minutes, stored
-- here so that every poller instance shares it) instead of on every poll tick, so a tick with nothing due
-- costs a few indexed statements whatever the number of rows. The partial index lets the scan read the
-- unfinished deletions only, not the finished ones that make up most of the table.

create table poller_schedule (
  name       text primary key,
  -- When the job may run next; a poller claims a run by moving this forward in one statement.
  due_at     timestamptz not null,
  updated_at timestamptz not null
);
grant select, insert, update on poller_schedule to consent_erasure_runtime;

create index vendor_deletion_unfinished on vendor_deletion (request_id) where state not in ('completed', 'cancelled');
