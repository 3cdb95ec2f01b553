import pLimit, { type LimitFunction } from 'p-limit';
import { toOperation, type ClaimedDeletion } from '../../domain/deletion.js';
import { isTerminal } from '../../domain/states.js';
import { settled } from '../../domain/statusTransition.js';
import { resubmitPartOf } from '../../domain/taskSplit.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import type { SubmitPort } from '../submitDeletions.js';
import { checkBatch, type Results } from './checkStep.js';
import type { CycleContext } from './context.js';
import { submitBatch } from './submitStep.js';
import type { InFlightSizer } from './inFlight.js';

/** One claim in flight: `started` once every vendor call of it has begun, `done` once its results are written. */
export interface ClaimWork {
  started: Promise<void>;
  done: Promise<void>;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  const n = Math.max(1, Math.floor(size));
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/**
 * Check batches of one vendor. Where one call reads a whole job (vendor.jobOf), a batch holds one job's
 * operations only, so it costs exactly the one call its rate-budget token pays for; mixing jobs would
 * make one batch several calls at once and overrun a limit of one call a second.
 */
export function checkBatches(vendor: DeletionVendor, rows: ClaimedDeletion[]): ClaimedDeletion[][] {
  const size = vendor.policy.maxBatchSize;
  if (!vendor.jobOf) return chunks(rows, size);
  const byJob = new Map<string, ClaimedDeletion[]>();
  for (const row of rows) {
    groupPush(byJob, vendor.jobOf(toOperation(row)), row);
  }
  return [...byJob.values()].flatMap((list) => chunks(list, size));
}

function groupPush<T>(groups: Map<string, T[]>, key: string, item: T): void {
  const list = groups.get(key);
  if (list) list.push(item);
  else groups.set(key, [item]);
}

const CHECKED_STATES = new Set(['submitted', 'in_progress', 'failed']);

/**
 * Submit batches of one vendor. Rows resubmitted in a part of a failed job (domain/taskSplit.ts) go only with
 * the rest of their part, so a bad identifier never rejoins the good ones of another part or of new work.
 */
export function submitBatches(vendor: DeletionVendor, rows: ClaimedDeletion[]): ClaimedDeletion[][] {
  const byPart = new Map<string, ClaimedDeletion[]>();
  for (const row of rows) groupPush(byPart, resubmitPartOf(row.operationRef)?.group ?? '', row);
  return [...byPart.values()].flatMap((list) => chunks(list, vendor.policy.maxBatchSize));
}

/** The calls one claim makes at one vendor. */
function planFor(vendor: DeletionVendor | undefined, rows: ClaimedDeletion[]) {
  return {
    vendor,
    rows,
    submits: vendor ? submitBatches(vendor, rows.filter((r) => r.state === 'queued')) : [],
    checks: vendor ? checkBatches(vendor, rows.filter((r) => CHECKED_STATES.has(r.state))) : [],
  };
}

function groupByVendor(rows: ClaimedDeletion[]): Map<string, ClaimedDeletion[]> {
  const byVendor = new Map<string, ClaimedDeletion[]>();
  for (const row of rows) groupPush(byVendor, row.vendor, row);
  return byVendor;
}

/** A countdown that resolves once `n` calls have begun (or at once for none). */
function countdown(n: number): { started: Promise<void>; begin(): void; finish(): void } {
  let left = n;
  let finish!: () => void;
  const started = new Promise<void>((resolve) => (finish = resolve));
  if (left === 0) finish();
  return {
    started,
    begin() {
      left -= 1;
      if (left === 0) finish();
    },
    finish,
  };
}

function firstFailure(settledResults: PromiseSettledResult<unknown>[]): void {
  const failure = settledResults.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Works claims for one cycle. Vendor calls of consecutive claims share one concurrency limit per vendor,
 * so the next claim's calls queue behind the current one's and the vendor never waits on our claim and
 * write round trips. Status results of a whole claim at one vendor are written in one statement: a vendor
 * checked one operation per call must not cost one statement per operation.
 */
export function createClaimWorker(
  ctx: CycleContext,
  deps: { byName: Map<string, DeletionVendor>; submitter: SubmitPort | undefined; inFlight?: InFlightSizer },
) {
  const limits = new Map<string, LimitFunction>();
  const limitOf = (vendor: DeletionVendor) => {
    let limit = limits.get(vendor.name);
    if (!limit) limits.set(vendor.name, (limit = pLimit(deps.inFlight?.limit(vendor) ?? Math.max(1, vendor.policy.concurrency))));
    return limit;
  };
  /** The vendor's calls timed, and its limit resized after each: calls in flight follow the measured latency. */
  const sized = (vendor: DeletionVendor, limit: LimitFunction) => {
    const sizer = deps.inFlight;
    if (!sizer) return { vendor, resize: () => {} };
    return { vendor: sizer.timed(vendor), resize: () => void (limit.concurrency = sizer.limit(vendor)) };
  };
  const skipped = { queuedWithoutSubmitter: 0 };

  async function workVendor(plan: ReturnType<typeof planFor>, begin: () => void): Promise<void> {
    const { vendor, rows, submits, checks } = plan;
    if (!vendor) return ctx.results.release(rows, ctx.clock.now());
    const limit = limitOf(vendor);
    const { vendor: timed, resize } = sized(vendor, limit);
    const results: Results = { updates: [], events: [] };
    const tasks = [
      ...submits.map((batch) => limit(() => (begin(), submitBatch(ctx, timed, batch, deps.submitter, skipped).finally(resize)))),
      ...checks.map((batch) => limit(() => (begin(), checkBatch(ctx, timed, batch, results).finally(resize)))),
    ];
    // A finished row with a check still scheduled is left over from elsewhere: nothing more is due.
    const finished = rows.filter((r) => isTerminal(r.state)).map((r) => settled(r).update);
    const outcome = await Promise.allSettled([finished.length ? ctx.results.write(finished, []) : undefined, ...tasks]);
    await ctx.results.write(results.updates, results.events);
    firstFailure(outcome);
  }

  function work(claimed: ClaimedDeletion[]): ClaimWork {
    const plans = [...groupByVendor(claimed)].map(([name, rows]) => planFor(deps.byName.get(name), rows));
    const progress = countdown(plans.reduce((n, p) => n + p.submits.length + p.checks.length, 0));
    const done = Promise.allSettled(plans.map((plan) => workVendor(plan, progress.begin))).then((outcome) => {
      progress.finish();
      firstFailure(outcome);
    });
    return { started: progress.started, done };
  }

  return { work, skipped };
}
