import { DAY } from '../../../functions/clock.js';
import {
  createSelfSignedCertificate,
  createTestCa,
  issueProcessorCertificate,
  type ProcessorCertificate,
  type TestCa,
} from '../../../local/sandbox/opendsr/testCa.js';

/** The time the callback tests are judged at; every certificate below is placed around it. */
export const NOW = new Date('2026-06-01T12:00:00Z');
export const DOMAIN = 'opendsr.mparticle.com';

const at = (days: number) => new Date(NOW.getTime() + days * DAY);

export interface TestPki {
  root: TestCa;
  intermediate: TestCa;
  /** Another root nobody trusts. */
  stranger: TestCa;
  /** Issued by the root, RSA-2048, as mParticle's. */
  leaf: ProcessorCertificate;
  /** Issued by the intermediate (bundle: leaf, intermediate), ECDSA P-256. */
  leafViaIntermediate: ProcessorCertificate;
  expired: ProcessorCertificate;
  notYetValid: ProcessorCertificate;
  selfSigned: ProcessorCertificate;
  otherSubject: ProcessorCertificate;
  wildcard: ProcessorCertificate;
  fromStranger: ProcessorCertificate;
  leafIsCa: ProcessorCertificate;
  weakKey: ProcessorCertificate;
  /** Issued by an intermediate that expired yesterday. */
  viaExpiredIntermediate: ProcessorCertificate;
}

let built: Promise<TestPki> | undefined;

/** One set of certificates for all callback test files (key generation is the slow part). */
export function testPki(): Promise<TestPki> {
  built ??= build();
  return built;
}

async function build(): Promise<TestPki> {
  const year = { notBefore: at(-30), notAfter: at(335) };
  const root = await createTestCa({ commonName: 'callback test root', notBefore: at(-365), notAfter: at(3650) });
  const stranger = await createTestCa({ commonName: 'untrusted root', notBefore: at(-365), notAfter: at(3650) });
  const intermediate = await createTestCa({ commonName: 'callback test intermediate', issuer: root, notBefore: at(-365), notAfter: at(1000) });
  const staleIntermediate = await createTestCa({ commonName: 'expired intermediate', issuer: root, notBefore: at(-400), notAfter: at(-1) });
  const leaf = (ca: TestCa, options: Partial<Parameters<typeof issueProcessorCertificate>[1]> = {}) =>
    issueProcessorCertificate(ca, { domain: DOMAIN, algorithm: 'ecdsa-p256', ...year, ...options });
  return {
    root,
    intermediate,
    stranger,
    leaf: await leaf(root, { algorithm: 'rsa-2048' }),
    leafViaIntermediate: await leaf(intermediate),
    expired: await leaf(root, { notBefore: at(-400), notAfter: at(-1) }),
    notYetValid: await leaf(root, { notBefore: at(1), notAfter: at(400) }),
    selfSigned: await createSelfSignedCertificate({ domain: DOMAIN, algorithm: 'ecdsa-p256', ...year }),
    otherSubject: await leaf(root, { domain: 'opendsr.attacker.example' }),
    wildcard: await leaf(root, { domain: '*.mparticle.com' }),
    fromStranger: await leaf(stranger),
    leafIsCa: await leaf(root, { isCa: true }),
    weakKey: await leaf(root, { algorithm: 'rsa-1024' }),
    viaExpiredIntermediate: await leaf(staleIntermediate),
  };
}
