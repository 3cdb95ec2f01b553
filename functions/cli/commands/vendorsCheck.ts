import type { Command } from 'commander';
import { checkVendorContracts, describeCheck, type ContractCheck } from '../../services/contractChecks.js';
import { CommandFailedError, UsageError, type CliContext } from '../context.js';
import { formatTable, type Column } from '../output.js';

/** Per-call timeout of a probe call from the command line. */
const TIMEOUT_MS = 15_000;

const WORDS: Record<ContractCheck['outcome'], string> = {
  matches: 'matches the documents',
  grown: 'matches, with fields the documents do not show',
  differs: 'DIFFERS from the documents',
  failed: 'could not be checked',
  no_probe: 'no probe documented',
};

const columns: Column<ContractCheck>[] = [
  { header: 'VENDOR', value: (c) => c.vendor },
  { header: 'RESULT', value: (c) => WORDS[c.outcome] },
  { header: 'CALLS', value: (c) => c.calls.map((k) => `${k.call} ${k.status ?? '-'} ${k.outcome}`).join(', ') || '-' },
];

/**
 * `consent-erasure vendors check [--vendor V] [--json]`: calls each configured vendor's documented test or
 * discovery endpoints with the configured credentials, read-only (AppsFlyer's stub mode touches no subject's data),
 * and reports whether the live answers still have the documented shapes. Exits 1 when a vendor differs or could
 * not be checked; a vendor without a documented probe is reported as such, never as a pass.
 */
export function registerVendorsCheck(vendors: Command, ctx: CliContext): void {
  vendors
    .command('check')
    .description(
      "call each vendor's documented test or discovery endpoints (read-only; AppsFlyer's stub mode) with the configured " +
        'credentials and report whether the live answers still match the documented shapes',
    )
    .option('--vendor <name>', 'only this configured vendor')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { vendor?: string; json?: boolean }) => {
      const { config } = ctx.settings();
      const configs = opts.vendor === undefined ? config.vendors : config.vendors.filter((v) => v.name === opts.vendor);
      if (configs.length === 0) {
        throw new UsageError(`--vendor: "${opts.vendor}" is not configured (configured: ${config.vendors.map((v) => v.name).join(', ')})`);
      }
      const checks = await checkVendorContracts(configs, { clock: ctx.clock, timeoutMs: TIMEOUT_MS });
      if (opts.json) ctx.out(JSON.stringify(checks, null, 2));
      else {
        ctx.out(formatTable(checks, columns));
        for (const c of checks) if (c.outcome !== 'matches') ctx.out(`\n${describeCheck(c)}`);
      }
      const bad = checks.filter((c) => c.outcome === 'differs' || c.outcome === 'failed');
      if (bad.length > 0) throw new CommandFailedError(`vendors check: ${bad.map((c) => `${c.vendor} ${WORDS[c.outcome]}`).join('; ')}`, 1);
    });
}
