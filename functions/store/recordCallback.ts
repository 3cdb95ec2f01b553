import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

/** One verified callback to keep as evidence, on each deletion it names. */
export interface CallbackToRecord {
  idempotencyKey: string;
  vendor: string;
  subjectRequestId: string;
  claimedStatus: 'pending' | 'in_progress' | 'completed' | 'cancelled';
  receivedAt: Date;
  deletionIds: string[];
  /** The event's detail: the evidence (body, headers, signature, certificate), never a customer id of ours. */
  detail: Record<string, unknown>;
}

export interface RecordedCallback {
  /** False when the same callback was stored before (a replay or a processor's retry): nothing was added. */
  stored: boolean;
  /** The event ids added (one per deletion), empty when not stored. */
  eventIds: string[];
  /** When the first copy was received. */
  firstReceivedAt: Date;
  /** Whether a status check has looked at the deletions since the first copy arrived. */
  checkedSince: boolean;
}

// One statement: the idempotency row and the events go in together or not at all; a second copy of the same
// callback inserts neither (the chain trigger never runs for it).
const INSERT_SQL = `
with claimed as (
  insert into deletion_callback (idempotency_key, vendor, subject_request_id, claimed_status, received_at, vendor_deletion_ids)
  values ($1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::bigint[])
  on conflict (idempotency_key) do nothing
  returning idempotency_key
)
insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
select d.request_id, d.id, d.customer_id, d.vendor, 'callback_received', $7::jsonb, $5::timestamptz
  from vendor_deletion d, claimed
 where d.id = any($6::bigint[])
 order by d.id
returning id::text`;

const EXISTING_SQL = `
select c.received_at as "receivedAt",
       coalesce(bool_and(d.last_checked_at > c.received_at), false) as "checkedSince"
  from deletion_callback c
  left join vendor_deletion d on d.id = any(c.vendor_deletion_ids)
 where c.idempotency_key = $1::text
 group by c.received_at`;

const Existing = z.object({ receivedAt: z.date(), checkedSince: z.boolean() });

/** Stores a verified callback once: its idempotency row and a `callback_received` event per deletion. */
export async function recordCallback(db: Queryable, callback: CallbackToRecord): Promise<RecordedCallback> {
  try {
    const inserted = await db.query<{ id: string }>(INSERT_SQL, [
      callback.idempotencyKey,
      callback.vendor,
      callback.subjectRequestId,
      callback.claimedStatus,
      callback.receivedAt,
      callback.deletionIds,
      JSON.stringify(callback.detail),
    ]);
    if (inserted.rows.length > 0) {
      return { stored: true, eventIds: inserted.rows.map((r) => r.id), firstReceivedAt: callback.receivedAt, checkedSince: false };
    }
    const existing = await db.query(EXISTING_SQL, [callback.idempotencyKey]);
    const row = Existing.parse(existing.rows[0]);
    return { stored: false, eventIds: [], firstReceivedAt: row.receivedAt, checkedSince: row.checkedSince };
  } catch (err) {
    if (err instanceof z.ZodError) throw err;
    throw mapDatabaseError(err, 'recording a status callback');
  }
}
