import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../../functions/clock.js';
import { createTokenBucket, realSleep, type Sleep } from '../../functions/services/rateLimiter.js';
import type { DeletionVendor } from '../../functions/vendors/DeletionVendor.js';
import { VendorRateLimitedError } from '../../functions/vendors/errors.js';

/** Calls once, and again after the Retry-After of each 429 (a Lambda retried by its event source). */
async function withRetry<T>(call: () => Promise<T>, sleep: Sleep, count: () => void): Promise<T> {
  for (;;) {
    count();
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof VendorRateLimitedError)) throw err;
      await sleep(err.retryAfterMs);
    }
  }
}

/**
 * The seed's design (shared AWS write-up), rebuilt as a reference to measure ours against, on the same
 * PostgreSQL server, the same sandboxes and the same adapters:
 * - ingest: one vendor create call per revocation event, then one insert into PendingDeletion;
 * - poller: every tick reads the list of pending rows, then for each row, one at a time, reads it, calls
 *   the vendor's status endpoint and updates it (or moves it to CompletedDeletion).
 * It is given a pacer at the vendor's rate so that it is measured at its best (without one it would only
 * collect 429s), and nothing else: no batching, no backoff, no concurrency.
 */

const SCHEMA = `
create table if not exists seed_pending_deletion (
  id              bigint generated always as identity primary key,
  user_id         text not null,
  vendor          text not null,
  operation_id    text not null,
  requested_at    timestamptz not null,
  last_checked_at timestamptz,
  check_count     integer not null default 0,
  raw_status      text
);
create table if not exists seed_completed_deletion (
  id              bigint primary key,
  user_id         text not null,
  vendor          text not null,
  operation_id    text not null,
  requested_at    timestamptz not null,
  completed_at    timestamptz not null,
  check_count     integer not null
);`;

/** Creates the seed's two tables (PendingDeletion, CompletedDeletion) in the benchmark database. */
export async function createSeedSchema(pool: pg.Pool): Promise<void> {
  await pool.query(SCHEMA);
}

/** Loads pending operations as the seed's ingest would have left them (one insert statement, set-up only). */
export async function loadSeedPending(
  pool: pg.Pool,
  rows: Array<{ userId: string; vendor: string; operationId: string }>,
  now: Date,
): Promise<void> {
  await pool.query(
    `insert into seed_pending_deletion (user_id, vendor, operation_id, requested_at)
     select u, v, o, $4::timestamptz from unnest($1::text[], $2::text[], $3::text[]) as t(u, v, o)`,
    [rows.map((r) => r.userId), rows.map((r) => r.vendor), rows.map((r) => r.operationId), now],
  );
}

export interface SeedOptions {
  clock: Clock;
  /** The vendor's sustained rate; the seed is paced to it. */
  perSecond: number;
  sleep?: Sleep;
  /** Stop starting calls after this time (a bounded measurement window); the rest is left pending. */
  until?: Date;
}

export interface SeedReport {
  calls: number;
  checked: number;
  completed: number;
  submitted: number;
  /** True when `until` stopped the loop before the work was done. */
  cut: boolean;
}

/** The seed's ingest: one create call per revocation, one insert each, one event after the other. */
export async function seedSubmit(
  pool: pg.Pool,
  vendor: DeletionVendor,
  customerIds: string[],
  options: SeedOptions & { onSubmitted?: (n: number) => void },
): Promise<SeedReport> {
  const bucket = createTokenBucket({ perSecond: options.perSecond, burst: 1, clock: options.clock, sleep: options.sleep ?? realSleep });
  const report: SeedReport = { calls: 0, checked: 0, completed: 0, submitted: 0, cut: false };
  const far = new Date(8.64e15);
  for (const customerId of customerIds) {
    if (options.until && options.clock.now() >= options.until) {
      report.cut = true;
      break;
    }
    await bucket.take(1, far);
    const key = randomUUID();
    const [op] = await withRetry(() => vendor.submit([{ deletionId: customerId, customerId, idempotencyKey: key }]), options.sleep ?? realSleep, () => {
      report.calls += 1;
    });
    await pool.query(
      'insert into seed_pending_deletion (user_id, vendor, operation_id, requested_at) values ($1::text, $2::text, $3::text, $4::timestamptz)',
      [customerId, vendor.name, op!.operationId, options.clock.now()],
    );
    report.submitted += 1;
    options.onSubmitted?.(report.submitted);
  }
  return report;
}

/** One tick of the seed's poller: every pending row read, checked and updated one by one. */
export async function seedPollTick(pool: pg.Pool, vendor: DeletionVendor, options: SeedOptions): Promise<SeedReport> {
  const bucket = createTokenBucket({ perSecond: options.perSecond, burst: 1, clock: options.clock, sleep: options.sleep ?? realSleep });
  const report: SeedReport = { calls: 0, checked: 0, completed: 0, submitted: 0, cut: false };
  const far = new Date(8.64e15);
  const ids = await pool.query<{ id: string }>('select id::text as id from seed_pending_deletion where vendor = $1::text order by id', [vendor.name]);
  for (const { id } of ids.rows) {
    if (options.until && options.clock.now() >= options.until) {
      report.cut = true;
      break;
    }
    const row = (
      await pool.query<{ user_id: string; operation_id: string; requested_at: Date; check_count: number }>(
        'select user_id, operation_id, requested_at, check_count from seed_pending_deletion where id = $1::bigint',
        [id],
      )
    ).rows[0];
    if (!row) continue;
    await bucket.take(1, far);
    const op = { deletionId: id, customerId: row.user_id, ref: { operationId: row.operation_id, trackingId: row.operation_id, subjects: 1, regulateId: row.operation_id }, operationId: row.operation_id, submittedAt: row.requested_at };
    const reports = await withRetry(() => vendor.checkStatus([op]), options.sleep ?? realSleep, () => {
      report.calls += 1;
    });
    const status = reports.get(id);
    report.checked += 1;
    const now = options.clock.now();
    if (status?.state === 'completed') {
      report.completed += 1;
      await pool.query(
        `insert into seed_completed_deletion (id, user_id, vendor, operation_id, requested_at, completed_at, check_count)
         values ($1::bigint, $2::text, $3::text, $4::text, $5::timestamptz, $6::timestamptz, $7::int)`,
        [id, row.user_id, vendor.name, row.operation_id, row.requested_at, now, row.check_count + 1],
      );
      await pool.query('delete from seed_pending_deletion where id = $1::bigint', [id]);
    } else {
      await pool.query(
        'update seed_pending_deletion set last_checked_at = $2::timestamptz, check_count = check_count + 1, raw_status = $3::text where id = $1::bigint',
        [id, now, status?.rawStatus ?? null],
      );
    }
  }
  return report;
}
