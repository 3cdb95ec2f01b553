import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
select vendor, hold_key, detail
  from vendor_incident
 where kind = 'mass_refusal'
   and closed_at is null
   and vendor = any($1::text[])`;

const Row = z.object({ vendor: z.string(), hold_key: z.string().nullable(), detail: z.string() });

/** A vendor whose submissions are held after a mass refusal, and the configuration the hold was made under. */
export interface VendorHold {
  vendor: string;
  holdKey: string | null;
  detail: string;
}

/** The open mass-refusal holds of these vendors (the ingest's check before it submits at once). */
export async function readVendorHolds(db: Queryable, vendors: readonly string[]): Promise<VendorHold[]> {
  if (vendors.length === 0) return [];
  try {
    const result = await db.query(SQL, [vendors]);
    return result.rows.map((r) => {
      const row = Row.parse(r);
      return { vendor: row.vendor, holdKey: row.hold_key, detail: row.detail };
    });
  } catch (err) {
    throw mapDatabaseError(err, 'reading vendor holds');
  }
}
