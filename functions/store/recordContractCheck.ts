import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** A vendor's last live contract check, as stored. */
export interface StoredContractCheck {
  vendor: string;
  checkedAt: Date;
  outcome: 'matches' | 'grown' | 'differs' | 'failed';
  /** The differences found, one per line. */
  differences: string;
}

const WRITE_SQL = `
insert into vendor_contract_check as c (vendor, checked_at, outcome, differences, detail)
values ($1::text, $2::timestamptz, $3::text, $4::text, $5::jsonb)
on conflict (vendor) do update
   set checked_at = excluded.checked_at, outcome = excluded.outcome, differences = excluded.differences, detail = excluded.detail`;

/** Records a vendor's contract check (replacing the one before). */
export async function recordContractCheck(db: Queryable, check: StoredContractCheck & { detail: unknown }): Promise<void> {
  try {
    await db.query(WRITE_SQL, [check.vendor, check.checkedAt, check.outcome, check.differences, JSON.stringify(check.detail)]);
  } catch (err) {
    throw mapDatabaseError(err, 'recording a contract check');
  }
}
