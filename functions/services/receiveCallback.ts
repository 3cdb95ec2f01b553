import type { Clock } from '../clock.js';
import { MINUTE } from '../clock.js';
import type { Log } from '../log.js';
import { parseCertificates } from '../callbacks/certificateChain.js';
import type { CertificateSource } from '../callbacks/certificateSource.js';
import { callbackLogFields, precheckCallback, type AcceptedCallback, type CallbackRequest } from '../callbacks/decideCallback.js';
import { decideForOperation } from '../callbacks/matchOperation.js';
import type { CallbackPolicy } from '../callbacks/policy.js';
import type { CallbackVerifier } from '../callbacks/verifyCallback.js';
import type { PollMessage } from '../domain/pollMessage.js';
import type { Queryable } from '../store/pool.js';
import { findCallbackDeletions, type CallbackDeletion } from '../store/findCallbackDeletions.js';
import { recordCallback } from '../store/recordCallback.js';
import type { Publisher } from './publisher.js';
import { createTokenBucket, type RateBudget } from './rateLimiter.js';

/** What the HTTP function answers: the status, a log-safe reason and detail, and headers (Allow, Retry-After). */
export interface CallbackAnswer {
  status: number;
  reason: string;
  detail: string;
  headers: Record<string, string>;
}

export interface ReceiveCallbackDeps {
  policy: CallbackPolicy;
  verifier: CallbackVerifier;
  /** The same source the verifier uses: the leaf certificate is kept with the evidence, to verify it again later. */
  certificates: CertificateSource;
  db: Queryable;
  publisher: Publisher;
  pollTopic: string;
  /** Callbacks accepted per vendor and minute by this instance (the platform's own limit sits in front). */
  ratePerMinute: number;
  log: Log;
  clock: Clock;
}

/** The status a deletion still being worked has at the vendor, as far as we know; absent: queued or finished. */
const WORKED_AS: Readonly<Record<string, string>> = { submitted: 'pending', in_progress: 'in_progress' };

/** Headers kept with the evidence: what the processor sent about the body and its signature, nothing else. */
const KEPT_HEADERS = /^(content-type|content-length|user-agent|x-opendsr-.*|x-opengdpr-.*)$/i;

/**
 * A status callback, from the raw request to the answer: precheck (method, size, media type, allow-list), the
 * vendor's rate limit, the signature and certificate (functions/callbacks/), the deletion it names (404 unknown,
 * 403 another vendor's or controller's), then the evidence stored once and a forced poll of that operation
 * published. The body's status is never applied here: the poller's own status check moves the state and compares
 * itself with the callback. A fault of ours (database, Pub/Sub) is thrown: the handler answers 503, the processor
 * retries, and the retry stores nothing twice.
 */
export function createReceiveCallback(deps: ReceiveCallbackDeps): (req: CallbackRequest) => Promise<CallbackAnswer> {
  const budgets = new Map<string, RateBudget>();
  const budget = (vendor: string) => {
    let b = budgets.get(vendor);
    if (!b) {
      b = createTokenBucket({ perSecond: deps.ratePerMinute / 60, burst: deps.ratePerMinute, clock: deps.clock });
      budgets.set(vendor, b);
    }
    return b;
  };
  const refused = (answer: CallbackAnswer, fields: Record<string, unknown>): CallbackAnswer => {
    deps.log.warn({ ...fields, event: 'callback_refused', status: answer.status, reason: answer.reason, detail: answer.detail }, `callback refused: ${answer.detail}`);
    return answer;
  };

  return async (req) => {
    const pre = precheckCallback(req, deps.policy);
    if (!pre.ok) {
      const d = pre.decision;
      return refused({ status: d.status, reason: d.reason, detail: d.detail, headers: d.headers }, { processorDomain: d.processorDomain });
    }
    const vendor = pre.processor.vendor;
    if (!(await budget(vendor).take(1, deps.clock.now()))) {
      const retryAfter = String(Math.max(1, Math.ceil(MINUTE / deps.ratePerMinute / 1000)));
      const detail = `more than ${deps.ratePerMinute} callbacks a minute from ${pre.processor.domain}`;
      return refused({ status: 429, reason: 'rate_limited', detail, headers: { 'Retry-After': retryAfter } }, { processorDomain: pre.processor.domain, vendor });
    }
    const decision = await deps.verifier.verify(req);
    if (!decision.accepted) {
      const fields = callbackLogFields(decision);
      return refused({ status: decision.status, reason: decision.reason, detail: decision.detail, headers: decision.headers }, { processorDomain: fields['processorDomain'] });
    }
    const deletions = await findCallbackDeletions(deps.db, decision.callback.subjectRequestId);
    const mine = deletions.filter((d) => d.vendor === vendor);
    const known = mine[0] ?? deletions[0];
    const final = decideForOperation(decision, known ? { vendor: known.vendor, controllerId: known.controllerId } : null);
    const logFields = callbackLogFields(decision);
    if (!final.accepted) {
      return refused({ status: final.status, reason: final.reason, detail: final.detail, headers: {} }, { ...logFields, knownDeletions: deletions.length });
    }
    const detail = await evidenceDetail(deps, decision, req);
    const stored = await recordCallback(deps.db, {
      idempotencyKey: decision.idempotencyKey,
      vendor,
      subjectRequestId: decision.callback.subjectRequestId,
      claimedStatus: decision.callback.status,
      receivedAt: deps.clock.now(),
      deletionIds: mine.map((d) => d.deletionId),
      detail,
    });
    // A check is forced only for a deletion being worked whose status the callback says has changed (mParticle calls
    // back on creation too: that 'pending' is no news). A replay or a retry is stored once and asks for a check again
    // only if none has happened since the first copy (whose poll may have been lost with the instance).
    const changed = mine.filter((d) => WORKED_AS[d.state] !== undefined && WORKED_AS[d.state] !== decision.callback.status);
    const poll = changed.length > 0 && (stored.stored || !stored.checkedSince) ? await publishPoll(deps, vendor, changed, decision) : null;
    deps.log.info(
      { ...logFields, event: stored.stored ? 'callback_stored' : 'callback_duplicate', eventIds: stored.eventIds, pollMessageId: poll, firstReceivedAt: stored.firstReceivedAt.toISOString() },
      stored.stored ? `callback stored: ${decision.detail}` : `callback already stored: ${decision.detail}`,
    );
    return { status: 202, reason: stored.stored ? 'accepted' : 'duplicate', detail: decision.detail, headers: {} };
  };
}

/** Forces a status check of the operation now (the due check stays as the safety net). */
async function publishPoll(deps: ReceiveCallbackDeps, vendor: string, deletions: CallbackDeletion[], decision: AcceptedCallback): Promise<string> {
  const operationIds = [...new Set(deletions.map((d) => d.operationId).filter((id): id is string => id !== null))];
  // Before the create answer is recorded (mParticle calls back on creation) there is no operation id yet.
  const message: PollMessage = operationIds.length
    ? { vendors: [vendor], operationIds, reason: `status callback: ${decision.callback.status}` }
    : { vendors: [vendor], customerIds: [...new Set(deletions.map((d) => d.customerId))], reason: `status callback: ${decision.callback.status}` };
  return deps.publisher.publish(deps.pollTopic, message);
}

/** The event's detail: everything needed to verify the callback again later, and nothing of ours. */
async function evidenceDetail(deps: ReceiveCallbackDeps, decision: AcceptedCallback, req: CallbackRequest): Promise<Record<string, unknown>> {
  const e = decision.evidence;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined && KEPT_HEADERS.test(k)) headers[k.toLowerCase()] = typeof v === 'string' ? v : v.join(', ');
  }
  return {
    verified: true,
    requestStatus: decision.callback.body.request_status,
    status: decision.callback.status,
    subjectRequestId: decision.callback.subjectRequestId,
    controllerId: decision.callback.controllerId,
    expectedCompletionTime: decision.callback.expectedCompletionAt?.toISOString() ?? null,
    processorDomain: e.processorDomain,
    headerStyle: e.headerStyle,
    headers,
    signature: e.signature,
    signatureAlgorithm: e.signatureAlgorithm,
    certificate: e.certificate,
    certificatePem: await leafPem(deps, decision),
    certificateUrl: e.certificateUrl,
    chain: e.chain,
    bodySha256: e.bodySha256,
    body: e.rawBody,
    receivedAt: e.receivedAt,
    idempotencyKey: decision.idempotencyKey,
  };
}

/** The leaf certificate that verified the signature (from the source's cache), or null if it has changed since. */
async function leafPem(deps: ReceiveCallbackDeps, decision: AcceptedCallback): Promise<string | null> {
  const material = await deps.certificates.get(decision.processor);
  if (!material.ok) return null;
  const leaf = parseCertificates(material.pem)[0];
  return leaf && leaf.fingerprint256 === decision.evidence.certificate.fingerprint256 ? leaf.toString() : null;
}
