import { RETRYABLE_STATES, retryDeletions, type RetryTarget } from '../../store/retryDeletions.js';
import { defineCommand, UsageError } from '../context.js';
import { formatTable } from '../output.js';
import { isVendorKind, VENDOR_KINDS } from '../../vendors/DeletionVendor.js';
import { NEEDS } from '../needs.js';

export default defineCommand({
  order: 60,
  register(program, ctx) {
    const command = program
      .command('retry [target]')
      .description(
        `put ${RETRYABLE_STATES.join('/')} deletions back to queued, due now, with a "retried" event: [target] is a ` +
          'deletion id (all digits, as shown by status --json) or a customer id (all of that customer\'s deletions); ' +
          'or --vendor V for all of one vendor\'s, once the cause of its refusals is fixed',
      )
      .option('--customer', 'read [target] as a customer id even if it is all digits')
      .option('--vendor <vendor>', 'every failed or errored deletion at this vendor (instead of a target)')
      .option('--json', 'print what was retried as JSON')
      .action(async (target: string | undefined, opts: { customer?: boolean; vendor?: string; json?: boolean }) => {
        const which = retryTarget(target, opts);
        const retried = await retryDeletions(await ctx.pool(), which, ctx.clock.now());
        if (opts.json) return ctx.out(JSON.stringify(retried, null, 2));
        const what = 'deletionId' in which ? `deletion ${which.deletionId}` : 'vendor' in which ? `vendor ${which.vendor}` : `customer ${which.customerId}`;
        if (retried.length === 0) {
          ctx.out(`nothing to retry: ${what} has no deletion in state ${RETRYABLE_STATES.join(' or ')}`);
          return;
        }
        ctx.out(
          formatTable(retried, [
            { header: 'DELETION', value: (r) => r.deletion_id },
            { header: 'CUSTOMER', value: (r) => r.customer_id },
            { header: 'VENDOR', value: (r) => r.vendor },
            { header: 'WAS', value: (r) => r.previous_state },
            { header: 'OLD OPERATION', value: (r) => r.previous_operation_id ?? '-' },
          ]),
        );
        ctx.out(`${retried.length} deletion(s) queued again; the next poll submits them (consent-erasure poll to run it now)`);
      });
    ctx.needs(command, NEEDS.database);
  },
});

/** What to retry: a deletion or customer given as the target, or every deletion of `--vendor`; exactly one. */
function retryTarget(target: string | undefined, opts: { customer?: boolean; vendor?: string }): RetryTarget {
  if (opts.vendor !== undefined) {
    if (target !== undefined) throw new UsageError('give either [target] or --vendor, not both');
    if (!isVendorKind(opts.vendor)) throw new UsageError(`--vendor: "${opts.vendor}" is not a vendor (known: ${VENDOR_KINDS.join(', ')})`);
    return { vendor: opts.vendor };
  }
  if (target === undefined || target.trim() === '') throw new UsageError('[target]: give a deletion id or customer id, or --vendor V');
  return !opts.customer && /^\d{1,18}$/.test(target) ? { deletionId: target } : { customerId: target };
}
