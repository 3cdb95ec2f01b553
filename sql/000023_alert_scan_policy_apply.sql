-- Up Migration
-- The alert scan records its policy (a hash of the vendors' durations, forecasts and margins) at every scan and
-- marks every unfinished deletion for another look when it changed. As one statement the marking update was
-- planned at every scan, for a million rows, and PostgreSQL compiled it with JIT (20-50 ms) even though its
-- one-time filter then skipped it: most of an idle scan's time. In a function, the update is planned only on the
-- rare scans whose policy changed; the function runs in the caller's transaction, so the new policy and the
-- marks still commit together.
create function alert_scan_policy_apply(new_hash text, at timestamptz) returns bigint
language plpgsql set search_path = public, pg_temp as $$
declare
  marked bigint := 0;
begin
  insert into alert_scan_policy as s (policy_hash, updated_at) values (new_hash, at)
  on conflict (singleton) do update set policy_hash = excluded.policy_hash, updated_at = excluded.updated_at
   where s.policy_hash is distinct from excluded.policy_hash;
  if found then
    update vendor_deletion set alert_check_at = '-infinity'
     where state not in ('completed', 'cancelled') or (verification_failed_at is not null and verified_at is null);
    get diagnostics marked = row_count;
  end if;
  return marked;
end;
$$;
revoke all on function alert_scan_policy_apply(text, timestamptz) from public;
grant execute on function alert_scan_policy_apply(text, timestamptz) to consent_erasure_runtime;
