-- Up Migration
-- One row per alert id: the claim that makes `sendAlert` send each alert once, however often and however
-- concurrently Pub/Sub delivers it. A delivery holds a lease while it sends; a crashed send's lease expires
-- and a redelivery may then try again. Working state, not evidence: the event log records `alert_sent`.

create table alert_delivery (
  alert_id         text primary key check (length(alert_id) between 1 and 200),
  kind             text not null,
  vendor           text,
  incident_key     text not null,
  escalation       integer not null check (escalation >= 0),
  state            text not null default 'sending' check (state in ('sending', 'sent', 'rejected')),
  attempts         integer not null default 1 check (attempts >= 1),
  lease_owner      text,
  lease_expires_at timestamptz,
  recipients       text[] not null,
  subject          text not null,
  -- SendGrid's X-Message-Id, to find the email in its activity feed.
  provider_message_id text,
  last_error       text,
  first_attempt_at timestamptz not null,
  sent_at          timestamptz,
  rejected_at      timestamptz,
  updated_at       timestamptz not null,
  constraint alert_delivery_lease check ((state = 'sending') = (lease_expires_at is not null))
);
create index alert_delivery_incident on alert_delivery (incident_key, escalation);

-- The functions' runtime role (see the event-chain migration) needs this table too; tables created before
-- that migration's default privileges get the grant here.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
end;
$$;
grant select, insert, update on alert_delivery to consent_erasure_runtime;
