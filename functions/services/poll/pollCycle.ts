import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { forcedPollOf, type ForcedPoll, type PollMessage } from '../../domain/pollMessage.js';
import { InvalidInputError } from '../../errors.js';
import { hasDueWork } from '../../store/hasDueWork.js';
import { readVendorPauses } from '../../store/readVendorPauses.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import type { Publisher } from '../publisher.js';
import { createCallbackCheck } from './callbackCheck.js';
import { createAlertRaiser } from '../raiseAlerts.js';
import { realSleep, type Sleep } from '../rateLimiter.js';
import type { SubmitPort } from '../submitDeletions.js';
import { runClaims } from './claimLoop.js';
import { checkContractsIfDue } from './contractCheckStep.js';
import type { CycleContext } from './context.js';
import { loadIncidents } from './incidents.js';
import { emptyReport, type CycleReport } from './report.js';
import { createResultWriter } from './results.js';
import { createSubjectQuotas } from './subjectQuota.js';
import { createVendorGate } from './vendorGate.js';
import { createHolds } from './holds.js';
import { holdKeysOf } from '../vendorHolds.js';
import { createInFlightSizer } from './inFlight.js';
import { sealEventLog, unsealedTail } from '../../store/sealEventLog.js';
import { createCheckRound, type CheckRound } from '../../vendors/DeletionVendor.js';
import { createClaimWorker } from './workClaim.js';

export type { CycleReport } from './report.js';
export type { SubmitPort } from '../submitDeletions.js';

export interface PollCycleDeps {
  pool: pg.Pool;
  vendors: DeletionVendor[];
  publisher: Publisher;
  log: Logger;
  clock: Clock;
  /** `contractCheck` and `vendors` (their settings) turn on the daily live contract check; without them it is off. */
  config: Pick<Config, 'topics' | 'poller' | 'alerts' | 'deadline'> & Partial<Pick<Config, 'contractCheck' | 'vendors' | 'failures' | 'callbacks'>>;
  /** Submits queued deletions; without it queued rows are left for the ingest (logged once per cycle). */
  submitter?: SubmitPort;
  /** Waiting for rate tokens; tests pass one that moves a fake clock. */
  sleep?: Sleep;
  /** Names this instance in leases (diagnostics only). */
  instance?: string;
}

/** An unsealed event older than this after the cycle's sealing is reported (event_log_sealing_behind). */
export const SEALING_BEHIND_MS = 15 * 60_000;

/** Time kept back from the budget for the last writes, the continuation and alerts. */
const BUDGET_MARGIN_FRACTION = 0.1;

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
  const holdKeys = holdKeysOf(config);
  const gate = createVendorGate({ pool, log, clock, sleep, vendors });
  const inFlight = createInFlightSizer({
    clock,
    onChange: (vendor, limit) => log.debug({ event: 'vendor_in_flight', vendor, limit, latencyMs: inFlight.latencyMs(vendor) }, 'calls in flight resized'),
  });
  const policies = vendors.map((v) => ({ vendor: v.name, expectedDurationMs: v.policy.expectedDurationMs, noProgressMs: v.policy.noProgressMs }));
  const alerts = createAlertRaiser({ pool, publisher, log, clock, config, policies });
  const callbacks = createCallbackCheck({ pool, vendors: config.callbacks?.vendors ?? [] });
  // A claim holds at least one full vendor batch: claiming fewer rows than a vendor takes per call would
  // spend its scarce requests (Mixpanel: 1 a second) on part-filled batches.
  const batchSize = Math.max(config.poller.batchSize, ...vendors.map((v) => v.policy.maxBatchSize));

  function forcedOf(message: PollMessage): ForcedPoll | null {
    const forced = forcedPollOf(message);
    const unknown = forced?.vendors?.filter((v) => !byName.has(v)) ?? [];
    if (unknown.length) {
      throw new InvalidInputError(`vendors: ${unknown.map((v) => JSON.stringify(v)).join(', ')} not configured (configured: ${[...byName.keys()].join(', ')})`);
    }
    return forced;
  }

  async function run(message: PollMessage): Promise<CycleReport> {
    const start = clock.now();
    const budgetMs = config.poller.timeBudgetMs;
    const owner = `${instance}:${randomUUID()}`;
    const report = emptyReport();
    const forced = forcedOf(message);
    // Stop claiming once most of the budget is gone; calls already started still finish inside it.
    const callDeadline = new Date(start.getTime() + budgetMs * (1 - BUDGET_MARGIN_FRACTION / 2));
    const cycleGate = gate.forCycle(callDeadline, await readVendorPauses(pool, start));
    const incidents = await loadIncidents({ pool, log, clock });
    const results = createResultWriter({ pool, log, clock, owner, report });
    const quotas = createSubjectQuotas({ pool, log, clock, incidents, results });
    await quotas.review(vendors);
    const holds = createHolds({ pool, log, clock, incidents, keyOf: holdKeys, policy: config.failures?.massRefusal });
    const rounds = new Map<string, CheckRound>();
    const round = (vendor: string) => rounds.get(vendor) ?? rounds.set(vendor, createCheckRound()).get(vendor)!;
    const ctx: CycleContext = { log, clock, report, gate: cycleGate, incidents, holds, results, quotas, round, callbacks };
    const worker = createClaimWorker(ctx, { byName, submitter: deps.submitter, inFlight });
    await runClaims(ctx, {
      pool,
      sleep,
      owner,
      batchSize,
      leaseMs: config.poller.leaseMs,
      stopClaimingAt: new Date(start.getTime() + budgetMs * (1 - BUDGET_MARGIN_FRACTION)),
      forced,
      work: worker.work,
    });
    await sealEvents(callDeadline);
    const left = worker.skipped.queuedWithoutSubmitter;
    if (left) log.warn({ event: 'queued_without_submitter', count: left }, 'queued deletions were left: no submitter configured');
    report.pausedVendors = cycleGate.stopped();
    await continueIfDue(ctx, message);
    if (!message.continuation && config.contractCheck && config.vendors) {
      await checkContractsIfDue(ctx, { pool, configs: config.vendors, intervalMs: config.contractCheck.intervalMs });
    }
    // A chain of continuations (a mass revocation being worked through) leaves alerts to the scheduled
    // ticks. The scan of unfinished deletions runs on its own schedule; open vendor incidents are raised
    // (or escalated) whenever this cycle knows of one.
    // A failed verification is scanned at once (verification_failed), not at the next scheduled scan; so is a
    // vendor's new completion date (deadline_at_risk), whoever stored it (the raiser looks for one).
    report.alerts = message.continuation
      ? null
      : await alerts.raise({ incidentsOpen: ctx.incidents.anyOpen(), scanNow: report.verificationFailed > 0 });
    log.info({ event: 'poll_cycle_done', reason: message.reason, ...summary(report), elapsedMs: clock.now().getTime() - start.getTime() }, 'poll cycle done');
    return report;
  }

  /**
   * Links this and every other function's new events to the hash chain (one sealer at a time across pollers).
   * Appends never wait for it: the chain is off their commit path. A tail left older than SEALING_BEHIND_MS
   * (a backlog the cycle could not finish, or a sealer stuck elsewhere) is logged at ERROR for the monitoring.
   */
  async function sealEvents(until: Date): Promise<void> {
    const sealed = await sealEventLog(pool, { until, now: () => clock.now() });
    const tail = await unsealedTail(pool);
    const ageMs = tail.oldestAt ? clock.now().getTime() - tail.oldestAt.getTime() : 0;
    if (sealed > 0) log.info({ event: 'event_log_sealed', sealed, unsealed: tail.entries }, 'events linked to the hash chain');
    if (tail.entries > 0 && ageMs > SEALING_BEHIND_MS) {
      log.error(
        { event: 'event_log_sealing_behind', unsealed: tail.entries, oldestAt: tail.oldestAt?.toISOString(), ageMs },
        `${tail.entries} event(s) not yet linked to the hash chain, the oldest ${Math.round(ageMs / 60_000)} min old`,
      );
    }
  }

  /** Due work left when the budget ran out is handed on to a continuation message. */
  async function continueIfDue(ctx: CycleContext, message: PollMessage): Promise<void> {
    if (!ctx.report.stoppedByBudget || !(await hasDueWork(pool, { now: clock.now(), vendors: ctx.gate.active() }))) return;
    const next = (message.continuation ?? 0) + 1;
    await publisher.publish(config.topics.poll, { reason: 'continuation: due work remained when the time budget ran out', continuation: next });
    ctx.report.continuationPublished = true;
    log.info({ event: 'poll_continued', continuation: next }, 'due work remains; continuation published');
  }

  return { run };
}

/** The report as logged: alerts by count. */
function summary(report: CycleReport) {
  const a = report.alerts;
  return { ...report, alerts: a ? { ran: a.ran, scanned: a.scanned, published: a.published.length, failed: a.failed } : null };
}
