-- Up Migration
-- Signed vendor status callbacks (OpenDSR), received by the receiveDeletionCallback function.
--
-- The evidence itself is a 'callback_received' entry of the event log (deletion_event, chained). This table only
-- makes a callback stored once: its key is the callback's idempotency key (functions/callbacks/idempotency.ts:
-- processor domain + canonical body), inserted in the same statement as the event, so a replayed or retried
-- callback adds nothing. (A unique index on deletion_event itself cannot do it: the chain trigger runs before the
-- conflict check and would advance the chain for a row that is then not inserted.)

create table deletion_callback (
  idempotency_key    text primary key check (idempotency_key ~ '^[0-9a-f]{64}$'),
  vendor             text not null,
  subject_request_id text not null,
  -- The request status the callback claimed (pending, in_progress, completed, cancelled), compared with the next
  -- status check: a check that contradicts it opens the vendor's contract-violation incident.
  claimed_status     text not null check (claimed_status in ('pending', 'in_progress', 'completed', 'cancelled')),
  received_at        timestamptz not null,
  -- The deletions it named (one, or two when a request is linked to another deletion's).
  vendor_deletion_ids bigint[] not null,
  -- Set by the poller once a status check after received_at has been compared with claimed_status.
  compared_at        timestamptz,
  contradicted       boolean
);
-- The poller's lookup: callbacks not yet compared with a check, by deletion.
create index deletion_callback_uncompared on deletion_callback using gin (vendor_deletion_ids) where compared_at is null;

-- A callback names the request its subject_request_id: a deletion's idempotency key (unique already) or the
-- request its reference reads (a linked request, Mixpanel's task).
create index vendor_deletion_subject_request on vendor_deletion (lower(operation_ref->>'subjectRequestId'))
  where operation_ref ? 'subjectRequestId';

-- The callback function's own database role: it reads the deletion a callback names, appends the event and the
-- idempotency row, and nothing else (no update of any deletion: the state moves only through the poller's check).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_callback') then
    create role consent_erasure_callback nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
end;
$$;
grant usage on schema public to consent_erasure_callback;
grant select (id, request_id, customer_id, vendor, state, operation_id, operation_ref, idempotency_key, status_payload, last_checked_at, next_check_at)
  on vendor_deletion to consent_erasure_callback;
grant insert on deletion_event to consent_erasure_callback;
grant select (id) on deletion_event to consent_erasure_callback;
grant select, insert on deletion_callback to consent_erasure_callback;
grant usage on all sequences in schema public to consent_erasure_callback;
grant select, insert, update on deletion_callback to consent_erasure_runtime;
