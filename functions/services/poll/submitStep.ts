import type { ClaimedDeletion } from '../../domain/deletion.js';
import { vendorRegulationOf } from '../../domain/regulation.js';
import { resubmitPartOf } from '../../domain/taskSplit.js';
import { errorText } from '../../errors.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import type { SubmitPort } from '../submitDeletions.js';
import type { CycleContext } from './context.js';
import { slotOrRelease } from './checkStep.js';

/** The failed jobs a row resubmitted in a part of one was split from, to keep in its new reference. */
function splitFromOf(row: ClaimedDeletion): { splitFrom?: string[] } {
  const part = resubmitPartOf(row.operationRef);
  return part ? { splitFrom: part.lineage } : {};
}

/**
 * Submits one batch of queued rows through the submitter (which records each result itself), paced like
 * any other call, and acts on the vendor's fault: a 429 pauses it, a rejected credential stops it for the
 * cycle and opens an incident, a broken contract opens one, the same refusal across many deletions holds it
 * (holds.ts). A held vendor's rows wait without a call. Without a submitter the rows are left for the
 * ingest (counted in `skipped`).
 */
export async function submitBatch(
  ctx: CycleContext,
  vendor: DeletionVendor,
  claimed: ClaimedDeletion[],
  submitter: SubmitPort | undefined,
  skipped: { queuedWithoutSubmitter: number },
): Promise<void> {
  const { gate, results, clock } = ctx;
  const stoppedUntil = gate.stoppedUntil(vendor.name);
  if (stoppedUntil) return results.release(claimed, stoppedUntil);
  if (!submitter) {
    skipped.queuedWithoutSubmitter += claimed.length;
    return results.release(claimed, new Date(clock.now().getTime() + vendor.policy.minCheckIntervalMs));
  }
  // A vendor refusing deletion after deletion is held: its rows wait, without a call, until it is released.
  if (await ctx.holds.held(vendor)) {
    ctx.report.held += claimed.length;
    return results.release(claimed, new Date(clock.now().getTime() + vendor.policy.maxCheckIntervalMs));
  }
  // A monthly subject quota (Segment) lets part of the batch go, or none: the rest waits for the month to turn.
  const quota = await ctx.quotas.take(vendor, claimed.length);
  if (quota.reading) await ctx.quotas.hold(claimed.slice(quota.granted), vendor, quota.reading);
  const rows = claimed.slice(0, quota.granted);
  if (rows.length === 0) return;
  const slot = await slotOrRelease(ctx, vendor, rows, 'submit');
  if (!slot) {
    ctx.quotas.giveBack(vendor, rows.length);
    return;
  }
  // The pace counts from the end of the vendor's create call, not from the end of recording its result.
  const paced: DeletionVendor = Object.assign(Object.create(vendor) as DeletionVendor, {
    submit: (subjects: Parameters<DeletionVendor['submit']>[0]) => vendor.submit(subjects).finally(() => slot.done()),
  });
  const outcome = await submitter
    .submit(
      paced,
      rows.map((r) => ({
        deletionId: r.deletionId,
        customerId: r.customerId,
        idempotencyKey: r.idempotencyKey,
        revokedAt: r.revokedAt,
        regulation: vendorRegulationOf(r.regime),
        ...splitFromOf(r),
      })),
    )
    .finally(() => slot.done());
  ctx.report.submitted += outcome.submitted.length;
  ctx.quotas.giveBack(vendor, rows.length - outcome.submitted.length);
  const error = outcome.error;
  // A create call that broke the contract or was refused left these deletions without a vendor operation.
  const accepted = new Set(outcome.submitted.map((r) => r.deletionId));
  const submittedRows = { call: 'submit' as const, deletionIds: rows.filter((r) => !accepted.has(r.deletionId)).map((r) => r.deletionId) };
  if (!error) {
    await ctx.incidents.answeredWell(vendor.name);
  } else if (error.kind === 'rate_limited') {
    // Rows the submitter did not record go back due when the pause ends.
    const done = new Set([...outcome.submitted, ...outcome.failed].map((r) => r.deletionId));
    const until = await gate.pause(vendor, error.retryAfterMs ?? vendor.policy.minCheckIntervalMs, errorText(error.error), rows);
    return results.release(rows.filter((r) => !done.has(r.deletionId)), until);
  } else if (error.kind === 'auth') {
    await ctx.incidents.open(vendor.name, 'credential_rejected', errorText(error.error), submittedRows);
    gate.stop(vendor.name, clock.now());
  } else if (error.kind === 'contract') {
    ctx.log.error(
      { event: 'vendor_contract_violation', err: error.error, vendor: vendor.name, call: 'submit', deletionIds: rows.map((r) => r.deletionId) },
      `${vendor.name} broke its API contract on submit`,
    );
    await ctx.incidents.open(vendor.name, 'contract_violation', errorText(error.error), submittedRows);
  }
  // The same refusal across many deletions is one incident: the vendor is held for the rest of the cycle and after.
  if (error?.refusal !== undefined && (await ctx.holds.afterRefusal(vendor, error.refusal))) {
    gate.stop(vendor.name, new Date(clock.now().getTime() + vendor.policy.maxCheckIntervalMs));
  }
  // The submitter clears the leases it wrote; anything it did not touch goes back as it was.
  await results.release(rows, clock.now());
}
