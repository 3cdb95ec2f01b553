import { buildTimeline, type RequestTimeline, type TimelineEntry } from '../../domain/timeline.js';
import { describeCallback, summarizeCallback } from '../../domain/callbackSummary.js';
import { loadTimelineRows } from '../../store/loadTimelineRows.js';
import { defineCommand, UsageError } from '../context.js';
import { recordedIds } from '../../services/pseudonymise.js';
import { NEEDS } from '../needs.js';

function describeDeadline(t: RequestTimeline): string {
  switch (t.deadline.status) {
    case 'met':
      return `deadline ${t.deadlineAt}: met (all vendors finished ${t.deadline.finishedAt})`;
    case 'missed':
      return `deadline ${t.deadlineAt}: MISSED${t.deadline.finishedAt ? ` (finished ${t.deadline.finishedAt})` : ' (still open)'}`;
    case 'open':
      return `deadline ${t.deadlineAt}: open, ${t.deadline.daysLeft} day(s) left`;
  }
}

/** One event's line; a callback's evidence (body, signature, certificate) is summarized (`--json` has it all). */
function eventText(e: TimelineEntry): string {
  const callback = e.kind === 'callback_received' ? summarizeCallback(e.detail) : null;
  return callback ? `${e.at}  callback_received ${describeCallback(callback)}` : `${e.at}  ${e.kind}${detailText(e.detail)}`;
}

function detailText(detail: unknown): string {
  if (!detail || typeof detail !== 'object' || Object.keys(detail).length === 0) return '';
  return ` ${JSON.stringify(detail)}`;
}

/** Renders the timeline for a terminal: one block per request, then per vendor, events in order. */
export function formatTimeline(customerId: string, timelines: RequestTimeline[]): string {
  if (timelines.length === 0) return `no deletion requests for customer ${JSON.stringify(customerId)}`;
  const lines: string[] = [];
  for (const t of timelines) {
    lines.push(`request ${t.requestId} for customer ${t.customerId}, under ${t.regime}`);
    lines.push(`  consent withdrawn ${t.revokedAt} (event ${t.sourceEventId} from ${t.source})`);
    if (t.regrantedAt) lines.push(`  consent granted again ${t.regrantedAt} (deletions already submitted are not undone)`);
    lines.push(`  ${describeDeadline(t)}`);
    for (const e of t.events) lines.push(`  ${e.at}  ${e.kind}${detailText(e.detail)}`);
    for (const v of t.vendors) {
      lines.push(`  vendor ${v.vendor}: ${v.state}, operation ${v.operationId ?? '-'}, ${v.checks} check(s)`);
      if (v.statuses.length > 0) {
        lines.push(`    statuses seen: ${v.statuses.map((s) => `${s.status} (first ${s.firstSeenAt})`).join(', ')}`);
      }
      if (v.callbacks.length > 0) {
        const verified = v.callbacks.filter((c) => c.signatureVerified).length;
        lines.push(`    signed callbacks: ${v.callbacks.length} received, ${verified} with a verified signature`);
      }
      for (const e of v.events) lines.push(`    ${eventText(e)}`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

export default defineCommand({
  order: 55,
  register(program, ctx) {
    const command = program
      .command('timeline')
      .description(
        "every request for a customer and, per vendor, each event in order: withdrawal, submission, each status " +
          'the vendor reported (first seen), completion, verification, alerts, retries; the deadline and whether it was met',
      )
      .argument('<customerId>', 'the customer (document id in the customers collection)')
      .option('--json', 'print JSON instead of text')
      .action(async (customerId: string, opts: { json?: boolean }) => {
        if (customerId.trim() === '') throw new UsageError('<customerId>: must not be empty');
        const rows = await loadTimelineRows(await ctx.pool(), recordedIds(customerId, ctx.settings().config.retention?.key));
        const timelines = buildTimeline(rows, ctx.clock.now());
        ctx.out(opts.json ? JSON.stringify({ customerId, requests: timelines }, null, 2) : formatTimeline(customerId, timelines));
      });
    ctx.needs(command, NEEDS.database);
  },
});
