import { SECRET_SETTINGS } from '../vendors/settings.js';
import { isVendorKind } from '../vendors/DeletionVendor.js';
import type { Alert, AlertItem, AlertKind } from './AlertMessage.js';
import { capText } from '../text.js';

/** An alert as an email: subject, plain text and HTML carrying the same facts. */
export interface RenderedAlert {
  subject: string;
  text: string;
  html: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** Escapes text for HTML element content and attribute values. Everything from outside goes through it. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Quotes a value for a POSIX shell, so a suggested command stays one argument whatever the customer id holds. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Control characters (newlines included) would break a subject header or a table row; length is capped. */
function oneLine(value: string): string {
  return capText(value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim());
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 days", "5 hours", "less than an hour". */
function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 2 * DAY_MS) return `${Math.floor(abs / DAY_MS)} days`;
  if (abs >= DAY_MS) return '1 day';
  if (abs >= 2 * HOUR_MS) return `${Math.floor(abs / HOUR_MS)} hours`;
  if (abs >= HOUR_MS) return '1 hour';
  return 'less than an hour';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The environment variables that hold a vendor's credentials, e.g. VENDOR_HTTP_API_KEY. */
export function secretVariables(vendor: string | null): string[] {
  if (!vendor) return ['VENDOR_<NAME>_…'];
  const prefix = `VENDOR_${vendor.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`;
  if (!isVendorKind(vendor)) return [`${prefix}…`];
  return SECRET_SETTINGS[vendor].map((k) => prefix + k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase());
}

interface KindText {
  title: (vendor: string) => string;
  /** What the email says when it lists no deletion (default: that none is attached). */
  noItems?: string;
  what: (m: Alert, vendor: string) => string;
  actions: (m: Alert, vendor: string) => string[];
}

const statusCommand = (m: Alert) =>
  m.vendor ? `consent-erasure status --vendor ${shellQuote(m.vendor)} --json` : 'consent-erasure status --json';

function retryCommands(m: Alert): string {
  const first = m.items[0];
  return first ? `consent-erasure retry ${shellQuote(first.customerId)}` : 'consent-erasure retry <customerId>';
}

const KINDS: Record<AlertKind, KindText> = {
  stale: {
    title: (v) => `Deletions overdue at ${v}`,
    what: (m, v) =>
      `${plural(m.totalItems, 'deletion')} at ${v} ${m.totalItems === 1 ? 'has' : 'have'} not completed within the time ${v} is expected to take.`,
    actions: (m, v) => [
      `Look up the operation ids below in ${v}'s dashboard or API and see whether the jobs are still queued, running or lost.`,
      `If ${v} lost or rejected a job, submit it again: ${retryCommands(m)} (one command per customer).`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  no_progress: {
    title: (v) => `Deletions not progressing at ${v}`,
    what: (m, v) =>
      `${plural(m.totalItems, 'deletion')} at ${v} reported the same status for longer than ${v}'s no-progress limit.`,
    actions: (m, v) => [
      `Look up the operation ids below in ${v}'s dashboard or API; a job stuck in one status may need ${v}'s support.`,
      `If ${v} lost the job, submit it again: ${retryCommands(m)} (one command per customer).`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  failed: {
    title: (v) => `Deletions failed at ${v}`,
    what: (m, v) => {
      const words = m.items.find((i) => i.detail)?.detail;
      return (
        `${v} reported ${plural(m.totalItems, 'deletion')} as failed after the configured resubmissions, or refused ${m.totalItems === 1 ? 'it' : 'them'} ` +
        `(VENDOR_${(m.vendor ?? v).toUpperCase()}_MAX_REFUSALS times); ${m.totalItems === 1 ? 'it is' : 'they are'} in state error and will not be tried again by themselves.` +
        (words ? ` ${v}'s words: "${oneLine(words)}"` : '')
      );
    },
    actions: (m, v) => [
      `Fix what ${v}'s words name: a refused request (HTTP 4xx) is usually our settings (an identity type or region ${v} does not support for this account: VENDOR_${(m.vendor ?? v).toUpperCase()}_… ) or the account's settings in ${v}'s console.`,
      `Once the cause is fixed, submit them again: ${m.vendor ? `consent-erasure retry --vendor ${shellQuote(m.vendor)}` : 'consent-erasure retry --vendor <vendor>'} (all of ${v}'s failed deletions), or one customer: ${retryCommands(m)}.`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  deadline_warning: {
    title: () => 'Legal deadline approaching',
    what: (m, v) =>
      `${plural(m.totalItems, 'deletion')}${m.vendor ? ` at ${v}` : ''} ${m.totalItems === 1 ? 'is' : 'are'} not complete and the legal deadline for erasure is close.`,
    actions: (m) => [
      'Escalate now to the data protection officer and the owner of the vendor relationship.',
      'Chase the vendor with the operation ids below; where the vendor allows it, delete the data by hand and record how.',
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  deadline_missed: {
    title: () => 'Legal deadline missed',
    what: (m, v) =>
      `${plural(m.totalItems, 'deletion')}${m.vendor ? ` at ${v}` : ''} ${m.totalItems === 1 ? 'is' : 'are'} still not complete after the legal deadline for erasure.`,
    actions: (m) => [
      'Escalate at once to the data protection officer: a missed erasure deadline may have to be documented or reported.',
      'Chase the vendor with the operation ids below and record every step taken.',
      `Export the evidence for the affected customers with: consent-erasure report --since ${new Date(m.since).toISOString().slice(0, 10)} --format csv`,
    ],
  },
  contract_violation: {
    title: (v) => `${v} answered outside its documented API`,
    noItems:
      'No deletion is listed: no status check or create call of a deletion met this drift (the live contract check found it; see the detail).',
    what: (_m, v) =>
      `${v} returned a response that does not match its documented contract (a missing field, an unknown status or a body that is not JSON). ` +
      'The affected operations keep their last good state, and polling goes on, so this recovers by itself once the vendor answers correctly again.',
    actions: (_m, v) => [
      `${v} has probably changed its API. Read the ERROR entries (event vendor_contract_violation) in Cloud Logging or Error Reporting for the full response.`,
      'Compare the sample below with the vendor\'s current API documentation, and update the adapter if the change is permanent.',
      'No deletion is lost meanwhile: the operations are checked again on their schedule.',
    ],
  },
  credential_rejected: {
    title: (v) => `${v} rejected our credentials`,
    what: (_m, v) => `${v} answered 401 or 403: the credentials consent-erasure uses for ${v} are no longer accepted.`,
    actions: (m, v) => [
      `Create a new credential in ${v}'s console and store it in the Secret Manager secret behind ${secretVariables(m.vendor).join(' / ')}, then deploy a new revision so the functions read it.`,
      'Deletions wait meanwhile and are submitted or checked again once the credential works.',
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  mass_refusal: {
    title: (v) => `${v} refuses every deletion: submissions held`,
    what: (_m, v) =>
      `${v} gave the same refusal to many deletions in a short time, so the cause is not one customer but our request or our account at ${v}. ` +
      `Submissions to ${v} are held (no further calls) until the cause is fixed; status checks of jobs ${v} already accepted go on.`,
    actions: (m, v) => [
      `Read ${v}'s words in the detail below and fix the cause: our settings for ${v} (VENDOR_${(m.vendor ?? v).toUpperCase()}_…) or the account's settings in ${v}'s console.`,
      `Deploying the fixed settings releases the hold by itself; otherwise release it with: consent-erasure vendors resume ${shellQuote(m.vendor ?? v)}`,
      `Deletions refused ${'`'}MAX_REFUSALS${'`'} times are in state error: once fixed, submit them again with consent-erasure retry --vendor ${shellQuote(m.vendor ?? v)}`,
    ],
  },
  quota_low: {
    title: (v) => `${v}'s monthly deletion quota is nearly spent`,
    what: (_m, v) =>
      `${v} accepts a limited number of deletion subjects per calendar month, and most of this month's have been sent. ` +
      'Once it is spent, new deletions wait for the next month (they are not refused or failed).',
    actions: (m, v) => [
      `If more deletions are expected this month, ask ${v}'s support for a higher limit now (Segment: for Segment-only regulation types).`,
      `If the limit is raised, set VENDOR_${(m.vendor ?? v).toUpperCase()}_MONTHLY_SUBJECT_QUOTA to the new figure.`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  quota_exhausted: {
    title: (v) => `${v}'s monthly deletion quota is spent`,
    what: (_m, v) =>
      `${v}'s limit of deletion subjects for this calendar month is reached. Further deletions at ${v} stay queued until the quota resets ` +
      '(the time is in the detail below); none is failed or lost, but legal deadlines keep running.',
    actions: (m, v) => [
      `Ask ${v}'s support for a higher limit if deadlines fall before the reset, then set VENDOR_${(m.vendor ?? v).toUpperCase()}_MONTHLY_SUBJECT_QUOTA.`,
      'Deletions whose legal deadline falls before the reset raise their own deadline alerts.',
      `See the waiting deletions with: ${statusCommand(m)}`,
    ],
  },
  deadline_at_risk: {
    title: (v) => `Deletions at ${v} expected to finish after their legal deadline`,
    what: (m, v) =>
      `${plural(m.totalItems, 'deletion')} at ${v} ${m.totalItems === 1 ? 'is' : 'are'} expected to complete after the legal deadline, ` +
      'or too close to it (inside the configured margin). Each item names the expected date and where it comes from: the vendor\'s own date, ' +
      'our history of the vendor (p90), or its documented figure.',
    actions: (m, v) => [
      `Ask ${v} to bring the deletion forward, or delete the data by other means and record how.`,
      `Where the law allows and it is still inside the notice window, extend the deadline and tell the person why: consent-erasure extend <customerId> --reason "…" (${m.items.length > 0 ? `e.g. consent-erasure extend ${shellQuote(m.items[0]!.customerId)} --reason "…"` : 'one command per customer'}).`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
  verification_failed: {
    title: (v) => `${v} still holds data after reporting deletions complete`,
    what: (m, v) =>
      `${v} reported ${plural(m.totalItems, 'deletion')} complete, but a lookup afterwards still found the customer's data ` +
      '(the deletion missed data, or data came back, e.g. new events from a device that still sends them). The vendor\'s answer is kept as evidence.',
    actions: (m, v) => [
      `Read the evidence in the timeline (consent-erasure timeline <customerId>) and check the profile in ${v}'s dashboard.`,
      `Stop whatever still sends this customer's data to ${v}, then delete again: ${retryCommands(m)} (one command per customer).`,
      `Follow progress with: ${statusCommand(m)}`,
    ],
  },
};

function itemRows(items: AlertItem[]): string[][] {
  return items.map((i) => [
    oneLine(i.customerId),
    oneLine(i.vendor),
    oneLine(i.operationId ?? '(none yet)'),
    oneLine(i.state),
    formatTime(i.since),
    i.deadlineAt ? formatTime(i.deadlineAt) : '',
    oneLine(i.detail ?? ''),
  ]);
}

const HEADERS = ['Customer', 'Vendor', 'Operation', 'State', 'Since', 'Deadline', 'Detail'];

function earliestDeadline(m: Alert): string | undefined {
  const times = m.items.map((i) => i.deadlineAt).filter((d): d is string => d !== null);
  return times.sort((a, b) => new Date(a).getTime() - new Date(b).getTime())[0];
}

/** What both parts of the email say. */
interface AlertParts {
  subject: string;
  title: string;
  what: string;
  facts: Array<[string, string]>;
  actions: string[];
  rows: string[][];
  truncated: string | undefined;
  noItems: string;
}

function renderText(message: Alert, { title, what, facts, actions, rows, truncated, noItems }: AlertParts): string {
  return [
    title,
    '',
    what,
    message.summary,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(message.detail ? ['', 'Detail:', message.detail] : []),
    '',
    'What to do:',
    ...actions.map((a, n) => `${n + 1}. ${a}`),
    '',
    rows.length > 0 ? 'Affected deletions:' : noItems,
    ...rows.map(
      (r) =>
        `- customer ${r[0]} | vendor ${r[1]} | operation ${r[2]} | state ${r[3]} | since ${r[4]}${r[5] ? ` | deadline ${r[5]}` : ''}${r[6] ? ` | ${r[6]}` : ''}`,
    ),
    ...(truncated ? ['', truncated] : []),
    '',
    '-- consent-erasure',
    '',
  ].join('\n');

}

function renderHtml(message: Alert, { subject, title, what, facts, actions, rows, truncated, noItems }: AlertParts): string {
  const e = escapeHtml;
  const cell = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"';
  return [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${e(subject)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
    `<h2 style="margin:0 0 12px">${e(title)}</h2>`,
    `<p>${e(what)}</p>`,
    `<p>${e(message.summary)}</p>`,
    '<table style="border-collapse:collapse;margin:12px 0">',
    ...facts.map(([k, v]) => `<tr><th ${cell}>${e(k)}</th><td ${cell}>${e(v)}</td></tr>`),
    '</table>',
    ...(message.detail ? ['<h3>Detail</h3>', `<pre style="white-space:pre-wrap;background:#f5f5f5;padding:8px">${e(message.detail)}</pre>`] : []),
    '<h3>What to do</h3>',
    '<ol>',
    ...actions.map((a) => `<li>${e(a)}</li>`),
    '</ol>',
    ...(rows.length > 0
      ? [
          '<h3>Affected deletions</h3>',
          '<table style="border-collapse:collapse">',
          `<tr>${HEADERS.map((h) => `<th ${cell}>${e(h)}</th>`).join('')}</tr>`,
          ...rows.map((r) => `<tr>${r.map((v) => `<td ${cell}>${e(v)}</td>`).join('')}</tr>`),
          '</table>',
        ]
      : [`<p>${e(noItems)}</p>`]),
    ...(truncated ? [`<p><em>${e(truncated)}</em></p>`] : []),
    '<p style="color:#777;font-size:12px">consent-erasure</p>',
    '</body></html>',
    '',
  ].join('\n');

}

/**
 * Renders an alert as an email. Pure: the same message gives the same email. Every value that came from
 * outside (customer ids, vendor names, operation ids, details) is escaped in the HTML part.
 */
export function renderAlert(alert: Alert): RenderedAlert {
  // Every text is capped however it was built, so no value can make the email unbounded.
  const message: Alert = {
    ...alert,
    summary: capText(alert.summary, 1000),
    incidentKey: capText(alert.incidentKey, 300),
    ...(alert.detail !== undefined ? { detail: capText(alert.detail) } : {}),
  };
  const vendor = oneLine(message.vendor ?? 'all vendors');
  const kind = KINDS[message.kind];
  const title = kind.title(vendor);
  const reminder = message.escalation > 0 ? ` (reminder ${message.escalation})` : '';
  const subject = oneLine(`[consent-erasure] ${title}: ${plural(message.totalItems, 'deletion')}${reminder}`).slice(0, 250);

  const raised = new Date(message.raisedAt).getTime();
  const sinceText = `${formatTime(message.since)} (${formatDuration(raised - new Date(message.since).getTime())} before this alert)`;
  const deadline = earliestDeadline(message);
  const deadlineText = deadline
    ? `${formatTime(deadline)} (${new Date(deadline).getTime() < raised ? `passed ${formatDuration(raised - new Date(deadline).getTime())} ago` : `in ${formatDuration(new Date(deadline).getTime() - raised)}`})`
    : undefined;
  const truncated =
    message.totalItems > message.items.length
      ? `Showing ${message.items.length} of ${message.totalItems} affected deletions. List them all with: ${statusCommand(message)}`
      : undefined;
  const what = kind.what(message, vendor);
  const actions = kind.actions(message, vendor);
  const facts: Array<[string, string]> = [
    ['Vendor', vendor],
    ['Since', sinceText],
    ...(deadlineText ? ([['Earliest deadline', deadlineText]] as Array<[string, string]>) : []),
    ['Affected deletions', String(message.totalItems)],
    ['Alert', `${message.alertId} (incident ${message.incidentKey}${message.escalation > 0 ? `, reminder ${message.escalation}` : ''})`],
    ['Raised at', formatTime(message.raisedAt)],
  ];
  const rows = itemRows(message.items);

  const noItems = kind.noItems ?? 'No individual deletions are attached to this alert.';
  const parts: AlertParts = { subject, title, what, facts, actions, rows, truncated, noItems };
  return { subject, text: renderText(message, parts), html: renderHtml(message, parts) };
}
