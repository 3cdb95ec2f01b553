import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';
import { RegimeIdSchema, type RegimeId } from '../domain/regimes.js';

/** A request's deadlines as stored: the regime's first one, the one in force, and its extension if taken. */
export interface RequestDeadline {
  requestId: string;
  customerId: string;
  revokedAt: Date;
  regime: RegimeId;
  initialDeadlineAt: Date;
  deadlineAt: Date;
  extension: { at: Date; by: string; reason: string } | null;
}

const Row = z.object({
  id: z.coerce.string(),
  customer_id: z.string(),
  revoked_at: z.date(),
  regime: RegimeIdSchema,
  initial_deadline_at: z.date(),
  deadline_at: z.date(),
  extended_at: z.date().nullable(),
  extended_by: z.string().nullable(),
  extension_reason: z.string().nullable(),
});

function toDeadline(raw: unknown): RequestDeadline {
  const r = Row.parse(raw);
  return {
    requestId: r.id,
    customerId: r.customer_id,
    revokedAt: r.revoked_at,
    regime: r.regime,
    initialDeadlineAt: r.initial_deadline_at,
    deadlineAt: r.deadline_at,
    extension: r.extended_at && r.extended_by && r.extension_reason ? { at: r.extended_at, by: r.extended_by, reason: r.extension_reason } : null,
  };
}

const COLUMNS = 'id, customer_id, revoked_at, regime, initial_deadline_at, deadline_at, extended_at, extended_by, extension_reason';

const LATEST_SQL = `
select ${COLUMNS}
  from deletion_request
 where customer_id = $1::text
 order by revoked_at desc
 limit 1`;

/** The customer's latest request with its deadlines; null when there is none. */
export async function latestRequestDeadline(db: Queryable, customerId: string): Promise<RequestDeadline | null> {
  try {
    const result = await db.query(LATEST_SQL, [customerId]);
    return result.rows[0] ? toDeadline(result.rows[0]) : null;
  } catch (err) {
    throw mapDatabaseError(err, 'reading the request deadline');
  }
}

// One statement: the deadline moves and the event says who, when and why, or nothing happens (another
// extension got there first: a request is extended once).
const EXTEND_SQL = `
with req as (
  update deletion_request
     set deadline_at = $2::timestamptz, extended_at = $3::timestamptz, extended_by = $4::text, extension_reason = $5::text
   where id = $1::bigint and extended_at is null
  returning ${COLUMNS}
),
ev as (
  insert into deletion_event (request_id, customer_id, kind, detail, occurred_at)
  select id, customer_id, 'deadline_extended', $6::jsonb, $3::timestamptz from req
)
select * from req`;

/** Records an extension; null when the request was already extended (nothing written). */
export async function recordExtension(
  db: Queryable,
  input: { requestId: string; deadlineAt: Date; at: Date; by: string; reason: string; detail: Record<string, unknown> },
): Promise<RequestDeadline | null> {
  try {
    const result = await db.query(EXTEND_SQL, [input.requestId, input.deadlineAt, input.at, input.by, input.reason, JSON.stringify(input.detail)]);
    return result.rows[0] ? toDeadline(result.rows[0]) : null;
  } catch (err) {
    throw mapDatabaseError(err, 'recording the deadline extension');
  }
}
