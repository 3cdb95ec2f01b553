import type pg from 'pg';
import { createLogger } from '../../../functions/log.js';
import type { Logger } from 'pino';
import type { OperationToCheck, StatusReport, VendorPolicy } from '../../../functions/vendors/DeletionVendor.js';
import { DAY } from '../../../functions/clock.js';
import { fakeVendor, type FakeVendor } from '../../helpers/fakeVendor.js';

/** One deletion to put in the database as the ingest would have left it. */
export interface SeedDeletion {
  customerId: string;
  vendor: string;
  state?: 'queued' | 'submitted' | 'in_progress';
  operationId?: string | null;
  revokedAt: Date;
  queuedAt?: Date;
  submittedAt?: Date | null;
  nextCheckAt: Date | null;
  deadlineAt?: Date;
  rawStatus?: string | null;
}

/** Inserts requests and their vendor deletions in two statements; returns the deletion ids in order. */
export async function seedDeletions(pool: pg.Pool, rows: SeedDeletion[]): Promise<string[]> {
  const requests = await pool.query<{ id: string }>(
    `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, created_at)
     select c, r, 'test-' || c || '-' || n, 'test', d, r
       from unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) with ordinality as t(c, r, d, n)
     order by n
     returning id::text`,
    [rows.map((r) => r.customerId), rows.map((r) => r.revokedAt), rows.map((r) => r.deadlineAt ?? new Date(r.revokedAt.getTime() + 30 * DAY))],
  );
  const deletions = await pool.query<{ id: string }>(
    `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_ref, operation_id, raw_status,
                                  queued_at, submitted_at, status_changed_at, next_check_at, submit_attempts)
     select q, c, v, s, case when o is null then null else jsonb_build_object('operationId', o) end, o, rs,
            qa, sa, sa, nc, case when s = 'queued' then 0 else 1 end
       from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                   $8::timestamptz[], $9::timestamptz[]) with ordinality as t(q, c, v, s, o, rs, qa, sa, nc, n)
     order by n
     returning id::text`,
    [
      requests.rows.map((r) => r.id),
      rows.map((r) => r.customerId),
      rows.map((r) => r.vendor),
      rows.map((r) => r.state ?? 'submitted'),
      rows.map((r) => r.operationId ?? null),
      rows.map((r) => r.rawStatus ?? null),
      rows.map((r) => r.queuedAt ?? r.revokedAt),
      rows.map((r) => (r.submittedAt === undefined ? r.revokedAt : r.submittedAt)),
      rows.map((r) => r.nextCheckAt),
    ],
  );
  return deletions.rows.map((r) => r.id);
}

/** A logger whose lines the test can read back. */
export function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', service: 'test' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** The fake vendor and its policy (one copy, in test/helpers/fakeVendor.ts). */
export { TEST_POLICY } from '../../helpers/fakeVendor.js';

/** A scripted vendor for rules that need no HTTP: `answer` decides each operation's report. */
export function scriptedVendor(
  name: string,
  answer: (op: OperationToCheck) => StatusReport | undefined | Promise<StatusReport | undefined>,
  policy: Partial<VendorPolicy> = {},
): FakeVendor {
  return fakeVendor(name, { check: answer, policy });
}

/** The poller settings most tests use (one copy, in test/helpers/pollCycle.ts). */
export { pollerConfig } from '../../helpers/pollCycle.js';
