import { createSlackForecaster } from '../../services/deadlineSlack.js';
import { reportPage } from '../../store/reportPage.js';
import { policyOf } from '../../vendors/registry.js';
import { defineCommand, UsageError } from '../context.js';
import { csvLine, parseDateOption } from '../output.js';
import { CSV_HEADERS, csvCells, reportEntry } from '../reportEntry.js';

export { deadlineMet } from '../reportEntry.js';

const PAGE = 1000;
const FORMATS = ['csv', 'json'] as const;

export default defineCommand({
  order: 50,
  register(program, ctx) {
    program
      .command('report')
      .description(
        'evidence export: per customer and vendor, every time from revocation to verification, checks made, alerts, ' +
          'the deadline (and the extended one), the expected completion and its slack, verification, and whether the ' +
          'legal deadline was met (requests revoked from --since up to --until)',
      )
      .requiredOption('--since <date>', 'first day (YYYY-MM-DD, UTC) or ISO timestamp, inclusive')
      .option('--until <date>', 'end (YYYY-MM-DD or ISO timestamp), exclusive; default now')
      .option('--format <format>', FORMATS.join(', '), 'csv')
      .action(async (opts: { since: string; until?: string; format: string }) => {
        const since = parseDateOption('--since', opts.since);
        const until = opts.until !== undefined ? parseDateOption('--until', opts.until) : ctx.clock.now();
        if (until.getTime() <= since.getTime()) throw new UsageError('--until must be later than --since');
        if (!(FORMATS as readonly string[]).includes(opts.format)) {
          throw new UsageError(`--format: "${opts.format}" is not one of ${FORMATS.join(', ')}`);
        }
        const pool = await ctx.pool();
        const now = ctx.clock.now();
        const { config } = ctx.settings();
        const forecaster = await createSlackForecaster(pool, {
          policies: config.vendors.map((v) => ({ vendor: v.name, expectedDurationMs: policyOf(v).expectedDurationMs })),
          riskMarginMs: config.deadline.riskMarginMs,
        });
        // Streamed page by page, so a report over millions of deletions never sits in memory at once.
        if (opts.format === 'csv') ctx.out(csvLine(CSV_HEADERS));
        else ctx.io.stdout('[');
        let after = '0';
        let count = 0;
        for (;;) {
          const rows = await reportPage(pool, { since, until, afterDeletionId: after, limit: PAGE });
          for (const r of rows) {
            const slack = forecaster.of(
              { vendor: r.vendor, state: r.state, submittedAt: r.submitted_at, queuedAt: r.queued_at, expectedBy: r.expected_by, expectedSource: r.expected_source, deadlineAt: r.deadline_at },
              now,
            );
            const entry = reportEntry(r, slack, now);
            if (opts.format === 'csv') ctx.out(csvLine(csvCells(entry)));
            else ctx.io.stdout(`${count === 0 ? '\n' : ',\n'}  ${JSON.stringify(entry)}`);
            count++;
          }
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.deletion_id;
        }
        if (opts.format === 'json') ctx.out(count === 0 ? ']' : '\n]');
      });
  },
});
