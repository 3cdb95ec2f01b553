import { z } from 'zod';
import type { Queryable } from './pool.js';

const RequestRow = z.object({
  id: z.string(),
  customer_id: z.string(),
  revoked_at: z.date(),
  source: z.string(),
  source_event_id: z.string(),
  deadline_at: z.date(),
  regranted_at: z.date().nullable(),
  created_at: z.date(),
});
const DeletionRow = z.object({
  id: z.string(),
  request_id: z.string(),
  vendor: z.string(),
  state: z.string(),
  operation_id: z.string().nullable(),
  operation_ref: z.unknown().nullable(),
  submitted_at: z.date().nullable(),
  completed_at: z.date().nullable(),
  verified_at: z.date().nullable(),
  check_count: z.number(),
  raw_status: z.string().nullable(),
});
const EventRow = z.object({
  seq: z.string(),
  request_id: z.string().nullable(),
  vendor_deletion_id: z.string().nullable(),
  vendor: z.string().nullable(),
  kind: z.string(),
  detail: z.unknown(),
  occurred_at: z.date(),
});

export type TimelineRequestRow = z.infer<typeof RequestRow>;
export type TimelineDeletionRow = z.infer<typeof DeletionRow>;
export type TimelineEventRow = z.infer<typeof EventRow>;

/** Every request of one customer, their vendor deletions and their events in chain order. */
export async function loadTimelineRows(
  db: Queryable,
  customerIds: string[],
): Promise<{ requests: TimelineRequestRow[]; deletions: TimelineDeletionRow[]; events: TimelineEventRow[] }> {
  const requests = await db.query(
    `select id::text, customer_id, revoked_at, source, source_event_id, deadline_at, regranted_at, created_at
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
       from deletion_event where request_id = any($1::bigint[]) order by chain_seq`,
    [ids],
  );
  return {
    requests: requests.rows.map((r) => RequestRow.parse(r)),
    deletions: deletions.rows.map((r) => DeletionRow.parse(r)),
    events: events.rows.map((r) => EventRow.parse(r)),
  };
}
