import type { Command } from 'commander';
import { closeVendorIncidents } from '../../store/closeVendorIncidents.js';
import { readVendorHolds } from '../../store/readVendorHolds.js';
import { isVendorKind, VENDOR_KINDS } from '../../vendors/DeletionVendor.js';
import { UsageError, type CliContext } from '../context.js';
import { NEEDS } from '../needs.js';

/**
 * `consent-erasure vendors resume <vendor>`: releases a vendor held after a mass refusal (the same refusal across
 * many deletions), so the next poll submits its queued deletions again. Deletions already in `error` stay there
 * until `consent-erasure retry --vendor <vendor>`.
 */
export function registerVendorsResume(vendors: Command, ctx: CliContext): void {
  const command = vendors
    .command('resume <vendor>')
    .description(
      'release a vendor held after a mass refusal (the same refusal across many deletions) once its cause is fixed: ' +
        'the next poll submits its queued deletions again (errored ones: consent-erasure retry --vendor <vendor>)',
    )
    .option('--json', 'print what was released as JSON')
    .action(async (vendor: string, opts: { json?: boolean }) => {
      if (!isVendorKind(vendor)) throw new UsageError(`<vendor>: "${vendor}" is not a vendor (known: ${VENDOR_KINDS.join(', ')})`);
      const pool = await ctx.pool();
      const holds = await readVendorHolds(pool, [vendor]);
      const closed = await closeVendorIncidents(pool, { vendor, kinds: ['mass_refusal'], now: ctx.clock.now() });
      const released = closed.length > 0;
      ctx.log.warn({ event: 'vendor_hold_released', vendor, reason: 'consent-erasure vendors resume', released }, 'vendor hold released by an operator');
      if (opts.json) return ctx.out(JSON.stringify({ vendor, released, hold: holds[0]?.detail ?? null }));
      if (!released) return ctx.out(`${vendor} is not held: nothing to release`);
      ctx.out(`${vendor} released (it was held: ${holds[0]?.detail ?? 'a mass refusal'})`);
      ctx.out(`its queued deletions are submitted on the next poll (consent-erasure poll --vendor ${vendor} to run it now); ` +
        `deletions in error: consent-erasure retry --vendor ${vendor}`);
    });
  ctx.needs(command, NEEDS.database);
}
