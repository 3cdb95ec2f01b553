import { z } from 'zod';

/** The stored rows a timeline is assembled from (store/loadTimelineRows.ts reads them with these schemas). */
export const RequestRow = z.object({
  id: z.string(),
  customer_id: z.string(),
  revoked_at: z.date(),
  source: z.string(),
  source_event_id: z.string(),
  deadline_at: z.date(),
  regranted_at: z.date().nullable(),
  created_at: z.date(),
  regime: z.string(),
});
export const DeletionRow = z.object({
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
export const EventRow = z.object({
  /** Null until the sealer links the event to the hash chain. */
  seq: z.string().nullable(),
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

