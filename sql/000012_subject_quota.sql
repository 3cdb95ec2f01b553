-- Up Migration
-- A vendor's monthly quota of subjects (Segment: 110,000 users per calendar month) is counted from our own
-- record: the `submitted` events of the vendor since the month began (functions/domain/subjectQuota.ts). This
-- partial index keeps that count to the month's submissions, however long the log grows. The quota's alerts are
-- vendor incidents like the others: raised once, escalated while they last, closed when the month turns.

create index deletion_event_submitted on deletion_event (vendor, occurred_at) where kind = 'submitted';

alter table vendor_incident drop constraint vendor_incident_kind_check;
alter table vendor_incident add constraint vendor_incident_kind_check
  check (kind in ('contract_violation', 'credential_rejected', 'quota_low', 'quota_exhausted'));
