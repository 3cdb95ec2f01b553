import type { Queryable } from './pool.js';
import { DeletionRow, EventRow, RequestRow, type TimelineDeletionRow, type TimelineEventRow, type TimelineRequestRow } from '../domain/timelineRows.js';

/** Every request of one customer, their vendor deletions and their events in chain order. */
export async function loadTimelineRows(
  db: Queryable,
  customerIds: string[],
): Promise<{ requests: TimelineRequestRow[]; deletions: TimelineDeletionRow[]; events: TimelineEventRow[] }> {
  const requests = await db.query(
    `select id::text, customer_id, revoked_at, source, source_event_id, deadline_at, regranted_at, created_at, regime
       from deletion_request where customer_id = any($1::text[]) order by revoked_at, id`,
    [customerIds],
  );
  const ids = requests.rows.map((r) => String(r.id));
  if (ids.length === 0) return { requests: [], deletions: [], events: [] };
  const deletions = await db.query(
    `select id::text, request_id::text, vendor, state, operation_id, operation_ref, submitted_at, completed_at,
            verified_at, check_count, raw_status
       from vendor_deletion where request_id = any($1::bigint[]) order by request_id, vendor`,
    [ids],
  );
  const events = await db.query(
    `select chain_seq::text as seq, request_id::text, vendor_deletion_id::text, vendor, kind, detail, occurred_at
       from deletion_event where request_id = any($1::bigint[]) order by chain_seq nulls last, id`,
    [ids],
  );
  return {
    requests: requests.rows.map((r) => RequestRow.parse(r)),
    deletions: deletions.rows.map((r) => DeletionRow.parse(r)),
    events: events.rows.map((r) => EventRow.parse(r)),
  };
}
