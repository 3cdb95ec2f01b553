import type { ClaimedDeletion, StatusEvent, StatusUpdate } from '../../domain/deletion.js';
import { toOperation } from '../../domain/deletion.js';
import type { StatusReport } from '../../domain/operation.js';
import { afterFault, afterReport, type CheckFault, type VerificationOutcome } from '../../domain/statusTransition.js';
import { errorText } from '../../errors.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import { classifyVendorError, VendorContractError, VendorError, VendorRateLimitedError } from '../../vendors/errors.js';
import type { CycleContext } from './context.js';
import { addTally } from './report.js';

/** Status results collected across one claim's check calls, written together. */
export interface Results {
  updates: StatusUpdate[];
  events: StatusEvent[];
}

/** A slot for a call, or the rows handed back: to when the vendor may be called again, or now (budget spent). */
export async function slotOrRelease(ctx: CycleContext, vendor: DeletionVendor, rows: ClaimedDeletion[], what: 'call' | 'submit') {
  const slot = await ctx.gate.slot(vendor, what);
  if (slot) return slot;
  const until = ctx.gate.stoppedUntil(vendor.name);
  if (!until) ctx.report.stoppedByBudget = true;
  await ctx.results.release(rows, until ?? ctx.clock.now());
  return null;
}

/**
 * Checks one batch of one vendor: one status call, then each row's transition (domain/statusTransition.ts)
 * into `sink`, written with the rest of the claim. A completed deletion is verified where the vendor can.
 */
export async function checkBatch(ctx: CycleContext, vendor: DeletionVendor, rows: ClaimedDeletion[], sink: Results): Promise<void> {
  const round = ctx.round(vendor.name);
  // A batch of a job this round already read (another claim held part of it) costs no call and no slot.
  const first = rows[0];
  const readThisRound = vendor.jobOf !== undefined && first !== undefined && round.has(vendor.jobOf(toOperation(first)));
  const slot = readThisRound ? { done: () => {} } : await slotOrRelease(ctx, vendor, rows, 'call');
  if (!slot) return;
  let reports: Map<string, StatusReport>;
  // Callbacks received before the call are compared with its answer; a later one waits for the next check.
  const checkedFrom = ctx.clock.now();
  try {
    reports = await vendor.checkStatus(rows.map(toOperation), round);
  } catch (err) {
    slot.done();
    return checkFailed(ctx, vendor, rows, err);
  }
  slot.done();
  await ctx.incidents.answeredWell(vendor.name);
  for (const row of rows) {
    const report = reports.get(row.deletionId);
    const verification = report?.state === 'completed' ? await verify(ctx, vendor, row) : null;
    const t = afterReport(row, report, vendor.policy, ctx.clock.now(), verification);
    addTally(ctx.report, t.tally);
    sink.updates.push(t.update);
    sink.events.push(...t.events);
  }
  await ctx.callbacks.compare(ctx, vendor.name, rows, reports, checkedFrom);
}

/**
 * Looks the customer up where the vendor offers it: nothing found is verified, data found is a failed
 * verification with the vendor's answer as evidence; completion stands on the vendor's word either way.
 */
async function verify(ctx: CycleContext, vendor: DeletionVendor, row: ClaimedDeletion): Promise<VerificationOutcome | null> {
  if (!vendor.verify) return null;
  const slot = await ctx.gate.slot(vendor, 'call');
  if (!slot) return null;
  try {
    const found = await vendor.verify(toOperation(row)).finally(() => slot.done());
    const at = ctx.clock.now();
    if (!found.found) return { verifiedAt: at, evidence: found.evidence };
    ctx.log.error(
      { event: 'verification_failed', vendor: vendor.name, deletionId: row.deletionId, operationId: row.operationId, summary: found.summary },
      `${vendor.name} reported the deletion complete, but its lookup still finds the customer's data`,
    );
    return { failedAt: at, evidence: found.evidence, summary: found.summary };
  } catch (err) {
    // A failed verification is recorded, not retried forever.
    ctx.log.warn({ event: 'verify_failed', err, vendor: vendor.name, operationId: row.operationId }, 'verification failed');
    return null;
  }
}

/** A status call that failed: a 429 pauses the vendor, anything else is recorded on every row of the batch. */
async function checkFailed(ctx: CycleContext, vendor: DeletionVendor, rows: ClaimedDeletion[], err: unknown): Promise<void> {
  if (err instanceof VendorRateLimitedError) {
    const until = await ctx.gate.pause(vendor, err.retryAfterMs, errorText(err), rows);
    return ctx.results.release(rows, until);
  }
  const fault: CheckFault = {
    kind: classifyVendorError(err),
    message: errorText(err),
    ...(err instanceof VendorContractError ? { sample: err.sample } : {}),
    ...(err instanceof VendorError && err.status !== undefined ? { httpStatus: err.status } : {}),
  };
  await reportFault(ctx, vendor, rows, err, fault);
  const now = ctx.clock.now();
  const updates: StatusUpdate[] = [];
  const events: StatusEvent[] = [];
  for (const row of rows) {
    const t = afterFault(row, fault, vendor.policy, now);
    addTally(ctx.report, t.tally);
    updates.push(t.update);
    events.push(...t.events);
  }
  await ctx.results.write(updates, events);
}

/** Logs a failed status call, opens the vendor's incident where it needs a person, stops it on a rejected credential. */
async function reportFault(ctx: CycleContext, vendor: DeletionVendor, rows: ClaimedDeletion[], err: unknown, fault: CheckFault): Promise<void> {
  const operations = rows.map((r) => r.operationId);
  const name = vendor.name;
  const checked = { call: 'check' as const, deletionIds: rows.map((r) => r.deletionId) };
  switch (fault.kind) {
    case 'contract': {
      const { problem, sample } = err as VendorContractError;
      // Error Reporting picks the stack from `err`; the vendor and operations label the entry.
      ctx.log.error(
        { event: 'vendor_contract_violation', err, vendor: name, call: 'check', operationId: operations[0] ?? null, operationIds: operations, sample },
        `${name} broke its API contract: ${problem}`,
      );
      return ctx.incidents.open(name, 'contract_violation', `${problem}; sample: ${sample}`, checked);
    }
    case 'auth':
      ctx.log.error({ event: 'vendor_credential_rejected', err, vendor: name, status: fault.httpStatus }, `${name} rejected the credential`);
      await ctx.incidents.open(name, 'credential_rejected', fault.message, checked);
      // Every further call would be refused too: stop this vendor for the cycle.
      ctx.gate.stop(name, ctx.clock.now());
      return;
    case 'rejected':
      ctx.log.error({ event: 'vendor_rejected', err, vendor: name, operationIds: operations }, `${name} rejected a status request`);
      return;
    default:
      ctx.log.warn({ event: 'vendor_call_failed', err, vendor: name, call: 'check', operationIds: operations }, `${name} check failed; will retry`);
  }
}
