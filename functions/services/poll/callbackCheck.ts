import type pg from 'pg';
import type { ClaimedDeletion } from '../../domain/deletion.js';
import { callbackContradicted, checkedStatus } from '../../domain/callbackContradiction.js';
import type { StatusReport } from '../../domain/operation.js';
import { markCallbacksCompared, readUncomparedCallbacks } from '../../store/compareCallbacks.js';
import type { CycleContext } from './context.js';

/** Compares a vendor's status callbacks with the poller's own check of the same deletions. */
export interface CallbackCheck {
  /**
   * After a check of `rows` that started at `checkedFrom`: each callback received before then is compared with what
   * the check saw; one it contradicts opens the vendor's contract-violation incident (the alert), logged by name.
   */
  compare(ctx: CycleContext, vendor: string, rows: ClaimedDeletion[], reports: Map<string, StatusReport>, checkedFrom: Date): Promise<void>;
}

/** The comparison for the vendors that send callbacks (none: it never reads the table). */
export function createCallbackCheck(deps: { pool: pg.Pool; vendors: readonly string[] }): CallbackCheck {
  const enabled = new Set(deps.vendors);
  return {
    async compare(ctx, vendor, rows, reports, checkedFrom) {
      if (!enabled.has(vendor)) return;
      const callbacks = await readUncomparedCallbacks(deps.pool, { deletionIds: rows.map((r) => r.deletionId), before: checkedFrom });
      const results: Array<{ idempotencyKey: string; contradicted: boolean }> = [];
      for (const cb of callbacks) {
        const seen = cb.deletionIds.map((id) => reports.get(id)).find((r): r is StatusReport => r !== undefined);
        if (!seen) continue;
        const checked = checkedStatus(seen);
        const contradicted = callbackContradicted(cb.claimedStatus, checked);
        results.push({ idempotencyKey: cb.idempotencyKey, contradicted });
        if (!contradicted) continue;
        const detail = `a signed status callback said request ${cb.subjectRequestId} was ${cb.claimedStatus} (received ${cb.receivedAt.toISOString()}), but the status check after it says ${seen.rawStatus}`;
        // The contract-violation metric and alert (infra/monitoring.tf) count this line: call 'callback' tells it apart.
        ctx.log.error(
          { event: 'vendor_contract_violation', call: 'callback', vendor, subjectRequestId: cb.subjectRequestId, claimedStatus: cb.claimedStatus, checkedStatus: seen.rawStatus, idempotencyKey: cb.idempotencyKey },
          `${vendor}: ${detail}`,
        );
        await ctx.incidents.open(vendor, 'contract_violation', detail, { call: 'check', deletionIds: cb.deletionIds }, { keepThisCycle: true });
      }
      await markCallbacksCompared(deps.pool, { results, now: ctx.clock.now() });
    },
  };
}
