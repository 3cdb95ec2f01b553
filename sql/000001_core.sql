-- Up Migration
-- Core schema: one request per revocation, one deletion per request and vendor, and the event log.
-- Migrations are immutable once landed: fix forward in a new numbered file.

create table deletion_request (
  id              bigint generated always as identity primary key,
  customer_id     text not null check (length(customer_id) between 1 and 1500),
  -- When consent was withdrawn: the revoking write's update time (or the delete event's time).
  revoked_at      timestamptz not null,
  -- The CloudEvent that said so (id + source), or 'reconcile' for requests created by a scan.
  source_event_id text not null,
  source          text not null,
  deadline_at     timestamptz not null,
  regranted_at    timestamptz,
  created_at      timestamptz not null default now(),
  -- One request per revoking write, whatever the number of deliveries of its event.
  constraint deletion_request_once unique (customer_id, revoked_at)
);
create index deletion_request_customer on deletion_request (customer_id, revoked_at desc);
create index deletion_request_deadline on deletion_request (deadline_at);

create table vendor_deletion (
  id                bigint generated always as identity primary key,
  request_id        bigint not null references deletion_request (id),
  customer_id       text not null,
  vendor            text not null,
  state             text not null default 'queued'
                    check (state in ('queued', 'submitted', 'in_progress', 'completed', 'failed', 'cancelled', 'error')),
  -- Written before the first vendor call; sent to vendors that dedupe on a client-generated id.
  idempotency_key   uuid not null default gen_random_uuid() unique,
  operation_ref     jsonb,
  operation_id      text,
  raw_status        text,
  status_payload    jsonb,
  submit_attempts   integer not null default 0,
  check_count       integer not null default 0,
  queued_at         timestamptz not null default now(),
  submitted_at      timestamptz,
  last_checked_at   timestamptz,
  status_changed_at timestamptz,
  completed_at      timestamptz,
  verified_at       timestamptz,
  expected_by       timestamptz,
  -- When the poller should next look at this row; null once nothing more is due.
  next_check_at     timestamptz,
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  last_error_kind   text,
  updated_at        timestamptz not null default now(),
  constraint vendor_deletion_once unique (request_id, vendor)
);
-- The poller's only hot query: what is due. Partial so finished rows cost nothing.
create index vendor_deletion_due on vendor_deletion (next_check_at) where next_check_at is not null;
create index vendor_deletion_customer on vendor_deletion (customer_id);
create index vendor_deletion_operation on vendor_deletion (vendor, operation_id);

-- Append-only evidence of everything that happened. Nothing updates or deletes it.
create table deletion_event (
  id                 bigint generated always as identity primary key,
  request_id         bigint references deletion_request (id),
  vendor_deletion_id bigint references vendor_deletion (id),
  customer_id        text,
  vendor             text,
  kind               text not null,
  detail             jsonb not null default '{}'::jsonb,
  occurred_at        timestamptz not null default now()
);
create index deletion_event_request on deletion_event (request_id, id);
create index deletion_event_customer on deletion_event (customer_id, id);

create function deletion_event_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'deletion_event is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
create trigger deletion_event_append_only
  before update or delete on deletion_event
  for each row execute function deletion_event_append_only();
create trigger deletion_event_no_truncate
  before truncate on deletion_event
  for each statement execute function deletion_event_append_only();

-- The seed's two tables, as views operators query directly.
create view pending_deletion as
select d.customer_id,
       d.vendor,
       d.operation_id,
       d.state,
       r.created_at as requested_at,
       d.submitted_at,
       d.last_checked_at,
       d.check_count,
       d.next_check_at,
       r.deadline_at,
       r.revoked_at,
       d.id as deletion_id,
       d.request_id,
       d.raw_status,
       d.last_error
  from vendor_deletion d
  join deletion_request r on r.id = d.request_id
 where d.state not in ('completed', 'cancelled');

create view completed_deletion as
select d.customer_id,
       d.vendor,
       d.operation_id,
       r.created_at as requested_at,
       d.completed_at,
       d.verified_at,
       d.check_count,
       r.revoked_at,
       r.deadline_at,
       d.submitted_at,
       d.id as deletion_id,
       d.request_id
  from vendor_deletion d
  join deletion_request r on r.id = d.request_id
 where d.state = 'completed';
