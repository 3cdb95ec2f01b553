-- Up Migration
-- The poller's own state: vendor pauses (a 429's Retry-After outlives the cycle that saw it), alert
-- bookkeeping per deletion (raised once, then on the escalation schedule, until resolved) and vendor-wide
-- incidents (contract violations, rejected credentials: one alert per incident, not per operation).

create table vendor_pause (
  vendor       text primary key,
  paused_until timestamptz not null,
  reason       text not null,
  updated_at   timestamptz not null
);

create table deletion_alert (
  vendor_deletion_id bigint not null references vendor_deletion (id),
  kind               text not null
                     check (kind in ('stale', 'no_progress', 'failed', 'deadline_warning', 'deadline_missed')),
  -- When the condition began (expected completion passed, deadline window entered, …).
  since              timestamptz not null,
  opened_at          timestamptz not null,
  -- Last time an alert listed this deletion; null until the first one.
  raised_at          timestamptz,
  -- Escalation step of the next alert: 0 for the first, then 1, 2, …
  escalation         integer not null default 0,
  resolved_at        timestamptz,
  primary key (vendor_deletion_id, kind)
);
-- Alerts due: open and never raised or raised longer ago than the escalation interval.
create index deletion_alert_open on deletion_alert (raised_at nulls first) where resolved_at is null;

create table vendor_incident (
  vendor       text not null,
  kind         text not null check (kind in ('contract_violation', 'credential_rejected')),
  opened_at    timestamptz not null,
  last_seen_at timestamptz not null,
  detail       text not null,
  raised_at    timestamptz,
  escalation   integer not null default 0,
  -- Null while the incident lasts; set when the vendor answers well again.
  closed_at    timestamptz,
  primary key (vendor, kind)
);
