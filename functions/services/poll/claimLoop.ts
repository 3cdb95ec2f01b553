import type pg from 'pg';
import type { ClaimedDeletion } from '../../domain/deletion.js';
import type { ForcedPoll } from '../../domain/pollMessage.js';
import type { Sleep } from '../rateLimiter.js';
import { claimDue } from '../../store/claimDue.js';
import { claimForced } from '../../store/claimForced.js';
import type { CycleContext } from './context.js';
import type { ClaimWork } from './workClaim.js';

export interface ClaimLoopOptions {
  pool: pg.Pool;
  sleep: Sleep;
  owner: string;
  /** Rows a claim takes at most. */
  batchSize: number;
  leaseMs: number;
  /** Once the clock passes it, no more claims are made (calls already started finish). */
  stopClaimingAt: Date;
  /** A forced poll's one pass, before the due claims; null for a scheduled tick. */
  forced: ForcedPoll | null;
  work(claimed: ClaimedDeletion[]): ClaimWork;
}

/**
 * The claim pipeline: claims leased batches until the budget is spent or nothing is due, and works each.
 * At most two claims are held: the one whose last calls are in flight and the next, claimed as soon as
 * the current one's calls have all started. Every claim's writes have finished when this returns or throws.
 */
export async function runClaims(ctx: CycleContext, o: ClaimLoopOptions): Promise<void> {
  const { report, gate, clock } = ctx;
  let forcedLeft = o.forced !== null;
  const worked = new Set<string>();
  let draining: Promise<void> | null = null;
  try {
    for (;;) {
      if (clock.now().getTime() >= o.stopClaimingAt.getTime()) {
        report.stoppedByBudget = true;
        break;
      }
      const names = gate.active();
      if (names.length === 0) break;
      let claimed: ClaimedDeletion[];
      if (forcedLeft && o.forced) {
        // One forced pass: what it checked now has a later next check and must not be claimed again.
        forcedLeft = false;
        claimed = await claimForcedPass(ctx, o, o.forced, names);
      } else {
        claimed = await claimDue(o.pool, { now: clock.now(), limit: o.batchSize, owner: o.owner, vendors: names, leaseMs: o.leaseMs });
        if (claimed.length === 0) {
          if (draining) {
            // The claim in flight may still hand rows back (a 429 waited out): look again once it is done.
            await draining;
            draining = null;
            continue;
          }
          if (await waitedForPause(ctx, o, names)) continue;
          break;
        }
        // Rows this cycle already worked and scheduled for "now" again (a resubmission) are left for the
        // next cycle rather than looping on them.
        if (claimed.every((r) => worked.has(r.deletionId) && !gate.waitingOut(r.deletionId))) {
          await ctx.results.release(claimed, clock.now());
          break;
        }
      }
      for (const r of claimed) {
        worked.add(r.deletionId);
        gate.claimedAgain(r.deletionId);
      }
      report.claimed += claimed.length;
      const current = o.work(claimed);
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
}

async function claimForcedPass(ctx: CycleContext, o: ClaimLoopOptions, forced: ForcedPoll, names: string[]): Promise<ClaimedDeletion[]> {
  const claimed = await claimForced(o.pool, {
    now: ctx.clock.now(),
    limit: o.batchSize,
    owner: o.owner,
    vendors: forced.vendors ? names.filter((n) => forced.vendors!.includes(n)) : names,
    leaseMs: o.leaseMs,
    customerIds: forced.customerIds,
    operationIds: forced.operationIds,
  });
  ctx.log.info({ event: 'forced_poll', ...forced, claimed: claimed.length }, 'forced poll');
  return claimed;
}

/** Rows handed back for a pause that ends within the budget are claimed again when it ends: waits for it once. */
async function waitedForPause(ctx: CycleContext, o: ClaimLoopOptions, names: string[]): Promise<boolean> {
  const resume = ctx.gate.nextResume(names);
  if (!resume || resume.at >= o.stopClaimingAt.getTime()) return false;
  await o.sleep(resume.at - ctx.clock.now().getTime());
  // Waited once: a pause is not waited for twice (the clock is the judge of whether it is over).
  ctx.gate.forget(resume.vendors);
  return true;
}
