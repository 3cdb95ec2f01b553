import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import type { RegimeId } from '../domain/regimes.js';

/** One vendor deletion to open with the request. */
export interface NewDeletion {
  vendor: string;
  /** When the poller should first look at it: now for batch vendors, the lease's end for leased rows. */
  nextCheckAt: Date;
  /** Set when the caller submits it at once: no other process may submit it before the lease ends. */
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
}

export interface NewRequest {
  customerId: string;
  /** RFC 3339 (kept to the microsecond: it is half of the request's identity). */
  revokedAt: string;
  source: string;
  sourceEventId: string;
  /** The legal deadline of the regime (domain/legalDeadline.ts), stored as both the initial and the deadline in force. */
  deadlineAt: Date;
  /** The legal regime the request is made under (domain/regimes.ts). */
  regime: RegimeId;
  deletions: NewDeletion[];
  /** Detail of the `revoked` event: the CloudEvent id/time/source, the reason. */
  detail: Record<string, unknown>;
  now: Date;
}

/** What the statement created; null when the request already existed (a redelivery). */
export interface CreatedRequest {
  requestId: string;
  deadlineAt: Date;
  deletions: Array<{ deletionId: string; vendor: string; idempotencyKey: string; leased: boolean }>;
}

// One statement, so one atomic write: the request, one deletion per vendor and the evidence. The unique
// (customer_id, revoked_at) makes every other delivery of the same write a no-op, concurrent ones included
// (they wait for the first to commit, then insert nothing). `queued` events are written after `revoked`
// (the aggregate over `revoked` must finish first), so the log reads in the order things happened.
const SQL = `
with req as (
  insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, initial_deadline_at, created_at, regime)
  values ($1::text, $2::timestamptz, $3::text, $4::text, $5::timestamptz, $5::timestamptz, $6::timestamptz, $12::text)
  on conflict (customer_id, revoked_at) do nothing
  returning id, customer_id, deadline_at
),
dels as (
  insert into vendor_deletion (request_id, customer_id, vendor, queued_at, next_check_at, lease_owner, lease_expires_at, updated_at)
  select req.id, req.customer_id, v.vendor, $6::timestamptz, v.next_check_at, v.lease_owner, v.lease_expires_at, $6::timestamptz
    from req
   cross join unnest($7::text[], $8::timestamptz[], $9::text[], $10::timestamptz[])
         as v(vendor, next_check_at, lease_owner, lease_expires_at)
  returning id, request_id, customer_id, vendor, idempotency_key, lease_owner
),
revoked as (
  insert into deletion_event (request_id, customer_id, kind, detail, occurred_at)
  select id, customer_id, 'revoked', $11::jsonb, $6::timestamptz from req
  returning id
),
queued as (
  insert into deletion_event (request_id, vendor_deletion_id, customer_id, vendor, kind, detail, occurred_at)
  select d.request_id, d.id, d.customer_id, d.vendor, 'queued',
         jsonb_build_object('submitAtOnce', d.lease_owner is not null), $6::timestamptz
    from dels d
   cross join (select count(*) as n from revoked) r
)
select r.id as request_id, r.deadline_at, d.id as deletion_id, d.vendor, d.idempotency_key, d.lease_owner
  from req r
  left join dels d on d.request_id = r.id`;

/**
 * Sent as a named prepared statement: each pooled connection parses and plans it once, instead of the client
 * sending the whole text and the server parsing and planning it again for every revocation. The name follows
 * the text, so a changed statement is prepared afresh.
 */
const STATEMENT = `record_request_${createHash('sha256').update(SQL).digest('hex').slice(0, 12)}`;

const Row = z.object({
  request_id: z.coerce.string(),
  deadline_at: z.coerce.date(),
  deletion_id: z.coerce.string().nullable(),
  vendor: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  lease_owner: z.string().nullable(),
});

/** Inserts a deletion request with its vendor deletions and events, unless that revocation is already recorded. */
export async function recordRequest(db: Queryable, input: NewRequest): Promise<CreatedRequest | null> {
  let rows: unknown[];
  try {
    const result = await db.query({
      name: STATEMENT,
      text: SQL,
      values: [
        input.customerId,
        input.revokedAt,
        input.sourceEventId,
        input.source,
        input.deadlineAt,
        input.now,
        input.deletions.map((d) => d.vendor),
        input.deletions.map((d) => d.nextCheckAt),
        input.deletions.map((d) => d.leaseOwner),
        input.deletions.map((d) => d.leaseExpiresAt),
        JSON.stringify(input.detail),
        input.regime,
      ],
    });
    rows = result.rows;
  } catch (err) {
    throw mapDatabaseError(err, 'recording the deletion request');
  }
  if (rows.length === 0) return null;
  const parsed = rows.map((r) => Row.parse(r));
  const first = parsed[0]!;
  return {
    requestId: first.request_id,
    deadlineAt: first.deadline_at,
    deletions: parsed
      .filter((r) => r.deletion_id !== null)
      .map((r) => ({
        deletionId: r.deletion_id!,
        vendor: r.vendor!,
        idempotencyKey: r.idempotency_key!,
        leased: r.lease_owner !== null,
      })),
  };
}
