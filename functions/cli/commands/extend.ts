import { userInfo } from 'node:os';
import { createDeadlineExtender } from '../../services/extendDeadline.js';
import { CommandFailedError, defineCommand, UsageError } from '../context.js';

/** The operator's account name, when the system knows one. */
function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

export default defineCommand({
  order: 57,
  register(program, ctx) {
    program
      .command('extend')
      .description(
        "extend the legal deadline of a customer's latest request by its regime's rule (GDPR: +2 months, 3 in all; " +
          'CCPA and the state laws: +45 days), once, and only inside the notice window (the initial period, in which the ' +
          'person must be told with reasons); the event log keeps who, when and why. Refused after the window, with the reason (exit 1)',
      )
      .argument('<customerId>', 'the customer (document id in the customers collection)')
      .requiredOption('--reason <text>', 'why the deadline is extended (the reasons the person is told)')
      .option('--by <name>', 'who takes the extension (default: the account running the command)')
      .option('--json', 'print the outcome as JSON')
      .action(async (customerId: string, opts: { reason: string; by?: string; json?: boolean }) => {
        if (customerId.trim() === '') throw new UsageError('<customerId>: must not be empty');
        if (opts.reason.trim() === '') throw new UsageError('--reason: must not be empty (the person must be told why)');
        const by = opts.by ?? currentUser();
        if (!by) throw new UsageError('--by: name who takes the extension (no account name could be read)');
        const extender = createDeadlineExtender({ pool: await ctx.pool(), clock: ctx.clock, log: ctx.log });
        let outcome;
        try {
          outcome = await extender.extend({ customerId, reason: opts.reason, by });
        } catch (err) {
          if (err instanceof Error && err.name === 'InvalidInputError') throw new UsageError(err.message);
          throw err;
        }
        const r = outcome.request;
        if (opts.json) {
          ctx.out(
            JSON.stringify(
              {
                outcome: outcome.kind,
                requestId: r.requestId,
                regime: r.regime,
                initialDeadlineAt: r.initialDeadlineAt.toISOString(),
                deadlineAt: r.deadlineAt.toISOString(),
                ...(outcome.kind === 'refused' ? { code: outcome.code, reason: outcome.reason } : { by, noticeBy: outcome.noticeBy.toISOString(), source: outcome.source }),
              },
              null,
              2,
            ),
          );
        }
        if (outcome.kind === 'refused') throw new CommandFailedError(`extension refused: ${outcome.reason}`, 1);
        if (!opts.json) {
          ctx.out(`request ${r.requestId} (${r.regime}): deadline extended from ${outcome.previousDeadlineAt.toISOString()} to ${r.deadlineAt.toISOString()} (${outcome.source})`);
          ctx.out(`tell the person of the extension and its reasons before ${outcome.noticeBy.toISOString()}`);
        }
      });
  },
});
