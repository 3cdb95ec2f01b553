import type { CloudEvent } from '@google-cloud/functions-framework';
import type pg from 'pg';
import { DAY, SECOND, type Clock } from '../functions/clock.js';
import { loadConfig, type Config } from '../functions/config.js';
import { createLogger, silentLogger } from '../functions/log.js';
import { createPollDeletions } from '../functions/handlers/pollDeletions.js';
import { createMemoryPublisher } from '../functions/services/publisher.js';
import type { Sleep } from '../functions/services/rateLimiter.js';
import type { DeletionVendor } from '../functions/vendors/DeletionVendor.js';

/** Sizes of one run: `quick` by default (a few minutes on 2 cores), `full` for the sizes, `smoke` for the test. */
export type ProfileName = 'smoke' | 'quick' | 'full';

export interface Profile {
  name: ProfileName;
  burst: number;
  /** Seconds the seed's burst drain is measured for before its total is projected from its rate. */
  seedBurstWindowS: number;
  polling: number;
  /** Seconds the seed's polling loop is measured for. */
  seedPollingWindowS: number;
  idleRows: number;
  memoryRows: [number, number];
  ingestEvents: number;
  lifecycleBatch: number;
  lifecyclePerOp: number;
  /** Customers of the same data the seed runs through the 30 days (its cost per customer does not depend on it). */
  lifecycleSeed: number;
  /** How long a vendor takes to finish a deletion in the lifecycle scenario (30 days; shorter in the smoke run). */
  lifecycleDays: number;
  /** Due status checks in each memory run (the same in both, so only the rows a tick does not touch differ). */
  memoryDue: number;
}

export const PROFILES: Record<ProfileName, Profile> = {
  smoke: {
    name: 'smoke',
    burst: 500,
    seedBurstWindowS: 2,
    polling: 300,
    seedPollingWindowS: 1,
    idleRows: 20_000,
    memoryRows: [1_000, 20_000],
    ingestEvents: 200,
    lifecycleBatch: 300,
    lifecyclePerOp: 20,
    lifecycleSeed: 2,
    lifecycleDays: 3,
    memoryDue: 200,
  },
  quick: {
    name: 'quick',
    burst: 10_000,
    seedBurstWindowS: 10,
    polling: 10_000,
    seedPollingWindowS: 10,
    idleRows: 1_000_000,
    memoryRows: [10_000, 1_000_000],
    ingestEvents: 4_000,
    lifecycleBatch: 2_000,
    lifecyclePerOp: 100,
    lifecycleSeed: 5,
    lifecycleDays: 30,
    memoryDue: 2_000,
  },
  full: {
    name: 'full',
    burst: 100_000,
    seedBurstWindowS: 30,
    polling: 100_000,
    seedPollingWindowS: 30,
    idleRows: 1_000_000,
    memoryRows: [10_000, 1_000_000],
    ingestEvents: 20_000,
    lifecycleBatch: 10_000,
    lifecyclePerOp: 1_000,
    lifecycleSeed: 20,
    lifecycleDays: 30,
    memoryDue: 10_000,
  },
};

/** The product's configuration for a benchmark database and vendor list, from the same env schema production reads. */
export function benchConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: databaseUrl, VENDORS: 'http', VENDOR_HTTP_BASE_URL: 'http://127.0.0.1:9/http', LOG_LEVEL: 'silent', ...env });
}

/** A Pub/Sub CloudEvent as Eventarc delivers `deletion-poll` messages. */
export function pollEvent(message: unknown, id = String(Math.random()).slice(2)): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id,
    source: '//pubsub.googleapis.com/projects/bench/topics/deletion-poll',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: { message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), messageId: id } },
  } as CloudEvent<unknown>;
}

/**
 * The real `pollDeletions` handler with an in-memory publisher. `tick()` delivers a scheduled `{}` message
 * and then every continuation the cycle publishes, as Pub/Sub would, until none is left.
 */
export function pollerHandler(deps: { config: Config; pool: pg.Pool; vendors: DeletionVendor[]; clock: Clock; sleep?: Sleep }) {
  const publisher = createMemoryPublisher();
  const handler = createPollDeletions({ ...deps, publisher, log: process.env['BENCH_LOG'] ? createLogger({ level: 'debug' }) : silentLogger(), ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  return {
    publisher,
    async tick(): Promise<number> {
      let deliveries = 0;
      await handler(pollEvent({ reason: 'bench tick' }));
      deliveries += 1;
      for (;;) {
        const next = publisher.messages.shift();
        if (!next) break;
        if (next.topic !== deps.config.topics.poll) continue;
        await handler(pollEvent(next.message));
        deliveries += 1;
      }
      return deliveries;
    },
  };
}

/**
 * Bulk-loads `n` requests with one vendor deletion each, in one statement (set-up only, not measured).
 * `operationIds[i]` is the vendor operation of row i, or none for queued rows.
 */
export async function loadDeletions(
  pool: pg.Pool,
  args: {
    n: number;
    vendor: string;
    state: 'queued' | 'submitted' | 'completed';
    prefix: string;
    now: Date;
    /** Vendor operation id per row (submitted rows); absent: `op-<i>`. */
    operationIds?: string[];
    /** Reference JSON key the adapter reads (`operationId`, `trackingId`, `regulateId`). */
    refKey?: string;
    /** null: nothing more is due (finished rows). */
    nextCheckAt: Date | null;
    /** Spread next checks over this many ms after nextCheckAt (1 row per step). */
    spreadMs?: number;
  },
): Promise<void> {
  const refKey = args.refKey ?? 'operationId';
  await pool.query(
    `with req as (
       insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, created_at)
       select $1::text || g, $2::timestamptz, 'bench-' || $1::text || g, 'bench', $2::timestamptz + interval '30 days', $2::timestamptz
         from generate_series(1, $3::int) g
       returning id, customer_id
     )
     insert into vendor_deletion (request_id, customer_id, vendor, state, operation_ref, operation_id, queued_at,
                                  submitted_at, status_changed_at, completed_at, next_check_at, submit_attempts, expected_by)
     select r.id, r.customer_id, $4::text, $5::text,
            case when $5::text = 'queued' then null else jsonb_build_object($9::text, o.op, 'subjects', 1) end,
            case when $5::text = 'queued' then null else o.op end,
            $2::timestamptz,
            case when $5::text = 'queued' then null else $2::timestamptz end,
            case when $5::text = 'queued' then null else $2::timestamptz end,
            case when $5::text = 'completed' then $2::timestamptz end,
            $6::timestamptz + (r.id % greatest($8::bigint, 1)) * interval '1 millisecond' * $10::int,
            case when $5::text = 'queued' then 0 else 1 end,
            $2::timestamptz + interval '30 days'
       from req r
       join lateral (select coalesce(($7::text[])[substr(r.customer_id, length($1::text) + 1)::int],
                                     'op-' || substr(r.customer_id, length($1::text) + 1)) as op) o on true`,
    [args.prefix, args.now, args.n, args.vendor, args.state, args.nextCheckAt, args.operationIds ?? [], args.spreadMs ?? 1, refKey, args.spreadMs ? 1 : 0],
  );
}

export const MONTH = 30 * DAY;
export { SECOND };
