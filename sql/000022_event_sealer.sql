-- Up Migration
-- The event log's hash chain leaves the commit path. An append no longer takes the chain head's row lock (which
-- made every transaction that writes an event, in every function instance, wait for the one before it to commit):
-- the insert trigger only prepares the entry (the detail filtered, the customer id replaced in it, the salted
-- subject hash, occurred_at at the precision stored), and leaves chain_seq, prev_hash and hash empty. A sealer,
-- deletion_event_seal(), run by the poller on every cycle, links the committed unsealed entries in id order,
-- one sealer at a time, under the head's lock; the hash covers exactly what it covered before
-- (deletion_event_content), so `verify-log` checks sealed entries as before and reports the unsealed tail.
-- Until sealed, an entry is protected by the append-only trigger (no role but the owner may change it, and the
-- owner only as retention or the sealer does); once sealed, by the chain and its anchors outside the database.

alter table deletion_event
  alter column chain_seq drop not null,
  alter column prev_hash drop not null,
  alter column hash drop not null;
create index deletion_event_unsealed on deletion_event (id) where chain_seq is null;

-- The insert trigger (000015) without the link: no head lock.
create or replace function deletion_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  new.chain_seq := null;
  new.prev_hash := null;
  new.hash := null;
  new.redacted_at := null;
  -- occurred_at is stored at microsecond precision; the sealer hashes exactly what is stored.
  new.occurred_at := date_trunc('microseconds', coalesce(new.occurred_at, now()));
  new.detail := deletion_event_kept_detail(new.kind, new.detail, new.occurred_at);
  if new.customer_id is not null then
    new.subject_salt := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
    new.subject_hash := sha256(new.subject_salt || convert_to(new.customer_id, 'UTF8'));
    new.detail := customer_id_scrub(new.detail, new.customer_id, 'subject:' || encode(new.subject_hash, 'hex'));
  else
    new.subject_salt := null;
    new.subject_hash := null;
  end if;
  return new;
end;
$$;

-- Links up to p_limit committed unsealed entries to the chain, in id order; returns how many. One sealer at a
-- time: another finds the lock taken and returns 0 at once.
create function deletion_event_seal(p_limit integer) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  head deletion_event_chain_head%rowtype;
  r record;
  h bytea;
  n integer := 0;
begin
  if not pg_try_advisory_xact_lock(hashtext('consent_erasure.deletion_event_seal')) then
    return 0;
  end if;
  select * into head from deletion_event_chain_head for update;
  for r in
    select id, subject_hash, request_id, vendor_deletion_id, vendor, kind, detail, occurred_at
      from deletion_event
     where chain_seq is null
     order by id
     limit greatest(p_limit, 0)
  loop
    head.seq := head.seq + 1;
    h := sha256(deletion_event_content(head.seq, head.hash, r.subject_hash, r.request_id, r.vendor_deletion_id,
                                       r.vendor, r.kind, r.detail, r.occurred_at));
    update deletion_event set chain_seq = head.seq, prev_hash = head.hash, hash = h where id = r.id;
    head.hash := h;
    n := n + 1;
  end loop;
  if n > 0 then
    update deletion_event_chain_head set seq = head.seq, hash = head.hash;
  end if;
  return n;
end;
$$;
revoke all on function deletion_event_seal(integer) from public;
grant execute on function deletion_event_seal(integer) to consent_erasure_runtime;

-- The unsealed tail: how many entries wait for the sealer, and since when (by their time of occurrence).
create function deletion_event_unsealed() returns table (entries bigint, oldest_at timestamptz)
language sql stable security definer set search_path = public, pg_temp as $$
  select count(*), min(occurred_at) from deletion_event where chain_seq is null
$$;
grant execute on function deletion_event_unsealed() to consent_erasure_runtime;

-- The log stays append-only. The owner may make two changes, each through its security-definer functions only:
-- retention's (000015, unchanged) and the sealer's, which fills an unsealed entry's link and hash, computed over
-- its content as stored, and changes nothing else.
create or replace function deletion_event_append_only() returns trigger
language plpgsql as $$
begin
  if tg_op = 'UPDATE'
     and current_user = (select pg_get_userbyid(c.relowner) from pg_class c where c.oid = tg_relid)
     and new.redacted_at is not null
     and new.subject_salt is null
     and old.customer_id is not null
     and ((old.customer_id not like 'hmac-sha256:%' and new.customer_id ~ '^hmac-sha256:[0-9a-f]{64}$')
          or (old.customer_id like 'hmac-sha256:%' and new.customer_id is null))
     and (new.id, new.request_id, new.vendor_deletion_id, new.vendor, new.kind, new.detail, new.occurred_at,
          new.chain_seq, new.subject_hash, new.prev_hash, new.hash)
         is not distinct from
         (old.id, old.request_id, old.vendor_deletion_id, old.vendor, old.kind, old.detail, old.occurred_at,
          old.chain_seq, old.subject_hash, old.prev_hash, old.hash)
  then
    return new;
  end if;
  if tg_op = 'UPDATE'
     and current_user = (select pg_get_userbyid(c.relowner) from pg_class c where c.oid = tg_relid)
     and old.chain_seq is null and old.prev_hash is null and old.hash is null
     and new.chain_seq is not null and new.prev_hash is not null
     and new.hash = sha256(deletion_event_content(new.chain_seq, new.prev_hash, old.subject_hash, old.request_id,
                                                  old.vendor_deletion_id, old.vendor, old.kind, old.detail,
                                                  old.occurred_at))
     and (new.id, new.request_id, new.vendor_deletion_id, new.customer_id, new.vendor, new.kind, new.detail,
          new.occurred_at, new.subject_salt, new.subject_hash, new.redacted_at)
         is not distinct from
         (old.id, old.request_id, old.vendor_deletion_id, old.customer_id, old.vendor, old.kind, old.detail,
          old.occurred_at, old.subject_salt, old.subject_hash, old.redacted_at)
  then
    return new;
  end if;
  raise exception 'deletion_event is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
