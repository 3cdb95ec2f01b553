import { DELETION_STATES, isDeletionState } from '../../domain/states.js';
import { queryStatus, type StatusRow } from '../../store/queryStatus.js';
import { createSlackForecaster, type DeletionSlack } from '../../services/deadlineSlack.js';
import { recordedIds } from '../../services/pseudonymise.js';
import { policyOf } from '../../vendors/registry.js';
import { defineCommand, UsageError } from '../context.js';
import { daysLeft } from '../days.js';
import { formatTable, iso, parsePositiveInt, type Column } from '../output.js';
import { NEEDS } from '../needs.js';

const columns: Column<StatusRow & { daysLeft: number | null; slack: DeletionSlack | null }>[] = [
  { header: 'CUSTOMER', value: (r) => r.customerId },
  { header: 'VENDOR', value: (r) => r.vendor },
  { header: 'STATE', value: (r) => r.state },
  { header: 'REGIME', value: (r) => r.regime },
  { header: 'OPERATION', value: (r) => r.operationId ?? '-' },
  { header: 'REQUESTED', value: (r) => iso(r.requestedAt) },
  { header: 'SUBMITTED', value: (r) => iso(r.submittedAt) ?? '-' },
  { header: 'COMPLETED', value: (r) => iso(r.completedAt) ?? '-' },
  { header: 'CHECKS', value: (r) => r.checkCount },
  { header: 'DEADLINE', value: (r) => `${iso(r.deadlineAt)}${r.extendedAt ? ' (extended)' : ''}` },
  { header: 'DAYS LEFT', value: (r) => r.daysLeft ?? '-' },
  { header: 'EXPECTED', value: (r) => (r.slack ? `${iso(r.slack.expectedAt)} (${r.slack.basis})` : '-') },
  { header: 'SLACK DAYS', value: (r) => (r.slack ? `${r.slack.slackDays}${r.slack.atRisk ? ' AT RISK' : ''}` : '-') },
];

export default defineCommand({
  order: 40,
  register(program, ctx) {
    const command = program
      .command('status')
      .description("where each customer's deletion stands at each vendor (newest requests first)")
      .option('--customer <id>', 'only this customer')
      .option('--state <state>', `only deletions in this state (${DELETION_STATES.join(', ')})`)
      .option('--vendor <name>', 'only this vendor (http, segment, …)')
      .option('--limit <n>', 'at most this many rows', '200')
      .option('--json', 'print JSON (one array) instead of a table')
      .action(async (opts: { customer?: string; state?: string; vendor?: string; limit: string; json?: boolean }) => {
        if (opts.state !== undefined && !isDeletionState(opts.state)) {
          throw new UsageError(`--state: "${opts.state}" is not a state (one of ${DELETION_STATES.join(', ')})`);
        }
        const limit = parsePositiveInt('--limit', opts.limit, 100_000);
        const rows = await queryStatus(await ctx.pool(), {
          ...(opts.customer !== undefined ? { customerIds: recordedIds(opts.customer, ctx.settings().config.retention?.key) } : {}),
          ...(opts.state !== undefined ? { state: opts.state } : {}),
          ...(opts.vendor !== undefined ? { vendor: opts.vendor } : {}),
          limit,
        });
        const now = ctx.clock.now();
        const { config } = ctx.settings();
        const forecaster = await createSlackForecaster(await ctx.pool(), {
          policies: config.vendors.map((v) => ({ vendor: v.name, expectedDurationMs: policyOf(v).expectedDurationMs })),
          riskMarginMs: config.deadline.riskMarginMs,
        });
        const shown = rows.map((r) => ({
          ...r,
          daysLeft: daysLeft(r.deadlineAt, now, r.state === 'completed' || r.state === 'cancelled'),
          slack: forecaster.of(r, now),
        }));
        if (opts.json) {
          ctx.out(
            JSON.stringify(
              shown.map((r) => ({
                deletionId: r.deletionId,
                customerId: r.customerId,
                vendor: r.vendor,
                state: r.state,
                operationId: r.operationId,
                requestedAt: iso(r.requestedAt),
                submittedAt: iso(r.submittedAt),
                completedAt: iso(r.completedAt),
                verifiedAt: iso(r.verifiedAt),
                checkCount: r.checkCount,
                deadlineAt: iso(r.deadlineAt),
                initialDeadlineAt: iso(r.initialDeadlineAt),
                extendedAt: iso(r.extendedAt),
                regime: r.regime,
                daysLeft: r.daysLeft,
                lastError: r.lastError,
                expectedCompletion: r.slack ? { at: iso(r.slack.expectedAt), basis: r.slack.basis, source: r.slack.source } : null,
                slackDays: r.slack?.slackDays ?? null,
                atRisk: r.slack?.atRisk ?? false,
                verificationFailedAt: iso(r.verificationFailedAt),
              })),
              null,
              2,
            ),
          );
          return;
        }
        if (shown.length === 0) return ctx.out('no deletions match');
        ctx.out(formatTable(shown, columns));
        if (shown.length === limit) ctx.out(`(first ${limit} rows; use --limit or a filter for more)`);
      });
    ctx.needs(command, NEEDS.database);
  },
});

