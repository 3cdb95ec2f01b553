import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import type { DeletionVendor, OperationToCheck, StatusReport } from '../vendors/DeletionVendor.js';
import {
  VendorAuthError,
  VendorContractError,
  VendorError,
  VendorRateLimitedError,
  VendorRejectedError,
} from '../vendors/errors.js';
import type { Publisher } from './publisher.js';
import { createCallPacer, createDailyQuota, realSleep, type CallPacer, type CallSlot, type RateBudget, type Sleep } from './rateLimiter.js';
import { createAlertRaiser, type RaiseResult } from './raiseAlerts.js';
import { nextCheckAt } from '../domain/backoff.js';
import { expectedCompletion } from '../domain/staleness.js';
import { forcedPollOf, type PollMessage } from '../domain/pollMessage.js';
import { claimDue, type ClaimedDeletion } from '../store/claimDue.js';
import { claimForced } from '../store/claimForced.js';
import { hasDueWork } from '../store/hasDueWork.js';
import { recordStatuses, type StatusEvent, type StatusUpdate } from '../store/recordStatuses.js';
import { releaseClaims } from '../store/releaseClaims.js';
import { readVendorPauses } from '../store/vendorPauses.js';
import { pauseVendor } from '../store/pauseVendor.js';
import { openVendorIncident, type VendorIncidentKind } from '../store/openVendorIncident.js';
import { closeVendorIncidents } from '../store/closeVendorIncidents.js';
import { readOpenVendorIncidents } from '../store/readVendorIncidents.js';

/** The submission port (services/submitDeletions.ts): records results itself and returns vendor faults. */
export interface SubmitPort {
  submit(
    vendor: DeletionVendor,
    rows: Array<{ deletionId: string; customerId: string; idempotencyKey: string }>,
  ): Promise<{
    submitted: Array<{ deletionId: string }>;
    failed: Array<{ deletionId: string }>;
    error?: { kind: string; error: Error; retryAfterMs?: number };
    skipped: string[];
  }>;
}

export interface PollCycleDeps {
  pool: pg.Pool;
  vendors: DeletionVendor[];
  publisher: Publisher;
  log: Logger;
  clock: Clock;
  config: Pick<Config, 'topics' | 'poller' | 'alerts' | 'deadline'>;
  /** Submits queued deletions; without it queued rows are left for the ingest (logged once per cycle). */
  submitter?: SubmitPort;
  /** Waiting for rate tokens; tests pass one that moves a fake clock. */
  sleep?: Sleep;
  /** Names this instance in leases (diagnostics only). */
  instance?: string;
}

/** What one cycle did, for logs and tests. */
export interface CycleReport {
  claimed: number;
  submitted: number;
  checked: number;
  completed: number;
  verified: number;
  resubmitted: number;
  errors: number;
  /** Rows handed back unworked (time budget, vendor pause, quota). */
  released: number;
  pausedVendors: string[];
  stoppedByBudget: boolean;
  continuationPublished: boolean;
  alerts: RaiseResult | null;
}

/** Time kept back from the budget for the last writes, the continuation and alerts. */
const BUDGET_MARGIN_FRACTION = 0.1;
/**
 * The longest vendor pause (429 Retry-After) a cycle waits out instead of leaving the vendor's work to the
 * next scheduled tick: a sliding window frees within seconds, while a long pause is not worth an idle
 * function instance (nor worth a continuation, which Pub/Sub would deliver at once, not when it ends).
 */
const MAX_PAUSE_WAIT_MS = 30_000;
const TERMINAL_ROW_STATES = new Set(['completed', 'cancelled', 'error']);

function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 1000) : String(err).slice(0, 1000);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  const n = Math.max(1, Math.floor(size));
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/** Status results collected across one claim's check calls, written together. */
interface Results {
  updates: StatusUpdate[];
  events: StatusEvent[];
}

/**
 * Check batches of one vendor. Where one call reads a whole job (vendor.jobOf), a batch holds one job's
 * operations only, so it costs exactly the one call its rate-budget token pays for; mixing jobs would
 * make one batch several calls at once and overrun a limit of one call a second.
 */
function checkBatches(vendor: DeletionVendor, rows: ClaimedDeletion[]): ClaimedDeletion[][] {
  const size = vendor.policy.maxBatchSize;
  if (!vendor.jobOf) return chunks(rows, size);
  const byJob = new Map<string, ClaimedDeletion[]>();
  for (const row of rows) {
    const job = vendor.jobOf(toOperation(row));
    const list = byJob.get(job) ?? [];
    list.push(row);
    byJob.set(job, list);
  }
  return [...byJob.values()].flatMap((list) => chunks(list, size));
}

function toOperation(row: ClaimedDeletion): OperationToCheck {
  return {
    deletionId: row.deletionId,
    customerId: row.customerId,
    ref: row.operationRef ?? {},
    operationId: row.operationId ?? '',
    submittedAt: row.submittedAt ?? row.queuedAt,
  };
}

/**
 * The poller's cycle: claims due deletions (or those a forced poll names) under a lease, submits queued
 * ones through the submitter, checks the status of submitted ones in batches with bounded concurrency and
 * a per-vendor rate budget, records each batch in one statement, schedules the next check with backoff,
 * stops before the time budget and hands the rest on with a continuation message, then raises alerts.
 * Vendor faults are recorded on the rows and never thrown; database faults are thrown (the platform retries).
 */
export function createPollCycle(deps: PollCycleDeps): { run(message: PollMessage): Promise<CycleReport> } {
  const { pool, vendors, publisher, log, clock, config } = deps;
  const sleep = deps.sleep ?? realSleep;
  const instance = deps.instance ?? `${hostname()}:${process.pid}`;
  const byName = new Map(vendors.map((v) => [v.name, v]));
  // Pacers live as long as the instance, so a warm instance keeps pacing across cycles. A sliding window
  // like the vendors' own: N a second means N in any second, never N + a refill in the first.
  const pacers = new Map<string, CallPacer>();
  const submitQuotas = new Map<string, RateBudget>();
  for (const v of vendors) {
    pacers.set(v.name, createCallPacer({ perSecond: v.policy.requestsPerSecond, clock, sleep }));
    if (v.policy.dailySubmitQuota) submitQuotas.set(v.name, createDailyQuota({ perDay: v.policy.dailySubmitQuota, clock }));
  }
  const alerts = createAlertRaiser({
    pool,
    publisher,
    log,
    clock,
    config,
    policies: vendors.map((v) => ({
      vendor: v.name,
      expectedDurationMs: v.policy.expectedDurationMs,
      noProgressMs: v.policy.noProgressMs,
    })),
  });

  async function run(message: PollMessage): Promise<CycleReport> {
    const start = clock.now();
    const budgetMs = config.poller.timeBudgetMs;
    // Stop claiming once most of the budget is gone; calls already started still finish inside it.
    const stopClaimingAt = new Date(start.getTime() + budgetMs * (1 - BUDGET_MARGIN_FRACTION));
    const callDeadline = new Date(start.getTime() + budgetMs * (1 - BUDGET_MARGIN_FRACTION / 2));
    const owner = `${instance}:${randomUUID()}`;
    const report: CycleReport = {
      claimed: 0,
      submitted: 0,
      checked: 0,
      completed: 0,
      verified: 0,
      resubmitted: 0,
      errors: 0,
      released: 0,
      pausedVendors: [],
      stoppedByBudget: false,
      continuationPublished: false,
      alerts: null,
    };

    const forced = forcedPollOf(message);
    if (forced?.vendors) {
      const unknown = forced.vendors.filter((v) => !byName.has(v));
      if (unknown.length) {
        throw new InvalidInputError(`vendors: ${unknown.map((v) => JSON.stringify(v)).join(', ')} not configured (configured: ${[...byName.keys()].join(', ')})`);
      }
    }

    const pauses = await readVendorPauses(pool, start);
    const openIncidents = new Map<string, Set<string>>();
    for (const i of await readOpenVendorIncidents(pool)) {
      const set = openIncidents.get(i.vendor) ?? new Set<string>();
      set.add(i.kind);
      openIncidents.set(i.vendor, set);
    }
    /** Vendors not to call again this cycle, with when they may be called (pause end, or now). */
    const stopped = new Map<string, Date>();
    /** Vendors paused (429) until a time within this cycle's budget: their calls wait for it. */
    const pausedUntil = new Map<string, Date>();
    const waitable = (until: Date) => until <= callDeadline && until.getTime() - clock.now().getTime() <= MAX_PAUSE_WAIT_MS;
    for (const [vendor, until] of pauses) {
      if (waitable(until)) pausedUntil.set(vendor, until);
      else stopped.set(vendor, until);
      log.info({ event: 'vendor_paused', vendor, until: until.toISOString() }, 'vendor is paused; its work waits');
    }
    const activeVendors = () => vendors.map((v) => v.name).filter((n) => !stopped.has(n));
    /** Rows handed back for a pause this cycle waits out: claimed again when it ends, not taken for loops. */
    const waitingOut = new Set<string>();

    /** A 429: every poller honours the pause; this cycle waits it out when it ends within the budget. */
    async function paused(
      vendor: DeletionVendor,
      rows: ClaimedDeletion[],
      retryAfterMs: number,
      reason: string,
      toRelease: ClaimedDeletion[] = rows,
    ): Promise<void> {
      const now = clock.now();
      const until = new Date(now.getTime() + retryAfterMs);
      await pauseVendor(pool, { vendor: vendor.name, until, reason, now });
      const later = pausedUntil.get(vendor.name);
      if (!waitable(until)) stopped.set(vendor.name, until);
      else if (!later || later < until) pausedUntil.set(vendor.name, until);
      log.warn(
        { event: 'vendor_rate_limited', vendor: vendor.name, retryAfterMs, until: until.toISOString(), waitedOut: !stopped.has(vendor.name) },
        'vendor answered 429; pausing it',
      );
      if (!stopped.has(vendor.name)) for (const r of rows) waitingOut.add(r.deletionId);
      await release(toRelease, until);
    }

    /**
     * A slot for one call to `vendor`: waits out a pause that ends within the budget, then the vendor's
     * pace (and, for a submission, its daily quota). Null when the vendor is stopped or the budget is spent.
     */
    async function slotFor(vendor: DeletionVendor, what: 'call' | 'submit'): Promise<CallSlot | null> {
      if (stopped.has(vendor.name)) return null;
      const until = pausedUntil.get(vendor.name);
      if (until && until > clock.now()) await sleep(until.getTime() - clock.now().getTime());
      if (stopped.has(vendor.name) || clock.now() >= callDeadline) return null;
      const quota = what === 'submit' ? submitQuotas.get(vendor.name) : undefined;
      if (quota && !(await quota.take(1, callDeadline))) return null;
      return pacers.get(vendor.name)!.acquire(callDeadline);
    }

    let queuedWithoutSubmitter = 0;

    // ---- writing results ----------------------------------------------------------------------------
    async function write(updates: StatusUpdate[], events: StatusEvent[]): Promise<void> {
      if (updates.length === 0) return;
      const { written } = await recordStatuses(pool, { now: clock.now(), owner, updates, events });
      if (written.size < updates.length) {
        log.warn(
          { event: 'lease_lost', lost: updates.filter((u) => !written.has(u.deletionId)).map((u) => u.deletionId) },
          'some claimed deletions were taken over by another poller before their results were written; their results were dropped',
        );
      }
    }

    async function release(rows: ClaimedDeletion[], dueAt: Date): Promise<void> {
      if (rows.length === 0) return;
      report.released += await releaseClaims(pool, { now: clock.now(), owner, deletionIds: rows.map((r) => r.deletionId), dueAt });
    }

    async function incident(vendor: DeletionVendor, kind: VendorIncidentKind, detail: string): Promise<void> {
      await openVendorIncident(pool, { vendor: vendor.name, kind, detail, now: clock.now() });
      const set = openIncidents.get(vendor.name) ?? new Set<string>();
      set.add(kind);
      openIncidents.set(vendor.name, set);
    }

    /** The vendor answered in its contract: its incidents are over. */
    async function answeredWell(vendor: DeletionVendor): Promise<void> {
      const open = openIncidents.get(vendor.name);
      if (!open || open.size === 0) return;
      const kinds = [...open];
      open.clear();
      const closed = await closeVendorIncidents(pool, { vendor: vendor.name, kinds, now: clock.now() });
      if (closed.length) log.info({ event: 'vendor_incident_closed', vendor: vendor.name, kinds: closed }, 'vendor answers well again');
    }

    function schedule(vendor: DeletionVendor, row: ClaimedDeletion, checks: number, expectedBy: Date | null): Date {
      const now = clock.now();
      const expected =
        expectedBy ??
        expectedCompletion(vendor.policy, {
          queuedAt: row.queuedAt,
          submittedAt: row.submittedAt,
          expectedBy: row.expectedBy,
          statusChangedAt: row.statusChangedAt,
        });
      return nextCheckAt(vendor.policy, { checkCount: checks, expectedBy: expected, now });
    }

    // ---- a vendor fault on a batch ------------------------------------------------------------------
    async function vendorFault(vendor: DeletionVendor, rows: ClaimedDeletion[], err: unknown, what: 'check' | 'verify'): Promise<void> {
      const now = clock.now();
      const operations = rows.map((r) => r.operationId);
      if (err instanceof VendorRateLimitedError) return paused(vendor, rows, err.retryAfterMs, describe(err));
      report.errors += rows.length;
      let kind: string;
      let state: StatusUpdate['state'] = null;
      let eventKind: StatusEvent['kind'] = 'error';
      let next: (r: ClaimedDeletion) => Date | null = (r) => schedule(vendor, r, r.checkCount + 1, null);
      if (err instanceof VendorContractError) {
        kind = 'contract_violation';
        eventKind = 'contract_violation';
        // Error Reporting picks the stack from `err`; the vendor and operations label the entry.
        log.error(
          {
            event: 'vendor_contract_violation',
            err,
            vendor: vendor.name,
            call: what,
            operationId: operations[0] ?? null,
            operationIds: operations,
            sample: err.sample,
          },
          `${vendor.name} broke its API contract: ${err.problem}`,
        );
        await incident(vendor, 'contract_violation', `${err.problem}; sample: ${err.sample}`);
      } else if (err instanceof VendorAuthError) {
        kind = 'credential_rejected';
        log.error({ event: 'vendor_credential_rejected', err, vendor: vendor.name, status: err.status }, `${vendor.name} rejected the credential`);
        await incident(vendor, 'credential_rejected', describe(err));
        // Every further call would be refused too: stop this vendor for the cycle.
        stopped.set(vendor.name, now);
      } else if (err instanceof VendorRejectedError && what === 'check') {
        // The vendor will answer the same every time (unknown operation, 404 after its retention): a person decides.
        kind = 'rejected';
        state = 'error';
        next = () => null;
        log.error({ event: 'vendor_rejected', err, vendor: vendor.name, operationIds: operations }, `${vendor.name} rejected a status request`);
      } else {
        kind = 'transient';
        next = (r) => new Date(now.getTime() + vendor.policy.minCheckIntervalMs * Math.min(2 ** Math.max(0, r.checkCount - 1), 8));
        log.warn({ event: 'vendor_call_failed', err, vendor: vendor.name, call: what, operationIds: operations }, `${vendor.name} ${what} failed; will retry`);
      }
      const message = describe(err);
      await write(
        rows.map((r) => ({
          deletionId: r.deletionId,
          state,
          rawStatus: null,
          payload: null,
          nextCheckAt: next(r),
          completedAt: null,
          verifiedAt: null,
          expectedBy: null,
          checked: false,
          statusChanged: false,
          lastError: message,
          lastErrorKind: kind,
          resubmit: false,
        })),
        rows.map((r) => ({
          deletionId: r.deletionId,
          kind: eventKind,
          detail: {
            errorKind: kind,
            message,
            operationId: r.operationId,
            ...(err instanceof VendorContractError ? { sample: err.sample } : {}),
            ...(err instanceof VendorError && err.status !== undefined ? { httpStatus: err.status } : {}),
          },
        })),
      );
    }

    // ---- status checks --------------------------------------------------------------------------------
    async function checkBatch(vendor: DeletionVendor, rows: ClaimedDeletion[], sink: Results): Promise<void> {
      const slot = await slotFor(vendor, 'call');
      if (!slot) {
        if (stopped.has(vendor.name)) return release(rows, stopped.get(vendor.name)!);
        report.stoppedByBudget = true;
        return release(rows, clock.now());
      }
      let reports: Map<string, StatusReport>;
      try {
        reports = await vendor.checkStatus(rows.map(toOperation));
      } catch (err) {
        slot.done();
        return vendorFault(vendor, rows, err, 'check');
      }
      slot.done();
      await answeredWell(vendor);
      const updates: StatusUpdate[] = [];
      const events: StatusEvent[] = [];
      const now = clock.now();
      for (const row of rows) {
        const status = reports.get(row.deletionId);
        if (!status) {
          // Not read this time: look again at the next step of the schedule, nothing changes.
          updates.push(blank(row, { nextCheckAt: schedule(vendor, row, row.checkCount + 1, null) }));
          continue;
        }
        report.checked += 1;
        const changed = status.rawStatus !== row.rawStatus;
        if (changed) {
          events.push({
            deletionId: row.deletionId,
            kind: 'status_seen',
            detail: { rawStatus: status.rawStatus, state: status.state, operationId: row.operationId, payload: status.payload ?? null },
          });
        }
        const base: StatusUpdate = {
          ...blank(row, {}),
          rawStatus: status.rawStatus,
          payload: status.payload ?? null,
          checked: true,
          statusChanged: changed,
          expectedBy: status.expectedCompletionAt ?? null,
        };
        switch (status.state) {
          case 'completed': {
            report.completed += 1;
            let verifiedAt: Date | null = null;
            events.push({ deletionId: row.deletionId, kind: 'completed', detail: { rawStatus: status.rawStatus, operationId: row.operationId } });
            const verifySlot = vendor.verify ? await slotFor(vendor, 'call') : null;
            if (vendor.verify && verifySlot) {
              try {
                if (await vendor.verify(toOperation(row)).finally(() => verifySlot.done())) {
                  verifiedAt = clock.now();
                  report.verified += 1;
                  events.push({ deletionId: row.deletionId, kind: 'verified', detail: { operationId: row.operationId } });
                }
              } catch (err) {
                // Completion stands on the vendor's word; a failed verification is recorded, not retried forever.
                log.warn({ event: 'verify_failed', err, vendor: vendor.name, operationId: row.operationId }, 'verification failed');
              }
            }
            updates.push({ ...base, state: 'completed', completedAt: now, verifiedAt, nextCheckAt: null });
            break;
          }
          case 'failed': {
            const again = row.submitAttempts < vendor.policy.maxSubmitAttempts;
            events.push({
              deletionId: row.deletionId,
              kind: 'failed',
              detail: { rawStatus: status.rawStatus, operationId: row.operationId, detail: status.detail ?? null, attempt: row.submitAttempts },
            });
            if (again) {
              report.resubmitted += 1;
              events.push({ deletionId: row.deletionId, kind: 'retried', detail: { attempt: row.submitAttempts + 1, previousOperationId: row.operationId } });
              updates.push({ ...base, state: 'queued', nextCheckAt: now, resubmit: true, lastError: status.detail ?? `vendor reported ${status.rawStatus}`, lastErrorKind: 'failed' });
            } else {
              report.errors += 1;
              events.push({ deletionId: row.deletionId, kind: 'error', detail: { reason: 'submission attempts exhausted', attempts: row.submitAttempts } });
              updates.push({ ...base, state: 'error', nextCheckAt: null, lastError: status.detail ?? `vendor reported ${status.rawStatus}`, lastErrorKind: 'failed' });
            }
            break;
          }
          case 'cancelled':
            events.push({ deletionId: row.deletionId, kind: 'cancelled', detail: { rawStatus: status.rawStatus, operationId: row.operationId } });
            updates.push({ ...base, state: 'cancelled', nextCheckAt: null });
            break;
          case 'error':
            report.errors += 1;
            events.push({ deletionId: row.deletionId, kind: 'error', detail: { rawStatus: status.rawStatus, detail: status.detail ?? null } });
            updates.push({ ...base, state: 'error', nextCheckAt: null, lastError: status.detail ?? `vendor reported ${status.rawStatus}`, lastErrorKind: 'vendor_error' });
            break;
          default:
            updates.push({
              ...base,
              state: status.state,
              nextCheckAt: schedule(vendor, row, row.checkCount + 1, status.expectedCompletionAt ?? null),
            });
        }
      }
      sink.updates.push(...updates);
      sink.events.push(...events);
    }

    function blank(row: ClaimedDeletion, over: Partial<StatusUpdate>): StatusUpdate {
      return {
        deletionId: row.deletionId,
        state: null,
        rawStatus: null,
        payload: null,
        nextCheckAt: null,
        completedAt: null,
        verifiedAt: null,
        expectedBy: null,
        checked: false,
        statusChanged: false,
        lastError: null,
        lastErrorKind: null,
        resubmit: false,
        ...over,
      };
    }

    // ---- submissions ----------------------------------------------------------------------------------
    async function submitBatch(vendor: DeletionVendor, rows: ClaimedDeletion[]): Promise<void> {
      if (stopped.has(vendor.name)) return release(rows, stopped.get(vendor.name)!);
      if (!deps.submitter) {
        queuedWithoutSubmitter += rows.length;
        return release(rows, new Date(clock.now().getTime() + vendor.policy.minCheckIntervalMs));
      }
      const slot = await slotFor(vendor, 'submit');
      if (!slot) {
        if (stopped.has(vendor.name)) return release(rows, stopped.get(vendor.name)!);
        report.stoppedByBudget = true;
        return release(rows, clock.now());
      }
      // The pace counts from the end of the vendor's create call, not from the end of recording its result.
      const paced: DeletionVendor = Object.assign(Object.create(vendor) as DeletionVendor, {
        submit: (subjects: Parameters<DeletionVendor['submit']>[0]) => vendor.submit(subjects).finally(() => slot.done()),
      });
      const outcome = await deps.submitter
        .submit(
          paced,
          rows.map((r) => ({ deletionId: r.deletionId, customerId: r.customerId, idempotencyKey: r.idempotencyKey, revokedAt: r.revokedAt })),
        )
        .finally(() => slot.done());
      report.submitted += outcome.submitted.length;
      const error = outcome.error;
      if (!error) {
        await answeredWell(vendor);
      } else if (error.kind === 'rate_limited') {
        // Rows the submitter did not record go back due when the pause ends.
        const done = new Set([...outcome.submitted, ...outcome.failed].map((r) => r.deletionId));
        const retryAfterMs = error.retryAfterMs ?? vendor.policy.minCheckIntervalMs;
        return paused(vendor, rows, retryAfterMs, describe(error.error), rows.filter((r) => !done.has(r.deletionId)));
      } else if (error.kind === 'auth') {
        await incident(vendor, 'credential_rejected', describe(error.error));
        stopped.set(vendor.name, clock.now());
      } else if (error.kind === 'contract') {
        log.error({ event: 'vendor_contract_violation', err: error.error, vendor: vendor.name, call: 'submit', deletionIds: rows.map((r) => r.deletionId) }, `${vendor.name} broke its API contract on submit`);
        await incident(vendor, 'contract_violation', describe(error.error));
      }
      // The submitter clears the leases it wrote; anything it did not touch goes back as it was.
      await release(rows, clock.now());
    }

    // ---- one claimed batch across vendors -------------------------------------------------------------
    // Vendor calls of consecutive claims share one concurrency limit per vendor, so the next claim's calls
    // queue behind the current one's and the vendor never waits on our claim and write round trips.
    const limits = new Map<string, LimitFunction>();
    const limitOf = (vendor: DeletionVendor) => {
      let limit = limits.get(vendor.name);
      if (!limit) limits.set(vendor.name, (limit = pLimit(Math.max(1, vendor.policy.concurrency))));
      return limit;
    };

    /** Works one claim: `started` once every vendor call of it has begun, `done` once its results are written. */
    function work(claimed: ClaimedDeletion[]): { started: Promise<void>; done: Promise<void> } {
      const byVendor = new Map<string, ClaimedDeletion[]>();
      for (const row of claimed) {
        const list = byVendor.get(row.vendor) ?? [];
        list.push(row);
        byVendor.set(row.vendor, list);
      }
      const plans = [...byVendor].map(([name, rows]) => {
        const vendor = byName.get(name);
        const queued = rows.filter((r) => r.state === 'queued');
        const toCheck = rows.filter((r) => r.state === 'submitted' || r.state === 'in_progress' || r.state === 'failed');
        return {
          vendor,
          rows,
          submits: vendor ? chunks(queued, vendor.policy.maxBatchSize) : [],
          checks: vendor ? checkBatches(vendor, toCheck) : [],
        };
      });
      let toStart = plans.reduce((n, p) => n + p.submits.length + p.checks.length, 0);
      let markStarted!: () => void;
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      if (toStart === 0) markStarted();
      const begin = () => {
        toStart -= 1;
        if (toStart === 0) markStarted();
      };
      const done = Promise.allSettled(
        plans.map(async ({ vendor, rows, submits, checks }) => {
          if (!vendor) return release(rows, clock.now());
          const limit = limitOf(vendor);
          // Status results of the whole claim are written in one statement: a vendor checked one operation
          // per call must not cost one statement per operation.
          const results: Results = { updates: [], events: [] };
          const tasks = [
            ...submits.map((batch) => limit(() => (begin(), submitBatch(vendor, batch)))),
            ...checks.map((batch) => limit(() => (begin(), checkBatch(vendor, batch, results)))),
          ];
          const finished = rows.filter((r) => TERMINAL_ROW_STATES.has(r.state));
          // A finished row with a check still scheduled is left over from elsewhere: nothing more is due.
          const settled = await Promise.allSettled([finished.length ? write(finished.map((r) => blank(r, {})), []) : undefined, ...tasks]);
          await write(results.updates, results.events);
          const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
          if (failure) throw failure.reason;
        }),
      ).then((results) => {
        markStarted();
        const failure = results.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failure) throw failure.reason;
      });
      return { started, done };
    }

    // ---- the cycle ------------------------------------------------------------------------------------
    // A claim holds at least one full vendor batch: claiming fewer rows than a vendor takes per call would
    // spend its scarce requests (Mixpanel: 1 a second) on part-filled batches.
    const batchSize = Math.max(config.poller.batchSize, ...vendors.map((v) => v.policy.maxBatchSize));
    let forcedLeft = forced !== null;
    const worked = new Set<string>();
    // At most two claims are held: the one whose last calls are in flight and the next one.
    let draining: Promise<void> | null = null;
    try {
      for (;;) {
        if (clock.now().getTime() >= stopClaimingAt.getTime()) {
          report.stoppedByBudget = true;
          break;
        }
        const names = activeVendors();
        if (names.length === 0) break;
        let claimed: ClaimedDeletion[];
        if (forcedLeft && forced) {
          claimed = await claimForced(pool, {
            now: clock.now(),
            limit: batchSize,
            owner,
            vendors: forced.vendors ? names.filter((n) => forced.vendors!.includes(n)) : names,
            leaseMs: config.poller.leaseMs,
            customerIds: forced.customerIds,
            operationIds: forced.operationIds,
          });
          // One forced pass: what it checked now has a later next check and must not be claimed again.
          forcedLeft = false;
          log.info({ event: 'forced_poll', ...forced, claimed: claimed.length }, 'forced poll');
        } else {
          claimed = await claimDue(pool, { now: clock.now(), limit: batchSize, owner, vendors: names, leaseMs: config.poller.leaseMs });
          if (claimed.length === 0) {
            if (draining) {
              // The claim in flight may still hand rows back (a 429 waited out): look again once it is done.
              await draining;
              draining = null;
              continue;
            }
            // Rows handed back for a pause that ends within the budget are claimed again when it ends.
            const waits = names.filter((n) => (pausedUntil.get(n)?.getTime() ?? 0) > clock.now().getTime());
            const resume = Math.max(...waits.map((n) => pausedUntil.get(n)!.getTime()), 0);
            if (waitingOut.size > 0 && waits.length > 0 && resume < stopClaimingAt.getTime()) {
              await sleep(resume - clock.now().getTime());
              // Waited once: a pause is not waited for twice (the clock is the judge of whether it is over).
              for (const n of waits) pausedUntil.delete(n);
              continue;
            }
            break;
          }
          // Rows this cycle already worked and scheduled for "now" again (a resubmission) are left for
          // the next cycle rather than looping on them.
          if (claimed.every((r) => worked.has(r.deletionId) && !waitingOut.has(r.deletionId))) {
            await release(claimed, clock.now());
            break;
          }
        }
        for (const r of claimed) {
          worked.add(r.deletionId);
          waitingOut.delete(r.deletionId);
        }
        report.claimed += claimed.length;
        const current = work(claimed);
        if (draining) await draining;
        draining = current.done;
        // Claim the next batch as soon as this one's last calls have started.
        await Promise.race([current.started, current.done]);
        if (report.stoppedByBudget) break;
      }
    } finally {
      // Never leave a claim's writes behind, even when a claim or write failed.
      if (draining) await draining;
    }

    if (queuedWithoutSubmitter) log.warn({ event: 'queued_without_submitter', count: queuedWithoutSubmitter }, 'queued deletions were left: no submitter configured');
    report.pausedVendors = [...stopped.keys()];

    if (report.stoppedByBudget && (await hasDueWork(pool, { now: clock.now(), vendors: activeVendors() }))) {
      const next = (message.continuation ?? 0) + 1;
      await publisher.publish(config.topics.poll, { reason: 'continuation: due work remained when the time budget ran out', continuation: next });
      report.continuationPublished = true;
      log.info({ event: 'poll_continued', continuation: next }, 'due work remains; continuation published');
    }

    // A chain of continuations (a mass revocation being worked through) leaves alerts to the scheduled
    // ticks. The scan of unfinished deletions runs on its own schedule; open vendor incidents are raised
    // (or escalated) whenever this cycle knows of one.
    const incidentsOpen = [...openIncidents.values()].some((kinds) => kinds.size > 0);
    report.alerts = message.continuation ? null : await alerts.raise({ incidentsOpen });
    log.info(
      {
        event: 'poll_cycle_done',
        reason: message.reason,
        ...report,
        alerts: report.alerts
          ? { ran: report.alerts.ran, scanned: report.alerts.scanned, published: report.alerts.published.length, failed: report.alerts.failed }
          : null,
        elapsedMs: clock.now().getTime() - start.getTime(),
      },
      'poll cycle done',
    );
    return report;
  }

  return { run };
}
