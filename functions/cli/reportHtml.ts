import type { RequestTimeline, TimelineEntry } from '../domain/timeline.js';
import type { ReportEntry } from './reportEntry.js';

/** One request of the report: its deletions (report entries) and, where loaded, its timeline. */
export interface ReportRequest {
  requestId: string;
  entries: ReportEntry[];
  timeline: RequestTimeline | undefined;
}

export interface ReportDocument {
  generatedAt: Date;
  since: Date;
  until: Date;
  requests: ReportRequest[];
}

/** Where a request stands against its deadline in force: every vendor finished in time, one did not, one is expected late, or open. */
export type RequestOutcome = 'met' | 'missed' | 'at_risk' | 'open';

export function requestOutcome(entries: readonly ReportEntry[]): RequestOutcome {
  if (entries.some((e) => e.deadlineMet === false)) return 'missed';
  if (entries.every((e) => e.deadlineMet === true || e.state === 'cancelled')) return 'met';
  return entries.some((e) => e.atRisk) ? 'at_risk' : 'open';
}

const OUTCOME_TEXT: Record<RequestOutcome, string> = { met: 'met', missed: 'MISSED', at_risk: 'at risk', open: 'open' };

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const e = (v: unknown): string => escapeHtml(v === null || v === undefined ? '–' : String(v));
/** An ISO time shown to the minute, in UTC. */
const when = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '–');
const json = (v: unknown): string => escapeHtml(JSON.stringify(v, null, 1) ?? '');

const signed = (v: unknown): boolean => v !== null && typeof v === 'object' && 'signature' in v;

/** Signed receipts a vendor gave (an OpenDSR callback carries its processor's signature); the detail is kept whole. */
function receiptsOf(events: readonly TimelineEntry[]): TimelineEntry[] {
  return events.filter((ev) => ev.kind.includes('callback') || signed(ev.detail));
}

function verificationCell(entry: ReportEntry): string {
  switch (entry.verification) {
    case 'verified':
      return `<span class="ok">verified</span> ${e(when(entry.verifiedAt))}`;
    case 'verification_failed':
      return `<span class="bad">data still found</span> ${e(when(entry.verificationEvidence?.at))}<pre>${json(entry.verificationEvidence?.answer)}</pre>`;
    case 'not_verified':
      return 'not verified (no lookup)';
    default:
      return '–';
  }
}

function vendorSection(entry: ReportEntry, timeline: RequestTimeline | undefined): string {
  const vt = timeline?.vendors.find((v) => v.vendor === entry.vendor);
  const events = vt?.events ?? [];
  const receipts = receiptsOf(events);
  const slack = entry.expectedCompletion
    ? `expected ${e(when(entry.expectedCompletion.at))} (${e(entry.expectedCompletion.source)}); slack ${e(entry.slackDays)} days${entry.atRisk ? ' <span class="bad">at risk</span>' : ''}`
    : '–';
  return `
    <section class="vendor">
      <h4>${e(entry.vendor)} <span class="state">${e(entry.state)}</span></h4>
      <table class="facts">
        <tr><th>operation</th><td><code>${e(entry.operationId)}</code></td><th>checks</th><td>${e(entry.checks)}</td></tr>
        <tr><th>submitted</th><td>${e(when(entry.submittedAt))}</td><th>accepted</th><td>${e(when(entry.acceptedAt))}</td></tr>
        <tr><th>completed</th><td>${e(when(entry.completedAt))}</td><th>deadline met</th><td>${entry.deadlineMet === null ? 'open' : entry.deadlineMet ? '<span class="ok">yes</span>' : '<span class="bad">no</span>'}</td></tr>
        <tr><th>forecast</th><td colspan="3">${slack}</td></tr>
        <tr><th>verification</th><td colspan="3">${verificationCell(entry)}</td></tr>
        <tr><th>alerts</th><td colspan="3">${e(entry.alertsRaised)} raised, ${e(entry.alertsSent)} sent</td></tr>
      </table>
      ${
        events.length > 0
          ? `<ol class="timeline">${events.map((ev) => `<li><time>${e(when(ev.at))}</time> <b>${e(ev.kind)}</b>${statusWord(ev.detail)}</li>`).join('')}</ol>`
          : ''
      }
      ${
        entry.completionEvidence
          ? `<details${signed(entry.completionEvidence.payload) ? ' open' : ''}><summary>${signed(entry.completionEvidence.payload) ? 'signed receipt: ' : ''}vendor's completion answer (${e(entry.completionEvidence.status)})</summary><pre>${json(entry.completionEvidence.payload)}</pre></details>`
          : ''
      }
      ${receipts.map((r) => `<details open><summary>signed receipt: ${e(r.kind)} ${e(when(r.at))}</summary><pre>${json(r.detail)}</pre></details>`).join('')}
    </section>`;
}

function statusWord(detail: unknown): string {
  if (!detail || typeof detail !== 'object') return '';
  const d = detail as Record<string, unknown>;
  const word = d['rawStatus'] ?? d['reason'] ?? d['summary'];
  return typeof word === 'string' ? ` <span class="muted">${e(word)}</span>` : '';
}

function requestSection(r: ReportRequest): string {
  const first = r.entries[0]!;
  const outcome = requestOutcome(r.entries);
  const extension = first.extension
    ? `<tr><th>extended</th><td colspan="3">to ${e(when(first.deadlineAt))} on ${e(when(first.extension.at))} by ${e(first.extension.by)}: “${e(first.extension.reason)}”</td></tr>`
    : '';
  return `
  <article class="request ${outcome}">
    <h3>Customer <code>${e(first.customerId)}</code> <span class="badge ${outcome}">${OUTCOME_TEXT[outcome]}</span></h3>
    <table class="facts">
      <tr><th>regime</th><td>${e(first.regime)}</td><th>withdrawn</th><td>${e(when(first.revokedAt))} (${e(first.source)})</td></tr>
      <tr><th>deadline</th><td>${e(when(first.initialDeadlineAt))}</td><th>in force</th><td>${e(when(first.deadlineAt))}</td></tr>
      ${extension}
    </table>
    ${r.entries.map((entry) => vendorSection(entry, r.timeline)).join('')}
  </article>`;
}

function summarySection(doc: ReportDocument): string {
  const counts: Record<RequestOutcome, number> = { met: 0, missed: 0, at_risk: 0, open: 0 };
  const byRegime = new Map<string, Record<RequestOutcome, number>>();
  for (const r of doc.requests) {
    const outcome = requestOutcome(r.entries);
    counts[outcome] += 1;
    const regime = r.entries[0]!.regime;
    const row = byRegime.get(regime) ?? { met: 0, missed: 0, at_risk: 0, open: 0 };
    row[outcome] += 1;
    byRegime.set(regime, row);
  }
  const deletions = doc.requests.flatMap((r) => r.entries);
  const verified = deletions.filter((d) => d.verification === 'verified').length;
  const failed = deletions.filter((d) => d.verification === 'verification_failed').length;
  return `
  <section class="summary">
    <h2>Summary</h2>
    <p>Requests withdrawn from ${e(when(doc.since.toISOString()))} up to ${e(when(doc.until.toISOString()))}; report made ${e(when(doc.generatedAt.toISOString()))}.</p>
    <div class="counts">
      <div class="count met"><b id="count-met">${counts.met}</b> met</div>
      <div class="count missed"><b id="count-missed">${counts.missed}</b> missed</div>
      <div class="count at_risk"><b id="count-at-risk">${counts.at_risk}</b> at risk</div>
      <div class="count open"><b id="count-open">${counts.open}</b> open, in time</div>
    </div>
    <table class="grid">
      <thead><tr><th>regime</th><th>met</th><th>missed</th><th>at risk</th><th>open</th></tr></thead>
      <tbody>${[...byRegime.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([regime, c]) => `<tr><td>${e(regime)}</td><td>${c.met}</td><td>${c.missed}</td><td>${c.at_risk}</td><td>${c.open}</td></tr>`)
        .join('')}</tbody>
    </table>
    <p>${deletions.length} vendor deletions; ${verified} verified by a lookup after completion, ${failed} where the lookup still found data.</p>
    <p class="muted">A request is met when every vendor completed by the deadline in force, missed when one did not (or is still open after it),
    at risk when a vendor's expected completion falls within the margin of the deadline. Deadlines: each regime's own rule
    (GDPR one calendar month, CCPA 45 days, …), extended only inside the notice window and recorded with who, when and why.</p>
  </section>`;
}

const STYLE = `
  body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; } h3 { font-size: 15px; margin: 0 0 6px; } h4 { font-size: 13px; margin: 8px 0 4px; }
  .summary { page-break-after: always; }
  .counts { display: flex; gap: 12px; margin: 12px 0; }
  .count { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 16px; min-width: 110px; }
  .count b { display: block; font-size: 26px; }
  .count.met b { color: #1a7f37; } .count.missed b { color: #cf222e; } .count.at_risk b { color: #9a6700; }
  table { border-collapse: collapse; } .grid td, .grid th { border: 1px solid #d0d7de; padding: 3px 10px; }
  .facts th { text-align: left; color: #57606a; font-weight: normal; padding: 1px 10px 1px 0; } .facts td { padding: 1px 16px 1px 0; }
  .request { border: 1px solid #d0d7de; border-left: 5px solid #8c959f; border-radius: 6px; padding: 10px 14px; margin: 12px 0; page-break-inside: avoid; }
  .request.met { border-left-color: #1a7f37; } .request.missed { border-left-color: #cf222e; } .request.at_risk { border-left-color: #bf8700; }
  .badge { font-size: 11px; border-radius: 10px; padding: 1px 8px; background: #eaeef2; vertical-align: middle; }
  .badge.met { background: #dafbe1; } .badge.missed { background: #ffebe9; } .badge.at_risk { background: #fff8c5; }
  .vendor { border-top: 1px dashed #d0d7de; margin-top: 6px; } .state { font-weight: normal; color: #57606a; }
  .timeline { margin: 4px 0; padding-left: 20px; columns: 2; } .timeline time { color: #57606a; }
  .ok { color: #1a7f37; } .bad { color: #cf222e; font-weight: bold; } .muted { color: #57606a; }
  pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; word-break: break-all; font-size: 11px; margin: 4px 0; }
  code { font-size: 12px; }
`;

/** The report as one self-contained HTML document (no scripts, no external resources): a summary page, then every request. */
export function renderReportHtml(doc: ReportDocument): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>consent-erasure: erasure evidence report</title>
<style>${STYLE}</style>
</head>
<body>
  <h1>Erasure evidence report</h1>
  <p class="muted">consent-erasure: withdrawals of analytics consent and the deletions they caused at each vendor.</p>
  ${summarySection(doc)}
  <h2>Requests</h2>
  ${doc.requests.length === 0 ? '<p>No request in this period.</p>' : doc.requests.map(requestSection).join('')}
</body>
</html>
`;
}
