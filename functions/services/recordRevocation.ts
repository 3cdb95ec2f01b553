import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { decideRevocation, type RevocationDecision } from '../domain/revocation.js';
import { customerIdOf, MAX_DOCUMENT_ID_BYTES, type FirestoreEvent } from '../events/firestore.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';
import { findRequestId, recordRequest } from '../store/recordRequest.js';
import { recordRegrant } from '../store/recordRegrant.js';

/** A revocation to record, from a Firestore event or from a reconcile scan. */
export interface Revocation {
  customerId: string;
  /** When consent was withdrawn (RFC 3339): the revoking write's update time, or the delete event's time. */
  revokedAt: string;
  /** The CloudEvent source, or 'reconcile'. */
  source: string;
  /** The CloudEvent id, or an identifier of the scan. */
  sourceEventId: string;
  /** Extra evidence for the `revoked` event (event time and type, the reason). */
  detail?: Record<string, unknown>;
}

/** A deletion the caller has been leased to submit now (vendors taking one subject per call). */
export interface LeasedDeletion {
  vendor: string;
  deletionId: string;
  customerId: string;
  idempotencyKey: string;
  /** When the customer withdrew consent (the revocation's time). */
  revokedAt: Date;
}

export interface RevocationResult {
  /** False when this revocation was already recorded (a redelivery): nothing was written. */
  created: boolean;
  requestId: string | null;
  deadlineAt?: Date;
  /** Leased to the caller; submit them now (the poller takes them over when the lease ends). */
  toSubmit: LeasedDeletion[];
  /** Deletions left for the poller (vendors that take batches). */
  queuedForPoller: number;
}

/** What a Firestore write meant and what was recorded for it. */
export type WriteOutcome =
  | { kind: 'revoked'; customerId: string; decision: RevocationDecision; result: RevocationResult }
  | { kind: 'regranted'; customerId: string; decision: RevocationDecision; requestId: string | null }
  | { kind: 'none'; customerId: string; decision: RevocationDecision };

export interface RevocationRecorder {
  /** Records one revocation idempotently (unique per customer and revocation time). */
  recordRevocation(revocation: Revocation): Promise<RevocationResult>;
  /** Records consent granted again on the customer's latest request; a submitted deletion is not undone. */
  recordRegrant(input: { customerId: string; regrantedAt: string; detail?: Record<string, unknown> }): Promise<string | null>;
  /** Applies the revocation rule to a decoded Firestore event and records what it means. */
  recordFirestoreWrite(event: FirestoreEvent): Promise<WriteOutcome>;
}

export interface RevocationRecorderDeps {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  config: Pick<Config, 'deadline' | 'consentField' | 'customersCollection'>;
  vendors: ReadonlyArray<Pick<DeletionVendor, 'name' | 'policy'>>;
  /** Names this process as lease owner; defaults to host, pid and a random suffix. */
  instanceId?: string;
}

/** The ingest's lease outlives the vendor call and its guard, and no more: a crash hands the row to the poller soon. */
function ingestLeaseMs(vendor: Pick<DeletionVendor, 'policy'>): number {
  return vendor.policy.timeoutMs * 2 + 30_000;
}

function validCustomerId(customerId: string): void {
  if (customerId.length === 0) throw new InvalidInputError('customer id is empty');
  if (customerId.includes('/')) throw new InvalidInputError('customer id contains "/"');
  // Firestore accepts it, PostgreSQL text cannot hold it: refuse it by name rather than by SQLSTATE.
  if (customerId.includes('\u0000')) throw new InvalidInputError('customer id contains a NUL character, which cannot be recorded');
  const bytes = Buffer.byteLength(customerId, 'utf8');
  if (bytes > MAX_DOCUMENT_ID_BYTES) throw new InvalidInputError(`customer id is ${bytes} bytes, over ${MAX_DOCUMENT_ID_BYTES}`);
}

/**
 * Builds the recorder the ingest handler and the `reconcile` command share. Vendors taking one subject per
 * call are leased to the caller for immediate submission (the seed's behaviour); batch vendors are left due
 * now for the poller. Database faults are thrown (mapped to the error tree); bad input is InvalidInputError.
 */
export function createRevocationRecorder(deps: RevocationRecorderDeps): RevocationRecorder {
  const { pool, log, clock, config, vendors } = deps;
  const instanceId = deps.instanceId ?? `ingest:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  async function recordRevocation(revocation: Revocation): Promise<RevocationResult> {
    validCustomerId(revocation.customerId);
    if (!Number.isFinite(Date.parse(revocation.revokedAt))) {
      throw new InvalidInputError(`revokedAt ${JSON.stringify(revocation.revokedAt)} is not a timestamp`);
    }
    const now = clock.now();
    const created = await recordRequest(pool, {
      customerId: revocation.customerId,
      revokedAt: revocation.revokedAt,
      source: revocation.source,
      sourceEventId: revocation.sourceEventId,
      deadlineDays: config.deadline.days,
      now,
      detail: { source: revocation.source, sourceEventId: revocation.sourceEventId, ...revocation.detail },
      deletions: vendors.map((v) => {
        if (v.policy.maxBatchSize !== 1) return { vendor: v.name, nextCheckAt: now, leaseOwner: null, leaseExpiresAt: null };
        const until = new Date(now.getTime() + ingestLeaseMs(v));
        return { vendor: v.name, nextCheckAt: until, leaseOwner: instanceId, leaseExpiresAt: until };
      }),
    });
    if (!created) {
      const requestId = await findRequestId(pool, revocation.customerId, revocation.revokedAt);
      log.info(
        { event: 'revocation_duplicate', customerId: revocation.customerId, requestId, sourceEventId: revocation.sourceEventId },
        'revocation already recorded; nothing written',
      );
      return { created: false, requestId, toSubmit: [], queuedForPoller: 0 };
    }
    const toSubmit = created.deletions
      .filter((d) => d.leased)
      .map((d) => ({
        vendor: d.vendor,
        deletionId: d.deletionId,
        customerId: revocation.customerId,
        idempotencyKey: d.idempotencyKey,
        revokedAt: new Date(revocation.revokedAt),
      }));
    log.info(
      {
        event: 'revocation_recorded',
        customerId: revocation.customerId,
        requestId: created.requestId,
        revokedAt: revocation.revokedAt,
        deadlineAt: created.deadlineAt.toISOString(),
        vendors: created.deletions.map((d) => d.vendor),
        source: revocation.source,
      },
      'deletion request recorded',
    );
    return {
      created: true,
      requestId: created.requestId,
      deadlineAt: created.deadlineAt,
      toSubmit,
      queuedForPoller: created.deletions.length - toSubmit.length,
    };
  }

  async function regrant(input: { customerId: string; regrantedAt: string; detail?: Record<string, unknown> }): Promise<string | null> {
    validCustomerId(input.customerId);
    const requestId = await recordRegrant(pool, {
      customerId: input.customerId,
      regrantedAt: input.regrantedAt,
      detail: { ...input.detail },
      now: clock.now(),
    });
    if (requestId) {
      log.info({ event: 'regrant_recorded', customerId: input.customerId, requestId }, 'consent granted again; recorded on the latest request');
    }
    return requestId;
  }

  return {
    recordRevocation,
    recordRegrant: regrant,
    async recordFirestoreWrite(event) {
      const customerId = customerIdOf(event, config.customersCollection);
      const before = event.data.oldValue;
      const after = event.data.value;
      const decision = decideRevocation(before, after, config.consentField);
      const evidence = {
        eventId: event.id,
        eventSource: event.source,
        eventType: event.type,
        eventTime: event.time ?? null,
        reason: decision.reason,
      };
      if (decision.kind === 'none') return { kind: 'none', customerId, decision };
      if (decision.kind === 'regranted') {
        const at = after?.updateTime ?? event.time;
        if (!at) throw new InvalidInputError('a regranting write carries no update time and the event no time');
        return { kind: 'regranted', customerId, decision, requestId: await regrant({ customerId, regrantedAt: at, detail: evidence }) };
      }
      // A withdrawal is dated by the write that made it; a delete has no after-image, so by the event.
      // Both are stable across redeliveries, which is what makes the request unique.
      const revokedAt = decision.cause === 'withdrawn' ? (after?.updateTime ?? event.time) : (event.time ?? before?.updateTime);
      if (!revokedAt) throw new InvalidInputError('the revoking write carries no update time and the event no time');
      const result = await recordRevocation({
        customerId,
        revokedAt,
        source: event.source,
        sourceEventId: event.id,
        detail: { ...evidence, cause: decision.cause, encoding: event.encoding },
      });
      return { kind: 'revoked', customerId, decision, result };
    },
  };
}
