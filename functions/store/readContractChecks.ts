import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { StoredContractCheck } from './recordContractCheck.js';

const Row = z.object({
  vendor: z.string(),
  checked_at: z.date(),
  outcome: z.enum(['matches', 'grown', 'differs', 'failed']),
  differences: z.string(),
});

const SQL = `select vendor, checked_at, outcome, differences from vendor_contract_check`;

/** Every vendor's last contract check, by vendor. */
export async function readContractChecks(db: Queryable): Promise<Map<string, StoredContractCheck>> {
  try {
    const result = await db.query(SQL);
    return new Map(
      result.rows.map((r) => {
        const row = Row.parse(r);
        return [row.vendor, { vendor: row.vendor, checkedAt: row.checked_at, outcome: row.outcome, differences: row.differences }];
      }),
    );
  } catch (err) {
    throw mapDatabaseError(err, 'reading the contract checks');
  }
}
