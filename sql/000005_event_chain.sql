-- Up Migration
-- Tamper evidence for the event log: every entry is chained to the one before it by a SHA-256 hash, so a
-- changed, deleted or reordered entry is detectable by `consent-erasure verify-log`.
--
-- What the hash covers: the entry's position (chain_seq), the previous entry's hash, and its content with the
-- customer id replaced by subject_hash = sha256(subject_salt || customer_id). The customer id itself is not
-- hashed directly, so that retention can later replace it with a keyed hash and drop the salt without
-- breaking the chain; the salt is 16 random bytes, so subject_hash alone cannot be matched to an id.

alter table deletion_event
  add column chain_seq    bigint,
  add column subject_salt bytea,
  add column subject_hash bytea,
  add column prev_hash    bytea,
  add column hash         bytea,
  add column redacted_at  timestamptz;

-- One row: the head of the chain. Its row lock serialises appends, so the chain has one order.
create table deletion_event_chain_head (
  singleton bool primary key default true check (singleton),
  seq       bigint not null,
  hash      bytea not null
);
insert into deletion_event_chain_head (seq, hash) values (0, sha256(''::bytea));

-- The canonical bytes an entry's hash covers (verify-log recomputes them with the same function).
create function deletion_event_content(
  p_seq bigint, p_prev bytea, p_subject_hash bytea, p_request_id bigint, p_vendor_deletion_id bigint,
  p_vendor text, p_kind text, p_detail jsonb, p_occurred_at timestamptz
) returns bytea
language sql immutable as $$
  select convert_to(
           concat_ws(E'\x1f',
             p_seq::text,
             encode(p_prev, 'hex'),
             coalesce(encode(p_subject_hash, 'hex'), ''),
             coalesce(p_request_id::text, ''),
             coalesce(p_vendor_deletion_id::text, ''),
             coalesce(p_vendor, ''),
             p_kind,
             p_detail::text,
             to_char(p_occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
           'UTF8')
$$;

-- security definer: the runtime role appends to the chain without any right to write its head directly.
create function deletion_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  head deletion_event_chain_head%rowtype;
begin
  select * into head from deletion_event_chain_head for update;
  new.chain_seq := head.seq + 1;
  new.prev_hash := head.hash;
  new.redacted_at := null;
  if new.customer_id is not null then
    new.subject_salt := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
    new.subject_hash := sha256(new.subject_salt || convert_to(new.customer_id, 'UTF8'));
  else
    new.subject_salt := null;
    new.subject_hash := null;
  end if;
  -- occurred_at is stored at microsecond precision; hash exactly what is stored.
  new.occurred_at := date_trunc('microseconds', new.occurred_at);
  new.hash := sha256(deletion_event_content(new.chain_seq, new.prev_hash, new.subject_hash, new.request_id,
                                            new.vendor_deletion_id, new.vendor, new.kind, new.detail, new.occurred_at));
  update deletion_event_chain_head set seq = new.chain_seq, hash = new.hash;
  return new;
end;
$$;
create trigger deletion_event_chain
  before insert on deletion_event
  for each row execute function deletion_event_chain();

-- Entries written before this migration join the chain in id order.
do $$
declare
  r record;
  h bytea;
  s bigint;
  salt bytea;
  sh bytea;
  t timestamptz;
begin
  select seq, hash into s, h from deletion_event_chain_head;
  alter table deletion_event disable trigger deletion_event_append_only;
  for r in select * from deletion_event order by id loop
    s := s + 1;
    salt := case when r.customer_id is null then null else decode(replace(gen_random_uuid()::text, '-', ''), 'hex') end;
    sh := case when r.customer_id is null then null else sha256(salt || convert_to(r.customer_id, 'UTF8')) end;
    t := date_trunc('microseconds', r.occurred_at);
    update deletion_event
       set chain_seq = s, subject_salt = salt, subject_hash = sh, prev_hash = h, occurred_at = t,
           hash = sha256(deletion_event_content(s, h, sh, r.request_id, r.vendor_deletion_id, r.vendor, r.kind, r.detail, t))
     where id = r.id
     returning hash into h;
  end loop;
  alter table deletion_event enable trigger deletion_event_append_only;
  update deletion_event_chain_head set seq = s, hash = h;
end;
$$;

alter table deletion_event alter column chain_seq set not null;
alter table deletion_event alter column prev_hash set not null;
alter table deletion_event alter column hash set not null;
create unique index deletion_event_chain_seq on deletion_event (chain_seq);

-- The log stays append-only. The one change allowed is retention's pseudonymisation: replacing the
-- customer id by a keyed hash and dropping the salt, in a session that declares it
-- (set local consent_erasure.retention = 'on'), and nothing else in the row.
create or replace function deletion_event_append_only() returns trigger
language plpgsql as $$
begin
  if tg_op = 'UPDATE'
     and coalesce(current_setting('consent_erasure.retention', true), '') = 'on'
     and old.subject_salt is not null and new.subject_salt is null
     and new.customer_id like 'hmac-sha256:%'
     and new.redacted_at is not null
     and (new.id, new.request_id, new.vendor_deletion_id, new.vendor, new.kind, new.detail, new.occurred_at,
          new.chain_seq, new.subject_hash, new.prev_hash, new.hash)
         is not distinct from
         (old.id, old.request_id, old.vendor_deletion_id, old.vendor, old.kind, old.detail, old.occurred_at,
          old.chain_seq, old.subject_hash, old.prev_hash, old.hash)
  then
    return new;
  end if;
  raise exception 'deletion_event is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

-- The role the functions run as (granted to the Cloud SQL IAM user of the runtime service account; see
-- infra/README.md). It may read and append to the event log, never change or remove an entry.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
end;
$$;
grant usage on schema public to consent_erasure_runtime;
grant select, insert, update on deletion_request, vendor_deletion to consent_erasure_runtime;
grant select, insert on deletion_event to consent_erasure_runtime;
revoke update, delete, truncate on deletion_event from consent_erasure_runtime;
-- Only retention's pseudonymisation, which the trigger above checks column by column.
grant update (customer_id, subject_salt, redacted_at) on deletion_event to consent_erasure_runtime;
grant select on deletion_event_chain_head, pending_deletion, completed_deletion to consent_erasure_runtime;
grant usage, select on all sequences in schema public to consent_erasure_runtime;
-- Tables later migrations add (alerts, deliveries, pauses) are working state, not evidence.
alter default privileges in schema public grant select, insert, update, delete on tables to consent_erasure_runtime;
alter default privileges in schema public grant usage, select on sequences to consent_erasure_runtime;
