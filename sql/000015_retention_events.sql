-- Up Migration
-- What the event log may hold, and who may rewrite it (README.md, "Personal data and retention").
--
-- 1. Event details are filtered before they are chained: only the fields allow-listed for the event's kind are
--    kept (deletion_event_detail_field, copied from functions/domain/eventDetailFields.ts by `consent-erasure
--    migrate`), and the event's customer id, wherever it appears in them, is replaced by 'subject:' and the
--    event's salted subject hash. A dropped field is counted in deletion_event_dropped_field; with
--    consent_erasure.event_detail_strict = 'on' (the tests' databases) it is an error instead.
-- 2. Retention no longer rests on a session setting the runtime could set itself: the log accepts its one change
--    (the customer id replaced by a pseudonym, then by nothing) only from the table's owner, which the runtime
--    reaches only through the security-definer functions below, executable by consent_erasure_retention alone.
-- 3. The runtime role loses DELETE: no table it works on is ever deleted from, and later tables do not get it.

-- 1. The allow-list and what fell outside it.
create table deletion_event_detail_field (
  kind  text not null,
  field text not null,
  primary key (kind, field)
);

create table deletion_event_dropped_field (
  kind          text not null,
  field         text not null,
  first_seen_at timestamptz not null,
  last_seen_at  timestamptz not null,
  dropped       bigint not null,
  primary key (kind, field)
);

-- Replaces `p_id` in `p_text` by `p_by` where it stands as a whole token (not inside a longer name: the id
-- 'ann' in 'joanne' stays), e.g. 'proj/2026-11-29/ann' (Amplitude's reference) or 'documents/customers/ann'.
create function customer_id_scrub_text(p_text text, p_id text, p_by text) returns text
language sql immutable parallel safe as $$
  select case
           when p_text is null or p_id is null or p_id = '' then p_text
           when p_text = p_id then p_by
           when strpos(p_text, p_id) = 0 then p_text
           else regexp_replace(p_text,
                               '(^|[^A-Za-z0-9_.@+-])' || regexp_replace(p_id, '([^A-Za-z0-9])', '\\\1', 'g')
                                 || '(?=$|[^A-Za-z0-9_.@+-])',
                               '\1' || replace(p_by, '\', '\\'), 'g')
         end
$$;

-- The same over every string (and object key) of a JSON value.
create function customer_id_scrub(p_value jsonb, p_id text, p_by text) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  out jsonb;
begin
  -- Cheap way out for the usual case; an id with characters JSON escapes cannot be looked for in the text.
  if p_value is null or p_id is null or p_id = ''
     or (strpos(p_value::text, p_id) = 0 and p_id !~ '["\\[:cntrl:]]') then
    return p_value;
  end if;
  case jsonb_typeof(p_value)
    when 'string' then
      return to_jsonb(customer_id_scrub_text(p_value #>> '{}', p_id, p_by));
    when 'object' then
      select coalesce(jsonb_object_agg(customer_id_scrub_text(key, p_id, p_by), customer_id_scrub(value, p_id, p_by)), '{}'::jsonb)
        into out from jsonb_each(p_value);
      return out;
    when 'array' then
      select coalesce(jsonb_agg(customer_id_scrub(value, p_id, p_by) order by n), '[]'::jsonb)
        into out from jsonb_array_elements(p_value) with ordinality as e(value, n);
      return out;
    else
      return p_value;
  end case;
end;
$$;

-- The fields of `p_detail` that `p_kind` may keep. Runs inside the chain trigger (as the owner).
create function deletion_event_kept_detail(p_kind text, p_detail jsonb, p_at timestamptz) returns jsonb
language plpgsql set search_path = public, pg_temp as $$
declare
  allowed text[];
  kept jsonb;
  dropped text[];
begin
  if p_detail is null or jsonb_typeof(p_detail) <> 'object' then
    return '{}'::jsonb;
  end if;
  select coalesce(array_agg(field), '{}') into allowed from deletion_event_detail_field where kind = p_kind;
  select coalesce(jsonb_object_agg(key, value) filter (where key = any(allowed)), '{}'::jsonb),
         coalesce(array_agg(key order by key) filter (where not key = any(allowed)), '{}')
    into kept, dropped
    from jsonb_each(p_detail);
  if cardinality(dropped) > 0 then
    if coalesce(current_setting('consent_erasure.event_detail_strict', true), '') = 'on' then
      raise exception 'deletion_event detail field(s) % of kind % are not allow-listed', dropped, p_kind
        using errcode = 'check_violation',
              hint = 'add them to functions/domain/eventDetailFields.ts (and say in README.md whether they can name a customer)';
    end if;
    insert into deletion_event_dropped_field (kind, field, first_seen_at, last_seen_at, dropped)
    select p_kind, f, p_at, p_at, 1 from unnest(dropped) as f
    on conflict (kind, field) do update
      set last_seen_at = greatest(deletion_event_dropped_field.last_seen_at, excluded.last_seen_at),
          dropped = deletion_event_dropped_field.dropped + 1;
  end if;
  return kept;
end;
$$;

-- The chain trigger (000005) again, with the detail filtered and the customer id replaced before hashing.
create or replace function deletion_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  head deletion_event_chain_head%rowtype;
begin
  select * into head from deletion_event_chain_head for update;
  new.chain_seq := head.seq + 1;
  new.prev_hash := head.hash;
  new.redacted_at := null;
  -- occurred_at is stored at microsecond precision; hash exactly what is stored.
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
  new.hash := sha256(deletion_event_content(new.chain_seq, new.prev_hash, new.subject_hash, new.request_id,
                                            new.vendor_deletion_id, new.vendor, new.kind, new.detail, new.occurred_at));
  update deletion_event_chain_head set seq = new.chain_seq, hash = new.hash;
  return new;
end;
$$;

-- 2. The log stays append-only. Its one allowed change is retention's, made by the table's owner (reached
-- through the retention functions below, never by the runtime role): the customer id replaced by its
-- pseudonym with the salt dropped, then (the purge) by nothing. Nothing the hash covers changes.
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
  raise exception 'deletion_event is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_runtime') then
    create role consent_erasure_runtime nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'consent_erasure_retention') then
    create role consent_erasure_retention nologin;
  end if;
end;
$$;

-- Whether a request is finished (every deletion completed or cancelled) and since when.
create function deletion_request_finished_at(p_request_id bigint) returns timestamptz
language sql stable set search_path = public, pg_temp as $$
  select case when bool_and(d.state in ('completed', 'cancelled')) then max(coalesce(d.completed_at, d.updated_at)) end
    from vendor_deletion d
   where d.request_id = p_request_id
$$;

-- Stage 1: the customer id of finished requests (finished before p_cutoff) replaced by its pseudonym (the keyed
-- hash the poller computes with RETENTION_KEY) everywhere it is kept: the request, its deletions (their
-- vendor references, status payloads and errors, and those of other deletions in the same vendor job), vendor
-- incidents, and the event log (where the salt goes too). Requests not finished, not past the cutoff, already
-- pseudonymised, or given a malformed pseudonym are skipped. Returns the requests and events changed.
create function retention_pseudonymise(p_request_ids bigint[], p_pseudonyms text[], p_cutoff timestamptz, p_now timestamptz)
returns table (requests integer, events integer)
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
  n_requests integer := 0;
  n_events integer := 0;
  changed integer;
begin
  for r in
    select q.id, q.customer_id as raw, u.name
      from unnest(p_request_ids, p_pseudonyms) as u(id, name)
      join deletion_request q on q.id = u.id
     where u.name ~ '^hmac-sha256:[0-9a-f]{64}$'
       and q.customer_id not like 'hmac-sha256:%'
       and q.customer_id not like 'purged:%'
       and coalesce(deletion_request_finished_at(q.id), 'infinity'::timestamptz) < p_cutoff
     order by q.id
       for update of q
  loop
    update deletion_request set customer_id = r.name where id = r.id;
    update vendor_deletion d
       set customer_id = r.name,
           operation_id = customer_id_scrub_text(d.operation_id, r.raw, r.name),
           operation_ref = customer_id_scrub(d.operation_ref, r.raw, r.name),
           status_payload = customer_id_scrub(d.status_payload, r.raw, r.name),
           last_error = customer_id_scrub_text(d.last_error, r.raw, r.name),
           updated_at = p_now
     where d.request_id = r.id;
    -- A vendor job shared by several customers may name this one in the others' rows.
    update vendor_deletion d
       set status_payload = customer_id_scrub(d.status_payload, r.raw, r.name),
           operation_ref = customer_id_scrub(d.operation_ref, r.raw, r.name),
           last_error = customer_id_scrub_text(d.last_error, r.raw, r.name)
      from vendor_deletion mine
     where mine.request_id = r.id and mine.operation_id is not null
       and d.vendor = mine.vendor and d.operation_id = mine.operation_id and d.request_id <> r.id
       and (strpos(coalesce(d.status_payload::text, ''), r.raw) > 0 or strpos(coalesce(d.operation_ref::text, ''), r.raw) > 0
            or strpos(coalesce(d.last_error, ''), r.raw) > 0);
    update vendor_incident set detail = customer_id_scrub_text(detail, r.raw, r.name) where strpos(detail, r.raw) > 0;
    update deletion_event
       set customer_id = r.name, subject_salt = null, redacted_at = p_now
     where request_id = r.id and customer_id = r.raw;
    get diagnostics changed = row_count;
    n_requests := n_requests + 1;
    n_events := n_events + changed;
  end loop;
  return query select n_requests, n_events;
end;
$$;

-- Stage 2 (the purge): pseudonymised requests finished before p_cutoff lose the pseudonym too. The request and
-- its deletions are named 'purged:<request id>', the events name nobody; the counts, times, states and the
-- chain stay (the chain never covered the id). Works on at most p_limit requests; returns how many.
create function retention_purge(p_cutoff timestamptz, p_limit integer, p_now timestamptz)
returns table (requests integer, events integer)
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
  n_requests integer := 0;
  n_events integer := 0;
  changed integer;
  placeholder text;
begin
  for r in
    select q.id, q.customer_id as name
      from deletion_request q
     where q.customer_id like 'hmac-sha256:%'
       and coalesce(deletion_request_finished_at(q.id), 'infinity'::timestamptz) < p_cutoff
     order by q.id
     limit greatest(p_limit, 0)
       for update of q skip locked
  loop
    placeholder := 'purged:' || r.id;
    update deletion_request set customer_id = placeholder where id = r.id;
    update vendor_deletion d
       set customer_id = placeholder,
           operation_id = customer_id_scrub_text(d.operation_id, r.name, placeholder),
           operation_ref = customer_id_scrub(d.operation_ref, r.name, placeholder),
           status_payload = customer_id_scrub(d.status_payload, r.name, placeholder),
           last_error = customer_id_scrub_text(d.last_error, r.name, placeholder),
           updated_at = p_now
     where d.request_id = r.id;
    update vendor_deletion d
       set status_payload = customer_id_scrub(d.status_payload, r.name, placeholder),
           operation_ref = customer_id_scrub(d.operation_ref, r.name, placeholder),
           last_error = customer_id_scrub_text(d.last_error, r.name, placeholder)
      from vendor_deletion mine
     where mine.request_id = r.id and mine.operation_id is not null
       and d.vendor = mine.vendor and d.operation_id = mine.operation_id and d.request_id <> r.id
       and (strpos(coalesce(d.status_payload::text, ''), r.name) > 0 or strpos(coalesce(d.operation_ref::text, ''), r.name) > 0
            or strpos(coalesce(d.last_error, ''), r.name) > 0);
    update vendor_incident set detail = customer_id_scrub_text(detail, r.name, placeholder) where strpos(detail, r.name) > 0;
    update deletion_event
       set customer_id = null, subject_salt = null, redacted_at = p_now
     where request_id = r.id and customer_id = r.name;
    get diagnostics changed = row_count;
    n_requests := n_requests + 1;
    n_events := n_events + changed;
  end loop;
  return query select n_requests, n_events;
end;
$$;

revoke all on function retention_pseudonymise(bigint[], text[], timestamptz, timestamptz) from public;
revoke all on function retention_purge(timestamptz, integer, timestamptz) from public;
grant execute on function retention_pseudonymise(bigint[], text[], timestamptz, timestamptz) to consent_erasure_retention;
grant execute on function retention_purge(timestamptz, integer, timestamptz) to consent_erasure_retention;
grant usage on schema public to consent_erasure_retention;
grant select on deletion_request, vendor_deletion to consent_erasure_retention;

-- The runtime role: no rewrite of the log (the column grant 000005 gave for the session-setting exception goes),
-- and no DELETE anywhere, now or on later tables.
revoke update (customer_id, subject_salt, redacted_at) on deletion_event from consent_erasure_runtime;
revoke update, delete, truncate on deletion_event from consent_erasure_runtime;
revoke delete on all tables in schema public from consent_erasure_runtime;
alter default privileges in schema public revoke delete on tables from consent_erasure_runtime;
grant select on deletion_event_detail_field, deletion_event_dropped_field to consent_erasure_runtime;
