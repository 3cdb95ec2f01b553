-- Up Migration
-- Alerts by reference. An alert is written here when the poller raises it; the message on `deletion-alerts`
-- carries only its id, and `sendAlert` builds the email from these rows. A message whose id is not here sends
-- nothing, so a party able to publish to the topic can neither mail arbitrary text from the trusted sender nor
-- write `alert_sent` events for deletions of its choosing. The id is a random UUID made when the alert is raised:
-- nobody can publish a real alert's id before it exists to have the real one treated as a duplicate.
--
-- `alert` doubles as an outbox: it is written in the transaction that marks the condition raised, and published
-- afterwards; `published_at` stays null until the publish succeeded, so an alert whose publish failed (or whose
-- poller died in between) is published again, under the same id, by the next alert run.

create table alert (
  id                 uuid primary key,
  kind               text not null check (length(kind) between 1 and 64),
  vendor             text check (length(vendor) <= 200),
  incident_key       text not null check (length(incident_key) between 1 and 300),
  escalation         integer not null check (escalation >= 0),
  since              timestamptz not null,
  raised_at          timestamptz not null,
  summary            text not null check (length(summary) between 1 and 1000),
  total_items        integer not null check (total_items >= 0),
  -- For a vendor incident: what was wrong when the alert was raised (its sample, its quota figures), and when the
  -- incident opened. The sample is what the vendor answered, capped; retention treats it as vendor_incident.detail.
  detail             text check (length(detail) <= 4000),
  incident_opened_at timestamptz,
  published_at       timestamptz
);
create index alert_unpublished on alert (raised_at) where published_at is null;

-- The deletions an alert lists (at most the 500 an email shows; total_items counts them all). `alert_sent` is
-- recorded for these rows only.
create table alert_item (
  alert_id           uuid not null references alert (id),
  vendor_deletion_id bigint not null references vendor_deletion (id),
  position           integer not null check (position >= 1),
  -- When the condition began for this deletion.
  since              timestamptz not null,
  -- For an incident: which call of this deletion met it ('check': a status check, 'submit': a create call).
  call               text check (call in ('check', 'submit')),
  primary key (alert_id, vendor_deletion_id)
);
create index alert_item_deletion on alert_item (vendor_deletion_id);

-- The deletions whose calls met a vendor incident (a contract violation, a rejected credential), per incident
-- (vendor, kind, opened_at): the incident's email lists them. A create call that broke the contract has no
-- vendor operation yet; its deletions are listed with call 'submit'.
create table vendor_incident_deletion (
  vendor             text not null,
  kind               text not null,
  opened_at          timestamptz not null,
  vendor_deletion_id bigint not null references vendor_deletion (id),
  call               text not null check (call in ('check', 'submit')),
  seen_at            timestamptz not null,
  primary key (vendor, kind, opened_at, vendor_deletion_id)
);

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
end;
$$;
grant select, insert, update on alert, alert_item, vendor_incident_deletion to consent_erasure_runtime;
