import { bodyOf, fixture } from '../../../test/fixtures/vendors/contract.js';
import type { Clock } from '../../../functions/clock.js';
import { mparticleCallbackBody, specCallbackBody } from '../opendsr/callbackSigner.js';
import type { OpenDsrProcessor } from '../opendsr/processor.js';
import type { SandboxReply, SandboxRequest } from '../types.js';
import { json } from './timetable.js';

/**
 * The processor side of status callbacks inside the mParticle and AppsFlyer sandbox modules: their discovery
 * documents name a certificate this sandbox serves (issued by the local test CA), and each request created with
 * `status_callback_urls` gets a signed callback on every status change (creation included, as mParticle does),
 * retried each second until a 2xx. What was sent is kept so the local stack can measure how soon a change reached us.
 */

export type CallbackWord = 'pending' | 'in_progress' | 'completed' | 'cancelled';

/** One callback posted (or tried): the change it reports and when the sandbox's timetable made it. */
export interface SentCallback {
  subjectRequestId: string;
  status: CallbackWord;
  /** When the request took this status on the sandbox clock (its timetable), ISO-8601. */
  changedAt: string;
  /** When the callback was posted, ISO-8601. */
  postedAt: string;
  url: string;
  /** The HTTP status answered, or 0 when the post failed. */
  answer: number;
}

export interface CallbackNotifier {
  /** Serves the discovery document (naming the local certificate) and the certificate itself; undefined otherwise. */
  serve(req: SandboxRequest): SandboxReply | undefined;
  /** Starts calling back for one request: `now()` gives its status and since when. */
  watch(id: string, urls: readonly string[], now: () => { status: CallbackWord; since: number; expectedAt: number | null; controllerId: string }): void;
  sent(): SentCallback[];
  reset(): void;
}

const PATHS = {
  mparticle: { discovery: /^\/v3\/discovery\/?$/, certificate: '/dsr/opendsr_cert.pem', fixture: fixture('opendsr', 'discovery-mparticle-v3.json') },
  appsflyer: { discovery: /^\/api\/gdpr\/v1\/discovery\/?$/, certificate: '/api/gdpr/v1/certificate', fixture: fixture('appsflyer', 'discovery-openapi.json') },
} as const;

/** Whether a request is for the processor side's public documents (discovery, certificate): no credential needed. */
export function isProcessorDocument(flavour: 'mparticle' | 'appsflyer', req: SandboxRequest): boolean {
  return req.method === 'GET' && (PATHS[flavour].discovery.test(req.path) || req.path === PATHS[flavour].certificate);
}

const RETRY_MS = 1000;
const KEEP_SENT = 10_000;

export function createCallbackNotifier(options: { flavour: 'mparticle' | 'appsflyer'; processor: OpenDsrProcessor; clock: Clock; tickMs?: number }): CallbackNotifier {
  const { flavour, processor, clock } = options;
  const paths = PATHS[flavour];
  const watched = new Map<string, { urls: readonly string[]; read: Parameters<CallbackNotifier['watch']>[2]; last: CallbackWord | null; retryAt: number; busy: boolean }>();
  let sent: SentCallback[] = [];
  let timer: NodeJS.Timeout | undefined;

  const body = (id: string, s: ReturnType<Parameters<CallbackNotifier['watch']>[2]>, url: string) => {
    const change = { subjectRequestId: id, status: s.status, controllerId: s.controllerId, expectedCompletionTime: s.expectedAt === null ? null : new Date(s.expectedAt), callbackUrl: url };
    return flavour === 'mparticle' ? mparticleCallbackBody(change) : specCallbackBody(change);
  };

  const notify = async (id: string, w: NonNullable<ReturnType<typeof watched.get>>): Promise<void> => {
    const s = w.read();
    if (s.status === w.last || clock.now().getTime() < w.retryAt) return;
    w.busy = true;
    let ok = true;
    for (const url of w.urls) {
      const postedAt = clock.now().toISOString();
      const answer = await processor.postCallback(url, body(id, s, url)).then((r) => r.status, () => 0);
      sent.push({ subjectRequestId: id, status: s.status, changedAt: new Date(s.since).toISOString(), postedAt, url, answer });
      if (answer < 200 || answer > 299) ok = false;
    }
    if (sent.length > KEEP_SENT * 2) sent = sent.slice(-KEEP_SENT);
    if (ok) w.last = s.status;
    else w.retryAt = clock.now().getTime() + RETRY_MS;
    w.busy = false;
  };

  const tick = () => {
    for (const [id, w] of watched) {
      if (!w.busy) void notify(id, w);
      if (w.last === 'completed' || w.last === 'cancelled') watched.delete(id);
    }
  };

  return {
    serve(req) {
      if (req.method !== 'GET') return undefined;
      const base = `http://${String(req.headers.host ?? '127.0.0.1')}/${flavour}`;
      if (paths.discovery.test(req.path)) return json(200, { ...bodyOf<Record<string, unknown>>(paths.fixture), processor_certificate: `${base}${paths.certificate}` });
      if (req.path === paths.certificate) return { status: 200, text: processor.certificate.bundlePem, contentType: 'text/plain' };
      return undefined;
    },
    watch(id, urls, read) {
      watched.set(id, { urls, read, last: null, retryAt: 0, busy: false });
      timer ??= setInterval(tick, options.tickMs ?? 50).unref();
    },
    sent: () => [...sent],
    reset() {
      watched.clear();
      sent = [];
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
