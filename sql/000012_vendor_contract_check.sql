-- Up Migration
-- The last live contract check of each vendor (`consent-erasure vendors check`, and the poller's daily run on
-- the poller_schedule row 'contract_check'): what it found, so that a mismatch raises the contract-violation
-- alert once per incident (a new or changed mismatch), not once a day.

create table vendor_contract_check (
  vendor      text primary key,
  checked_at  timestamptz not null,
  -- matches | grown | differs | failed (functions/vendors/contract/probe.ts)
  outcome     text not null check (outcome in ('matches', 'grown', 'differs', 'failed')),
  -- The differences found, one per line (empty when none): compared with the next run's.
  differences text not null default '',
  detail      jsonb not null default '{}'::jsonb
);
grant select, insert, update on vendor_contract_check to consent_erasure_runtime;
