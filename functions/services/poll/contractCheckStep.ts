import type pg from 'pg';
import { claimScheduledRun } from '../../store/claimScheduledRun.js';
import { readContractChecks } from '../../store/readContractChecks.js';
import { recordContractCheck } from '../../store/recordContractCheck.js';
import { hasProbe } from '../../vendors/contract/vendorProbes.js';
import type { VendorConfig } from '../../vendors/settings.js';
import { checkDifferences, checkVendorContracts, describeCheck } from '../contractChecks.js';
import type { CycleContext } from './context.js';

/** Per-call timeout of the daily check: a probe is a handful of small calls. */
const PROBE_TIMEOUT_MS = 15_000;

/**
 * The poller's daily live contract check (CONTRACT_CHECK_HOURS; 0 turns it off), on its own schedule shared by
 * every poller instance. A mismatch opens the vendor's contract-violation incident, which raises its alert; the
 * same mismatch found again on later days is the same incident and is not raised again (a new or changed one is).
 */
export async function checkContractsIfDue(ctx: CycleContext, deps: { pool: pg.Pool; configs: readonly VendorConfig[]; intervalMs: number }): Promise<void> {
  const configs = deps.configs.filter((c) => hasProbe(c.name));
  if (deps.intervalMs <= 0 || configs.length === 0) return;
  const now = ctx.clock.now();
  if (!(await claimScheduledRun(deps.pool, { name: 'contract_check', now, intervalMs: deps.intervalMs }))) return;
  const before = await readContractChecks(deps.pool);
  for (const check of await checkVendorContracts(configs, { clock: ctx.clock, timeoutMs: PROBE_TIMEOUT_MS })) {
    if (check.outcome === 'no_probe') continue;
    const differences = checkDifferences(check);
    const last = before.get(check.vendor);
    const fields = { event: 'vendor_contract_checked', vendor: check.vendor, outcome: check.outcome, calls: check.calls };
    if (check.outcome === 'differs') {
      ctx.log.error(fields, describeCheck(check));
      if (last?.outcome !== 'differs' || last.differences !== differences) {
        await ctx.incidents.open(check.vendor, 'contract_violation', `daily contract check: ${describeCheck(check)}`);
      }
    } else if (check.outcome === 'failed') ctx.log.warn(fields, describeCheck(check));
    else ctx.log.info(fields, describeCheck(check));
    await recordContractCheck(deps.pool, { vendor: check.vendor, checkedAt: ctx.clock.now(), outcome: check.outcome, differences, detail: { note: check.note, calls: check.calls } });
  }
}
