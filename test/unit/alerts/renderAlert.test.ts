import assert from 'node:assert/strict';
import { ALERT_KINDS, AlertSchema, type Alert, type AlertItem, type AlertKind } from '../../../functions/alerts/AlertMessage.js';
import { escapeHtml, renderAlert, secretVariables, shellQuote } from '../../../functions/alerts/renderAlert.js';

function item(overrides: Partial<AlertItem> = {}): AlertItem {
  return {
    deletionId: '41',
    customerId: 'cust-7',
    vendor: 'http',
    operationId: 'op-123',
    state: 'submitted',
    since: '2026-03-01T08:00:00Z',
    deadlineAt: '2026-03-31T08:00:00Z',
    ...overrides,
  };
}

function alert(overrides: Partial<Alert> = {}): Alert {
  return AlertSchema.parse({
    alertId: '6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f',
    kind: 'stale',
    vendor: 'http',
    incidentKey: 'stale:http',
    escalation: 0,
    raisedAt: '2026-03-04T09:00:00Z',
    since: '2026-03-01T08:00:00Z',
    summary: 'One deletion is overdue.',
    items: [item()],
    totalItems: 1,
    ...overrides,
  });
}

describe('renderAlert', () => {
  it('names what happened, the vendor, operation and customer ids, since when and the deadline, in both parts', () => {
    const r = renderAlert(alert());
    assert.equal(r.subject, '[consent-erasure] Deletions overdue at http: 1 deletion');
    for (const part of [r.text, r.html]) {
      assert.match(part, /Deletions overdue at http/);
      assert.match(part, /has not completed within the time http is expected to take/);
      assert.match(part, /op-123/);
      assert.match(part, /cust-7/);
      assert.match(part, /2026-03-01 08:00 UTC \(3 days before this alert\)/);
      assert.match(part, /2026-03-31 08:00 UTC \(in 26 days\)/);
      assert.match(part, /One deletion is overdue\./);
    }
  });

  const advice: Record<AlertKind, RegExp[]> = {
    stale: [/dashboard/, /consent-erasure retry cust-7/],
    no_progress: [/same status/, /consent-erasure retry cust-7/],
    failed: [/failed/, /consent-erasure retry cust-7/, /consent-erasure retry --vendor http/, /VENDOR_HTTP_MAX_REFUSALS/],
    deadline_warning: [/Escalate now/, /legal deadline/],
    deadline_missed: [/Escalate at once/, /consent-erasure report --since 2026-03-01/],
    contract_violation: [/changed its API/, /vendor_contract_violation/, /last good state/],
    credential_rejected: [/VENDOR_HTTP_API_KEY/, /Secret Manager/],
    quota_low: [/nearly spent/, /VENDOR_HTTP_MONTHLY_SUBJECT_QUOTA/, /wait for the next month/],
    quota_exhausted: [/stay queued until the quota resets/, /none is failed or lost/, /VENDOR_HTTP_MONTHLY_SUBJECT_QUOTA/],
    mass_refusal: [/submissions held/, /consent-erasure vendors resume http/, /consent-erasure retry --vendor http/, /Deploying the fixed settings/],
    deadline_at_risk: [/expected to complete after the legal deadline/, /consent-erasure extend cust-7 --reason/],
    verification_failed: [/a lookup afterwards still found/, /consent-erasure retry cust-7/],
  };
  for (const kind of ALERT_KINDS) {
    it(`gives the operator kind-specific advice for ${kind}`, () => {
      const r = renderAlert(alert({ kind }));
      for (const re of advice[kind]) {
        assert.match(r.text, re, `text of ${kind}`);
        assert.match(r.html, re, `html of ${kind}`);
      }
      assert.match(r.subject, /^\[consent-erasure\] /);
    });
  }

  it('gives each kind its own subject', () => {
    const subjects = ALERT_KINDS.map((kind) => renderAlert(alert({ kind })).subject);
    assert.equal(new Set(subjects).size, ALERT_KINDS.length);
  });

  it('includes the quota\'s use and reset time (detail) in a quota alert', () => {
    const r = renderAlert(alert({ kind: 'quota_exhausted', vendor: 'segment', detail: 'segment: 110,000 of 110,000 subjects sent in 2026-03; the quota resets at 2026-04-01T00:00:00.000Z' }));
    for (const part of [r.text, r.html]) assert.match(part, /the quota resets at 2026-04-01T00:00:00\.000Z/);
  });

  it('includes the contract-violation sample (detail) and escapes it in HTML', () => {
    const r = renderAlert(alert({ kind: 'contract_violation', detail: 'status: expected one of pending|done, got "<weird>"' }));
    assert.match(r.text, /got "<weird>"/);
    assert.match(r.html, /got &quot;&lt;weird&gt;&quot;/);
    assert.doesNotMatch(r.html, /<weird>/);
  });

  it('escapes every value from outside in the HTML, and keeps the text readable', () => {
    const nasty = `<script>alert("x")</script>&'`;
    const r = renderAlert(
      alert({
        vendor: '<b>v</b>',
        summary: '<img src=x onerror=alert(1)>',
        items: [item({ customerId: nasty, operationId: '<i>op</i>', detail: '<a href="javascript:x">click</a>', vendor: '<u>v</u>' })],
      }),
    );
    assert.doesNotMatch(r.html, /<script>|<img|<a href|<b>v|<i>op|<u>v/);
    assert.match(r.html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;&#39;/);
    assert.match(r.html, /&lt;i&gt;op&lt;\/i&gt;/);
    assert.ok(r.text.includes(nasty), 'the text part shows the id as it is');
    // The suggested command keeps the id one shell argument.
    assert.ok(r.text.includes(`consent-erasure retry '<script>alert("x")</script>&'\\'''`), r.text);
  });

  it('keeps the subject on one line whatever the vendor name holds', () => {
    const r = renderAlert(alert({ vendor: 'http\r\nBcc: victim@example.com' }));
    assert.doesNotMatch(r.subject, /[\r\n]/);
  });

  it('says when the list of items is truncated, and how to see them all', () => {
    const items = [item({ customerId: 'a' }), item({ customerId: 'b' })];
    const r = renderAlert(alert({ items, totalItems: 250 }));
    assert.match(r.subject, /250 deletions/);
    for (const part of [r.text, r.html]) {
      assert.match(part, /Showing 2 of 250 affected deletions/);
      assert.match(part, /consent-erasure status --vendor http --json/);
    }
    assert.doesNotMatch(renderAlert(alert()).text, /Showing/);
  });

  it('marks reminders on the escalation schedule', () => {
    assert.match(renderAlert(alert({ escalation: 2 })).subject, /\(reminder 2\)$/);
    assert.doesNotMatch(renderAlert(alert({ escalation: 0 })).subject, /reminder/);
  });

  it('renders alerts without a vendor, without items, and a passed deadline', () => {
    const r = renderAlert(
      alert({ kind: 'deadline_missed', vendor: null, items: [item({ deadlineAt: '2026-03-02T09:00:00Z' })], totalItems: 1 }),
    );
    assert.match(r.subject, /Legal deadline missed/);
    assert.match(r.text, /Vendor: all vendors/);
    assert.match(r.text, /passed 2 days ago/);
    const empty = renderAlert(alert({ kind: 'credential_rejected', items: [], totalItems: 0 }));
    assert.match(empty.text, /No individual deletions are attached/);
    assert.match(empty.subject, /0 deletions/);
    // A drift no deletion's call met (the live contract check found it) says so rather than "0".
    const probe = renderAlert(alert({ kind: 'contract_violation', items: [], totalItems: 0 }));
    for (const part of [probe.text, probe.html]) assert.match(part, /No deletion is listed: no status check or create call of a deletion met this drift/);
  });

  it('caps every text from outside: a huge detail, summary, customer id or operation id cannot make the email unbounded', () => {
    const huge = 'x'.repeat(100_000);
    const items = Array.from({ length: 500 }, (_, n) => item({ customerId: `${n}${huge}`, operationId: huge, detail: huge }));
    const r = renderAlert(alert({ kind: 'contract_violation', summary: huge, detail: huge, incidentKey: huge.slice(0, 300), items, totalItems: 500 }));
    assert.ok(r.subject.length <= 250);
    // 500 rows of capped cells (2,000 characters each at most) plus the capped summary and detail.
    assert.ok(r.text.length < 500 * 4 * 2100 + 10_000, `text is ${r.text.length} characters`);
    assert.ok(!r.text.includes(huge.slice(0, 2001)), 'no cell longer than the cap');
    assert.match(r.text, /more characters\]/);
  });

  it('shows an operation that has no id yet', () => {
    const r = renderAlert(alert({ items: [item({ operationId: null, state: 'queued' })] }));
    assert.match(r.text, /operation \(none yet\)/);
  });
});

describe('escapeHtml, shellQuote, secretVariables', () => {
  it('escapes the five HTML-significant characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('quotes only what needs quoting', () => {
    assert.equal(shellQuote('cust-1'), 'cust-1');
    assert.equal(shellQuote('a b'), `'a b'`);
    assert.equal(shellQuote(`it's`), `'it'\\''s'`);
  });
  it('names the secret variables of known vendors', () => {
    assert.deepEqual(secretVariables('amplitude'), ['VENDOR_AMPLITUDE_API_KEY', 'VENDOR_AMPLITUDE_SECRET_KEY']);
    assert.deepEqual(secretVariables('acme'), ['VENDOR_ACME_…']);
  });
});
