import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DAY, systemClock, type Clock } from '../../../functions/clock.js';
import { signedCallback, type HeaderStyle } from './callbackSigner.js';
import { createTestCa, issueProcessorCertificate, type KeyAlgorithm, type ProcessorCertificate, type TestCa } from './testCa.js';

/**
 * The processor side of OpenDSR callbacks for the local stack and tests: a local test CA, a signing certificate for
 * the processor's domain, a discovery document naming the certificate's URL (OpenDSR 2.0 §6), the certificate file
 * (leaf then intermediates, as mParticle publishes it), and signed callbacks posted to the controller. Everything is
 * generated in memory at start.
 */

export interface OpenDsrProcessorOptions {
  /** The processor domain sent in X-OpenDSR-Processor-Domain and named in the certificate. */
  domain: string;
  clock?: Clock;
  /** The signing key's algorithm (mParticle signs with RSA). */
  algorithm?: KeyAlgorithm;
  /** An existing CA to issue from (several processors sharing one local root); a new root otherwise. */
  ca?: TestCa;
  /** How long the issued certificate is valid from now (default 365 days). */
  validForMs?: number;
}

export interface OpenDsrProcessor {
  domain: string;
  /** The local root the controller must trust (local/test mode only). */
  trustRootPem: string;
  ca: TestCa;
  certificate: ProcessorCertificate;
  /** The discovery document for a processor served at `baseUrl`. */
  discovery(baseUrl: string): Record<string, unknown>;
  /** Answers GET /discovery and GET /cert.pem below `baseUrl`; null for anything else. */
  serve(method: string, path: string, baseUrl: string): { status: number; contentType: string; body: string } | null;
  /** Issues a new signing certificate (a key rotation); the old one is no longer published. */
  rotate(): Promise<ProcessorCertificate>;
  /** Serializes `body`, signs those bytes and POSTs them to `callbackUrl`; redirects are not followed. */
  postCallback(callbackUrl: string, body: unknown, options?: { headerStyle?: HeaderStyle }): Promise<{ status: number; text: string }>;
}

export async function createOpenDsrProcessor(options: OpenDsrProcessorOptions): Promise<OpenDsrProcessor> {
  const clock = options.clock ?? systemClock;
  const validity = () => {
    const now = clock.now().getTime();
    return { notBefore: new Date(now - DAY), notAfter: new Date(now + (options.validForMs ?? 365 * DAY)) };
  };
  const ca = options.ca ?? (await createTestCa({ ...validity(), notAfter: new Date(clock.now().getTime() + 10 * 365 * DAY) }));
  const issue = () => issueProcessorCertificate(ca, { domain: options.domain, algorithm: options.algorithm ?? 'rsa-2048', ...validity() });
  let certificate = await issue();

  const processor: OpenDsrProcessor = {
    domain: options.domain,
    trustRootPem: ca.certificatePem,
    ca,
    get certificate() {
      return certificate;
    },
    discovery: (baseUrl) => ({
      api_version: '2.0',
      supported_identities: [{ identity_type: 'controller_customer_id', identity_format: 'raw' }],
      supported_subject_request_types: ['erasure'],
      processor_certificate: `${baseUrl}/cert.pem`,
    }),
    serve(method, path, baseUrl) {
      if (method !== 'GET') return null;
      if (path === '/discovery' || path === '/discovery/') return { status: 200, contentType: 'application/json', body: JSON.stringify(processor.discovery(baseUrl)) };
      if (path === '/cert.pem') return { status: 200, contentType: 'application/x-pem-file', body: certificate.bundlePem };
      return null;
    },
    async rotate() {
      certificate = await issue();
      return certificate;
    },
    async postCallback(callbackUrl, body, postOptions = {}) {
      const request = signedCallback(body, { domain: options.domain, privateKey: certificate.privateKey, headerStyle: postOptions.headerStyle });
      const response = await fetch(callbackUrl, {
        method: request.method,
        headers: request.headers,
        body: request.rawBody,
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, text: await response.text() };
    },
  };
  return processor;
}

export interface RunningOpenDsrProcessor extends OpenDsrProcessor {
  url: string;
  discoveryUrl: string;
  certificateUrl: string;
  stop(): Promise<void>;
}

/** The processor on its own HTTP server (loopback only), for tests and the local stack. */
export async function startOpenDsrProcessor(options: OpenDsrProcessorOptions & { host?: string; port?: number }): Promise<RunningOpenDsrProcessor> {
  const processor = await createOpenDsrProcessor(options);
  const host = options.host ?? '127.0.0.1';
  let baseUrl = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const answer = processor.serve(req.method ?? 'GET', path, baseUrl);
    res.writeHead(answer?.status ?? 404, { 'content-type': answer?.contentType ?? 'text/plain' });
    res.end(answer?.body ?? 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  baseUrl = `http://${host}:${(server.address() as AddressInfo).port}`;
  return Object.assign(processor, {
    url: baseUrl,
    discoveryUrl: `${baseUrl}/discovery`,
    certificateUrl: `${baseUrl}/cert.pem`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
