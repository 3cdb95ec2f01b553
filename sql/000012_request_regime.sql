-- Up Migration
-- The legal regime each deletion request is made under (functions/domain/regimes.ts), read from the customer's
-- document when the revocation is recorded (CONSENT_REGIME_FIELD, mapped by REGIME_VALUES) or the configured
-- DEFAULT_REGIME. Vendors that know only GDPR and CCPA are told the regime's regulation
-- (functions/domain/regulation.ts). Requests recorded before this column existed were all sent as GDPR (the
-- vendors' configured default), so they get 'gdpr'. The check names every known regime id; a new regime is a
-- new migration.

alter table deletion_request
  add column regime text not null default 'gdpr'
  constraint deletion_request_regime_known check (regime in ('gdpr', 'ccpa', 'vcdpa', 'ctdpa', 'ucpa', 'tdpsa'));
