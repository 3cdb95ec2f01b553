import type { ReportRow } from '../../store/reportPage.js';
import { reportPage } from '../../store/reportPage.js';
import { defineCommand, UsageError } from '../context.js';
import { csvLine, iso, parseDateOption } from '../output.js';
import { NEEDS } from '../needs.js';
import { summarizeCallback, type CallbackSummary } from '../../domain/callbackSummary.js';

const PAGE = 1000;

/** Whether the deletion finished by its legal deadline: true, false, or null while it is still open and in time. */
export function deadlineMet(row: Pick<ReportRow, 'completed_at' | 'deadline_at'>, now: Date): boolean | null {
  if (row.completed_at) return row.completed_at.getTime() <= row.deadline_at.getTime();
  return now.getTime() > row.deadline_at.getTime() ? false : null;
}

const HEADERS = [
  'customer_id',
  'vendor',
  'state',
  'source',
  'regime',
  'revoked_at',
  'submitted_at',
  'accepted_at',
  'operation_id',
  'completed_at',
  'verified_at',
  'checks',
  'alerts_raised',
  'alerts_sent',
  'deadline_at',
  'deadline_met',
  'final_status',
  'callbacks',
  'callbacks_verified',
  'last_callback',
];

/** The callbacks of a report row, as the timeline shows them. */
function callbacksOf(row: ReportRow): CallbackSummary[] {
  return row.callbacks.flatMap((c) => summarizeCallback(c) ?? []);
}

export default defineCommand({
  order: 50,
  register(program, ctx) {
    const command = program
      .command('report')
      .description(
        'evidence export: per customer and vendor, every time from revocation to verification, checks made, ' +
          'alerts, and whether the legal deadline was met (requests revoked from --since up to --until)',
      )
      .requiredOption('--since <date>', 'first day (YYYY-MM-DD, UTC) or ISO timestamp, inclusive')
      .option('--until <date>', 'end (YYYY-MM-DD or ISO timestamp), exclusive; default now')
      .option('--format <format>', 'csv or json', 'csv')
      .action(async (opts: { since: string; until?: string; format: string }) => {
        const since = parseDateOption('--since', opts.since);
        const until = opts.until !== undefined ? parseDateOption('--until', opts.until) : ctx.clock.now();
        if (until.getTime() <= since.getTime()) throw new UsageError('--until must be later than --since');
        if (opts.format !== 'csv' && opts.format !== 'json') {
          throw new UsageError(`--format: "${opts.format}" is not csv or json`);
        }
        const pool = await ctx.pool();
        const now = ctx.clock.now();
        // Streamed page by page, so a report over millions of deletions never sits in memory at once.
        if (opts.format === 'csv') ctx.out(csvLine(HEADERS));
        else ctx.io.stdout('[');
        let after = '0';
        let count = 0;
        for (;;) {
          const rows = await reportPage(pool, { since, until, afterDeletionId: after, limit: PAGE });
          for (const r of rows) {
            const met = deadlineMet(r, now);
            const callbacks = callbacksOf(r);
            const last = callbacks.at(-1);
            if (opts.format === 'csv') {
              ctx.out(
                csvLine([
                  r.customer_id,
                  r.vendor,
                  r.state,
                  r.source,
                  r.regime,
                  iso(r.revoked_at),
                  iso(r.first_submit_at ?? r.submitted_at),
                  iso(r.submitted_at),
                  r.operation_id,
                  iso(r.completed_at),
                  iso(r.verified_at),
                  r.check_count,
                  r.alerts_raised,
                  r.alerts_sent,
                  iso(r.deadline_at),
                  met === null ? 'open' : met ? 'yes' : 'no',
                  r.state === 'completed' ? r.raw_status : null,
                  callbacks.length,
                  callbacks.filter((c) => c.signatureVerified).length,
                  last ? `${last.receivedAt} ${last.status}; certificate ${last.certificateSubject} (SHA-256 ${last.certificateFingerprint})` : null,
                ]),
              );
            } else {
              const entry = {
                customerId: r.customer_id,
                vendor: r.vendor,
                state: r.state,
                source: r.source,
                regime: r.regime,
                revokedAt: iso(r.revoked_at),
                submittedAt: iso(r.first_submit_at ?? r.submitted_at),
                acceptedAt: iso(r.submitted_at),
                operationId: r.operation_id,
                operationRef: r.operation_ref,
                completedAt: iso(r.completed_at),
                verifiedAt: iso(r.verified_at),
                checks: r.check_count,
                alertsRaised: r.alerts_raised,
                alertsSent: r.alerts_sent,
                deadlineAt: iso(r.deadline_at),
                deadlineMet: met,
                regrantedAt: iso(r.regranted_at),
                completionEvidence: r.state === 'completed' ? { status: r.raw_status, payload: r.status_payload } : null,
                // Each signed status callback: signature verified or not, certificate subject and fingerprint.
                callbacks,
              };
              ctx.io.stdout(`${count === 0 ? '\n' : ',\n'}  ${JSON.stringify(entry)}`);
            }
            count++;
          }
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.deletion_id;
        }
        if (opts.format === 'json') ctx.out(count === 0 ? ']' : '\n]');
      });
    ctx.needs(command, NEEDS.database);
  },
});
