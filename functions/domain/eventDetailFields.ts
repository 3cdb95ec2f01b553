/**
 * The event log's allow-list: the detail fields each kind of event may keep. The log is hash-chained evidence
 * that nothing may rewrite later, so what goes into it is decided here, once: before an event is chained, the
 * database keeps only these top-level fields of its detail (the rest is dropped and counted in
 * deletion_event_dropped_field) and replaces the event's customer id wherever it appears in them by the
 * event's salted subject hash (sql/000015_retention_events.sql).
 *
 * To emit a new detail field, add it here (one line) and say in README.md ("Personal data") whether it can name a
 * customer. A field missing here makes the tests fail (they run the database in strict mode), never a silent
 * loss. Fields that carry whole vendor payloads (status payloads, response samples, encoded requests) do not
 * belong here: they may list other customers and are kept on the deletion row, where retention rewrites them.
 * `consent-erasure migrate` copies this list into the database (table deletion_event_detail_field).
 */
export const EVENT_DETAIL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  revoked: ['source', 'sourceEventId', 'eventId', 'eventSource', 'eventType', 'eventTime', 'reason', 'cause', 'encoding', 'consent', 'regime', 'regimeSource', 'regimeValue', 'regimeProblem', 'deadline'],
  regranted: ['eventId', 'eventSource', 'eventType', 'eventTime', 'reason'],
  reconciled: ['reason', 'consent', 'runId'],
  queued: ['submitAtOnce'],
  submit_attempted: ['attempt', 'operationId'],
  submitted: ['operationId', 'state', 'rawStatus', 'attempt', 'splitFrom'],
  submit_failed: ['error', 'errorKind', 'attempt', 'retryAt', 'refusal', 'refusals', 'maxRefusals'],
  status_seen: ['rawStatus', 'state', 'operationId'],
  completed: ['rawStatus', 'operationId'],
  verified: ['operationId', 'evidence'],
  verification_failed: ['operationId', 'summary', 'evidence'],
  deadline_extended: ['by', 'reason', 'regime', 'previousDeadlineAt', 'deadlineAt', 'lastDay', 'timeZone', 'noticeBy', 'source'],
  failed: ['rawStatus', 'operationId', 'detail', 'attempt'],
  retried: ['attempt', 'previousOperationId', 'split', 'previousState', 'previousOperationRef', 'previousRawStatus', 'lastError', 'lastErrorKind', 'submitAttempts', 'refusals', 'previousIdempotencyKey', 'by'],
  cancelled: ['reason', 'where', 'neverSent', 'previousState', 'vendorAnswer', 'rawStatus', 'operationId'],
  cancel_refused: ['reason', 'vendorAnswer', 'rawStatus', 'operationId'],
  cancel_failed: ['reason', 'errorKind', 'message', 'httpStatus', 'operationId'],
  error: ['rawStatus', 'detail', 'reason', 'attempts', 'errorKind', 'message', 'operationId', 'httpStatus'],
  contract_violation: ['errorKind', 'message', 'operationId', 'httpStatus'],
  alert_raised: ['alertId', 'alertKind', 'escalation'],
  alert_sent: ['alertId', 'alertKind', 'incidentKey', 'escalation', 'providerMessageId', 'recipients'],
  // A signed status callback as received (services/receiveCallback.ts): the processor's body (our request id, its
  // controller id, status and times; no customer id), its OpenDSR headers, the signature and the certificate.
  callback_received: [
    'verified',
    'requestStatus',
    'status',
    'subjectRequestId',
    'controllerId',
    'expectedCompletionTime',
    'processorDomain',
    'headerStyle',
    'headers',
    'signature',
    'signatureAlgorithm',
    'certificate',
    'certificatePem',
    'certificateUrl',
    'chain',
    'bodySha256',
    'body',
    'receivedAt',
    'idempotencyKey',
  ],
};

/** The allow-list as (kind, field) pairs, the form the database keeps it in. */
export function eventDetailFieldRows(fields: Readonly<Record<string, readonly string[]>> = EVENT_DETAIL_FIELDS): Array<{ kind: string; field: string }> {
  return Object.entries(fields).flatMap(([kind, names]) => names.map((field) => ({ kind, field })));
}
