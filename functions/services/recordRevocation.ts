import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { callLeaseMs } from '../domain/policy.js';
import { deadlineFor, type LegalDeadline } from '../domain/legalDeadline.js';
import type { RegimeId } from '../domain/regimes.js';
import type { RegimeDecision } from '../domain/requestRegime.js';
import { MAX_DOCUMENT_ID_BYTES } from '../events/firestore.js';
import type { DeletionVendor } from '../vendors/DeletionVendor.js';
import { findRequestId } from '../store/findRequestId.js';
import { recordRequest, type CreatedRequest } from '../store/recordRequest.js';
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
  /** The legal regime read from the customer's document; absent, the configured default regime. */
  regime?: RegimeDecision;
}

/** A deletion the caller has been leased to submit now (vendors taking one subject per call). */
export interface LeasedDeletion {
  vendor: string;
  deletionId: string;
  customerId: string;
  idempotencyKey: string;
  /** When the customer withdrew consent (the revocation's time). */
  revokedAt: Date;
  /** The request's legal regime. */
  regime: RegimeId;
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

export interface RevocationRecorder {
  /** Records one revocation idempotently (unique per customer and revocation time). */
  recordRevocation(revocation: Revocation): Promise<RevocationResult>;
  /** Records consent granted again on the customer's latest request; a submitted deletion is not undone. */
  recordRegrant(input: { customerId: string; regrantedAt: string; detail?: Record<string, unknown> }): Promise<string | null>;
}

export interface RevocationRecorderDeps {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  config: Pick<Config, 'consentField' | 'customersCollection'> & Partial<Pick<Config, 'regime'>>;
  vendors: ReadonlyArray<Pick<DeletionVendor, 'name' | 'policy'>>;
  /** Names this process as lease owner; defaults to host, pid and a random suffix. */
  instanceId?: string;
}

function validCustomerId(customerId: string): void {
  if (customerId.length === 0) throw new InvalidInputError('customer id is empty');
  if (customerId.includes('/')) throw new InvalidInputError('customer id contains "/"');
  // Firestore accepts it, PostgreSQL text cannot hold it: refuse it by name rather than by SQLSTATE.
  if (customerId.includes('\u0000')) throw new InvalidInputError('customer id contains a NUL character, which cannot be recorded');
  const bytes = Buffer.byteLength(customerId, 'utf8');
  if (bytes > MAX_DOCUMENT_ID_BYTES) throw new InvalidInputError(`customer id is ${bytes} bytes, over ${MAX_DOCUMENT_ID_BYTES}`);
}

/** The deletions a new request leased to the caller, with what an adapter is told of each. */
function leasedDeletions(created: CreatedRequest, revocation: Revocation, regime: RegimeId): LeasedDeletion[] {
  const revokedAt = new Date(revocation.revokedAt);
  return created.deletions
    .filter((d) => d.leased)
    .map((d) => ({ vendor: d.vendor, deletionId: d.deletionId, customerId: revocation.customerId, idempotencyKey: d.idempotencyKey, revokedAt, regime }));
}

/** The regime evidence kept on the `revoked` event: which regime, and whether the document or the default decided it. */
function regimeEvidence(decision: RegimeDecision): Record<string, unknown> {
  return {
    regime: decision.regime,
    regimeSource: decision.source,
    ...(decision.value !== undefined ? { regimeValue: decision.value } : {}),
    ...(decision.problem !== undefined ? { regimeProblem: decision.problem } : {}),
  };
}

/** The deadline evidence kept on the `revoked` event: the rule applied, its source and the local last day. */
function deadlineEvidence(legal: LegalDeadline): Record<string, unknown> {
  return {
    deadline: {
      at: legal.expiresAt.toISOString(),
      lastDay: legal.lastDay,
      timeZone: legal.timeZone,
      rule: legal.summary,
      source: legal.source.citation,
    },
  };
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
    const regime: RegimeDecision = revocation.regime ?? { regime: config.regime?.defaultRegime ?? 'gdpr', source: 'default' };
    // The regime's own deadline (one calendar month under GDPR, 45 days under the CCPA, …), counted from
    // the withdrawal: the consent revocation is the request's receipt.
    const legal = deadlineFor(regime.regime, new Date(revocation.revokedAt));
    const created = await recordRequest(pool, {
      customerId: revocation.customerId,
      revokedAt: revocation.revokedAt,
      source: revocation.source,
      sourceEventId: revocation.sourceEventId,
      deadlineAt: legal.expiresAt,
      regime: regime.regime,
      now,
      detail: { source: revocation.source, sourceEventId: revocation.sourceEventId, ...revocation.detail, ...regimeEvidence(regime), ...deadlineEvidence(legal) },
      deletions: vendors.map((v) => {
        if (v.policy.maxBatchSize !== 1) return { vendor: v.name, nextCheckAt: now, leaseOwner: null, leaseExpiresAt: null };
        const until = new Date(now.getTime() + callLeaseMs(v.policy));
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
    const toSubmit = leasedDeletions(created, revocation, regime.regime);
    log.info(
      {
        event: 'revocation_recorded',
        customerId: revocation.customerId,
        requestId: created.requestId,
        revokedAt: revocation.revokedAt,
        deadlineAt: created.deadlineAt.toISOString(),
        regime: regime.regime,
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
  };
}
