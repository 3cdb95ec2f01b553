import { PollMessageSchema } from '../../domain/pollMessage.js';
import { formatIssues } from '../../events/pubsub.js';
import { defineCommand, UsageError } from '../context.js';
import { collect } from '../output.js';
import { NEEDS } from '../needs.js';

export default defineCommand({
  order: 30,
  register(program, ctx) {
    const command = program
      .command('poll')
      .description(
        'run the poller now: publish a message to the deletion-poll topic. With no filter it does what is due; ' +
          '--customer, --vendor and --operation force a status check of the matching deletions, due or not',
      )
      .option('--customer <id>', 'force a check of this customer (repeatable)', collect)
      .option('--vendor <name>', 'force a check at this vendor (repeatable)', collect)
      .option('--operation <id>', "force a check of this vendor operation id (repeatable)", collect)
      .option('--reason <text>', 'why, for the poller\'s log', 'consent-erasure poll')
      .option('--json', 'print the published message and its id as JSON')
      .action(async (opts: { customer?: string[]; vendor?: string[]; operation?: string[]; reason: string; json?: boolean }) => {
        const message = {
          ...(opts.customer ? { customerIds: opts.customer } : {}),
          ...(opts.vendor ? { vendors: opts.vendor } : {}),
          ...(opts.operation ? { operationIds: opts.operation } : {}),
          reason: opts.reason,
        };
        // The poller acknowledges an invalid message after logging it; refuse it here so the operator sees why.
        const parsed = PollMessageSchema.safeParse(message);
        if (!parsed.success) throw new UsageError(`the poll message would be invalid: ${formatIssues(parsed.error)}`);
        const { config } = ctx.settings();
        const id = await ctx.publisher().publish(config.topics.poll, parsed.data);
        if (opts.json) return ctx.out(JSON.stringify({ topic: config.topics.poll, messageId: id, message: parsed.data }));
        ctx.out(`published to ${config.topics.poll} (message ${id}): ${JSON.stringify(parsed.data)}`);
      });
    ctx.needs(command, NEEDS.pubsub);
  },
});
