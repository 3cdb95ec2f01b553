import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { buildTimeline } from '../../domain/timeline.js';
import { createSlackForecaster } from '../../services/deadlineSlack.js';
import { loadTimelineRows } from '../../store/loadTimelineRows.js';
import { reportPage, type ReportRow } from '../../store/reportPage.js';
import { policyOf } from '../../vendors/registry.js';
import { findChromium, printToPdf } from '../chromium.js';
import { defineCommand, UsageError } from '../context.js';
import { NEEDS } from '../needs.js';
import { csvLine, parseDateOption } from '../output.js';
import { CSV_HEADERS, csvCells, reportEntry, type ReportEntry } from '../reportEntry.js';
import { renderReportHtml, type ReportRequest } from '../reportHtml.js';

export { deadlineMet } from '../reportEntry.js';

const PAGE = 1000;
const FORMATS = ['csv', 'json', 'html', 'pdf'] as const;
type Format = (typeof FORMATS)[number];
/** An HTML or PDF report is one document held in memory: a period with more deletions is refused (use csv/json). */
const DOCUMENT_LIMIT = 20_000;

export default defineCommand({
  order: 50,
  register(program, ctx) {
    const command = program
      .command('report')
      .description(
        'evidence export: per customer and vendor, every time from revocation to verification, checks made, alerts, ' +
          'the deadline (and the extended one), the expected completion and its slack, verification, and whether the ' +
          'legal deadline was met (requests revoked from --since up to --until). html and pdf: a document for an ' +
          'authority, with a summary page (met / missed / at risk) and each request\'s vendors, timelines and receipts',
      )
      .requiredOption('--since <date>', 'first day (YYYY-MM-DD, UTC) or ISO timestamp, inclusive')
      .option('--until <date>', 'end (YYYY-MM-DD or ISO timestamp), exclusive; default now')
      .option('--format <format>', FORMATS.join(', '), 'csv')
      .option('--out <file>', 'write the report to this file (required for pdf; otherwise stdout)')
      .action(async (opts: { since: string; until?: string; format: string; out?: string }) => {
        const since = parseDateOption('--since', opts.since);
        const until = opts.until !== undefined ? parseDateOption('--until', opts.until) : ctx.clock.now();
        if (until.getTime() <= since.getTime()) throw new UsageError('--until must be later than --since');
        if (!(FORMATS as readonly string[]).includes(opts.format)) {
          throw new UsageError(`--format: "${opts.format}" is not one of ${FORMATS.join(', ')}`);
        }
        const format = opts.format as Format;
        if (format === 'pdf' && !opts.out) throw new UsageError('--format pdf needs --out <file> (a PDF is not written to a terminal)');
        const chromium = format === 'pdf' ? findChromium(ctx.io.env) : null;
        if (chromium && chromium.path === null) {
          throw new UsageError(`--format pdf prints with headless Chromium, and there is none at ${chromium.lookedAt} (apt-get install chromium, or set CHROMIUM_PATH)`);
        }
        const pool = await ctx.pool();
        const now = ctx.clock.now();
        const { config } = ctx.settings();
        const forecaster = await createSlackForecaster(pool, {
          policies: config.vendors.map((v) => ({ vendor: v.name, expectedDurationMs: policyOf(v).expectedDurationMs })),
          riskMarginMs: config.deadline.riskMarginMs,
        });
        const entryOf = (r: ReportRow): ReportEntry => {
          const slack = forecaster.of(
            { vendor: r.vendor, state: r.state, submittedAt: r.submitted_at, queuedAt: r.queued_at, expectedBy: r.expected_by, expectedSource: r.expected_source, deadlineAt: r.deadline_at },
            now,
          );
          return reportEntry(r, slack, now);
        };
        const pages = async function* () {
          let after = '0';
          for (;;) {
            const rows = await reportPage(pool, { since, until, afterDeletionId: after, limit: PAGE });
            yield rows;
            if (rows.length < PAGE) return;
            after = rows[rows.length - 1]!.deletion_id;
          }
        };

        if (format === 'csv' || format === 'json') {
          // Streamed page by page, so a report over millions of deletions never sits in memory at once.
          const lines: string[] = [];
          const emit = opts.out ? (s: string) => void lines.push(s) : (s: string) => ctx.io.stdout(s);
          if (format === 'csv') emit(`${csvLine(CSV_HEADERS)}\n`);
          else emit('[');
          let count = 0;
          for await (const rows of pages()) {
            for (const r of rows) {
              const entry = entryOf(r);
              emit(format === 'csv' ? `${csvLine(csvCells(entry))}\n` : `${count === 0 ? '\n' : ',\n'}  ${JSON.stringify(entry)}`);
              count++;
            }
          }
          if (format === 'json') emit(count === 0 ? ']\n' : '\n]\n');
          if (opts.out) await writeFile(resolve(ctx.io.cwd, opts.out), lines.join(''));
          return;
        }

        const byRequest = new Map<string, ReportRequest>();
        let count = 0;
        for await (const rows of pages()) {
          count += rows.length;
          if (count > DOCUMENT_LIMIT) throw new UsageError(`the period holds more than ${DOCUMENT_LIMIT} deletions: narrow --since/--until for html or pdf, or use csv or json`);
          for (const r of rows) {
            const request = byRequest.get(r.request_id) ?? { requestId: r.request_id, entries: [], timeline: undefined };
            request.entries.push(entryOf(r));
            byRequest.set(r.request_id, request);
          }
        }
        const requests = [...byRequest.values()].sort((a, b) => (a.entries[0]!.revokedAt ?? '').localeCompare(b.entries[0]!.revokedAt ?? '') || Number(a.requestId) - Number(b.requestId));
        const customers = [...new Set(requests.map((r) => r.entries[0]!.customerId))];
        for (let i = 0; i < customers.length; i += PAGE) {
          const timelines = buildTimeline(await loadTimelineRows(pool, customers.slice(i, i + PAGE)), now);
          for (const t of timelines) {
            const request = byRequest.get(t.requestId);
            if (request) request.timeline = t;
          }
        }
        const html = renderReportHtml({ generatedAt: now, since, until, requests });
        if (format === 'html') {
          if (opts.out) await writeFile(resolve(ctx.io.cwd, opts.out), html);
          else ctx.io.stdout(html);
          return;
        }
        const pdf = await printToPdf(chromium!.path!, html);
        await writeFile(resolve(ctx.io.cwd, opts.out!), pdf);
        ctx.out(`wrote ${opts.out} (${pdf.length} bytes, ${requests.length} requests)`);
      });
    ctx.needs(command, NEEDS.database);
  },
});
