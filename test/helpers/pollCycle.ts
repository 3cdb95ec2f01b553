import { DAY, MINUTE, SECOND } from '../../functions/clock.js';
import { silentLogger } from '../../functions/log.js';
import { createPollCycle, type PollCycleDeps } from '../../functions/services/poll/pollCycle.js';
import { createMemoryPublisher } from '../../functions/services/publisher.js';
import { createSubmitter } from '../../functions/services/submitDeletions.js';

/** The poller settings tests use (the config slice createPollCycle reads), with what a test changes. */
export function pollerConfig(over: { timeBudgetMs?: number; batchSize?: number; leaseMs?: number; escalationMs?: number } = {}): PollCycleDeps['config'] {
  return {
    topics: { poll: 'deletion-poll', alerts: 'deletion-alerts' },
    poller: { timeBudgetMs: over.timeBudgetMs ?? 480 * SECOND, batchSize: over.batchSize ?? 500, leaseMs: over.leaseMs ?? 600 * SECOND },
    alerts: {
      sendgridApiKey: undefined,
      sendgridBaseUrl: undefined,
      sandboxMode: false,
      from: undefined,
      to: [],
      escalationMs: over.escalationMs ?? DAY,
      scanIntervalMs: 15 * MINUTE,
    },
    deadline: { warningDays: 7, riskMarginMs: 3 * 86_400_000 },
  };
}

export type PollCycleOptions = Omit<PollCycleDeps, 'publisher' | 'log' | 'config'> &
  Partial<Pick<PollCycleDeps, 'publisher' | 'log' | 'config'>> & {
    /** Submit queued deletions with the real submitter over the same pool (without it they are left). */
    submit?: boolean;
  };

/**
 * A poll cycle as tests and fault scenarios build it: an in-memory publisher, a silent logger and the
 * settings above unless given, and the real submitter when `submit` is set.
 */
export function buildPollCycle(options: PollCycleOptions): ReturnType<typeof createPollCycle> {
  const { submit, ...rest } = options;
  const log = options.log ?? silentLogger();
  return createPollCycle({
    ...rest,
    log,
    publisher: options.publisher ?? createMemoryPublisher(),
    config: options.config ?? pollerConfig(),
    ...(submit ? { submitter: createSubmitter({ pool: options.pool, log, clock: options.clock }) } : {}),
  });
}
