import type { Clock } from '../clock.js';
import { HOUR, MINUTE, SECOND } from '../clock.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { parseCertificates, validTo } from './certificateChain.js';
import type { CertificateMaterial } from './decideCallback.js';
import { DiscoveryDocumentSchema, isAllowedFetchUrl } from './discovery.js';
import type { Processor } from './policy.js';
import { logSafe } from './reasons.js';
import { createTtlCache } from './ttlCache.js';

/**
 * Fetches and caches processors' certificates: discovery document (the URL comes from configuration) →
 * `processor_certificate` → the certificate file. A certificate is cached for its lifetime (the guidelines and
 * mParticle allow that), capped at `maxCertificateTtlMs` so a replaced or revoked certificate is picked up within a
 * day; a failure is remembered for `failureTtlMs` so a burst of callbacks cannot turn into a burst of fetches.
 */

export interface CertificateSourceOptions {
  fetch: typeof fetch;
  clock: Clock;
  /** http URLs: the local stack and tests only. */
  allowInsecureUrls: boolean;
  log?: Pick<Log, 'info' | 'warn'>;
  maxEntries?: number;
  maxCertificateTtlMs?: number;
  discoveryTtlMs?: number;
  failureTtlMs?: number;
  /** A refresh asked for sooner than this after the last fetch is refused (forged signatures must not drive fetches). */
  minRefreshIntervalMs?: number;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export type FetchedCertificate = CertificateMaterial & { fromCache?: boolean };

export interface CertificateSource {
  /** The processor's certificate file, from the cache while it is fresh. */
  get(processor: Processor): Promise<FetchedCertificate>;
  /** Fetches again (after a signature failed with a cached certificate); null when the last fetch is too recent. */
  refresh(processor: Processor): Promise<FetchedCertificate | null>;
}

const MAX_REDIRECTS = 3;

type Settings = Required<Omit<CertificateSourceOptions, 'log'>> & Pick<CertificateSourceOptions, 'log'>;

export function createCertificateSource(options: CertificateSourceOptions): CertificateSource {
  const o: Settings = {
    maxEntries: 32,
    maxCertificateTtlMs: 24 * HOUR,
    discoveryTtlMs: HOUR,
    failureTtlMs: MINUTE,
    minRefreshIntervalMs: 5 * MINUTE,
    timeoutMs: 10 * SECOND,
    maxResponseBytes: 64 * 1024,
    ...options,
  };
  const { clock } = o;
  const discoveries = createTtlCache<string>({ clock, maxEntries: o.maxEntries });
  const certificates = createTtlCache<string>({ clock, maxEntries: o.maxEntries });
  const failures = createTtlCache<string>({ clock, maxEntries: o.maxEntries });
  const inFlight = new Map<string, Promise<FetchedCertificate>>();
  const lastFetch = new Map<string, number>();

  const unavailable = (detail: string, until: Date): FetchedCertificate => ({
    ok: false,
    detail,
    retryAfterSeconds: Math.max(1, Math.ceil((until.getTime() - clock.now().getTime()) / 1000)),
  });

  const load = async (processor: Processor, fresh: boolean): Promise<FetchedCertificate> => {
    const key = processor.discoveryUrl;
    const failed = failures.get(key);
    if (failed) return unavailable(failed.value, failed.expiresAt);
    if (fresh) discoveries.delete(key);
    const knownUrl = discoveries.get(key)?.value;
    const cached = fresh || knownUrl === undefined ? undefined : certificates.get(knownUrl);
    if (knownUrl !== undefined && cached) return { ok: true, pem: cached.value, url: knownUrl, fromCache: true };
    lastFetch.set(key, clock.now().getTime());
    try {
      const url = knownUrl ?? (await readDiscovery(processor, o));
      discoveries.set(key, url, new Date(clock.now().getTime() + o.discoveryTtlMs));
      const cert = await downloadCertificate(url, o);
      certificates.set(url, cert.pem, cert.cacheUntil);
      o.log?.info(
        { event: 'callback_certificate_fetched', processorDomain: processor.domain, url, fingerprint256: cert.fingerprint256, validTo: cert.validTo },
        'processor certificate fetched',
      );
      return { ok: true, pem: cert.pem, url, fromCache: false };
    } catch (err) {
      const detail = logSafe(errorText(err));
      const until = new Date(clock.now().getTime() + o.failureTtlMs);
      failures.set(key, detail, until);
      o.log?.warn({ event: 'callback_certificate_unavailable', processorDomain: processor.domain, detail }, 'processor certificate could not be fetched');
      return unavailable(detail, until);
    }
  };

  /** One fetch per processor at a time: concurrent callbacks wait for the same answer. */
  const once = (processor: Processor, fresh: boolean): Promise<FetchedCertificate> => {
    const running = inFlight.get(processor.discoveryUrl);
    if (running) return running;
    const run = load(processor, fresh).finally(() => inFlight.delete(processor.discoveryUrl));
    inFlight.set(processor.discoveryUrl, run);
    return run;
  };

  return {
    get: (processor) => once(processor, false),
    async refresh(processor) {
      const last = lastFetch.get(processor.discoveryUrl);
      if (last !== undefined && clock.now().getTime() - last < o.minRefreshIntervalMs) return null;
      return once(processor, true);
    },
  };
}

/** The `processor_certificate` URL of the processor's discovery document. */
async function readDiscovery(processor: Processor, o: Settings): Promise<string> {
  const bytes = await fetchBytes(processor.discoveryUrl, 'discovery', o);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`discovery ${processor.discoveryUrl} is not JSON`);
  }
  const doc = DiscoveryDocumentSchema.safeParse(json);
  if (!doc.success) throw new Error(`discovery ${processor.discoveryUrl} has no valid processor_certificate URL`);
  return doc.data.processor_certificate;
}

/** The certificate file (PEM, or DER as AppsFlyer's "binary" may be) normalized to PEM, and how long to keep it. */
async function downloadCertificate(url: string, o: Settings): Promise<{ pem: string; cacheUntil: Date; fingerprint256: string; validTo: string }> {
  const bytes = await fetchBytes(url, 'certificate', o);
  let parsed;
  try {
    parsed = parseCertificates(bytes.includes('-----BEGIN') ? bytes.toString('latin1') : bytes);
  } catch (err) {
    throw new Error(`certificate ${url} is not an X.509 certificate: ${(err as Error).message}`);
  }
  const leaf = parsed[0]!;
  const now = o.clock.now().getTime();
  const leafEnd = validTo(leaf).getTime();
  // An expired certificate is kept only briefly: the decision reports it, and a renewed one is fetched soon.
  const until = leafEnd > now ? Math.min(leafEnd, now + o.maxCertificateTtlMs) : now + o.failureTtlMs;
  return { pem: parsed.map((c) => c.toString()).join(''), cacheUntil: new Date(until), fingerprint256: leaf.fingerprint256, validTo: new Date(leafEnd).toISOString() };
}

/** GET with a timeout, a size cap, and at most MAX_REDIRECTS redirects, each to an allowed URL. */
async function fetchBytes(url: string, what: string, o: Settings): Promise<Buffer> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (!isAllowedFetchUrl(current, o.allowInsecureUrls)) throw new Error(`${what} URL ${current} is not an https URL`);
    let response: Response;
    try {
      response = await o.fetch(current, { redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      throw new Error(`${what} ${current}: ${name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : 'request failed'}`, { cause: err });
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`${what} ${current} answered HTTP ${response.status}`);
    }
    return readCapped(response, o.maxResponseBytes, `${what} ${current}`);
  }
  throw new Error(`${what} ${url} redirected more than ${MAX_REDIRECTS} times`);
}

/** Reads a response body, refusing one above `max` bytes without reading the rest. */
async function readCapped(response: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new Error(`${what} is ${declared} bytes, above ${max}`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += (chunk as Uint8Array).length;
    if (total > max) throw new Error(`${what} is above ${max} bytes`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}
