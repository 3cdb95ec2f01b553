// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';

/**
 * A local certificate authority for the processor side of OpenDSR callbacks. node:crypto generates keys but cannot
 * issue X.509 certificates, so @peculiar/x509 (on Node's WebCrypto) builds them. Keys and certificates exist only in
 * memory, made at run time; nothing here is ever written to the repository. The local stack trusts the root by
 * configuration, in local and test mode only.
 */

type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** `rsa-1024` exists only to exercise the verifier's refusal of weak keys. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048' | 'rsa-1024';

export interface TestCa {
  name: string;
  certificatePem: string;
  /** The CA's own chain up to (not including) the root: empty for a root, the intermediate for an intermediate. */
  chainPem: string;
  keys: CryptoKeyPair;
  algorithm: KeyAlgorithm;
}

export interface ProcessorCertificate {
  domain: string;
  /** The leaf alone. */
  certificatePem: string;
  /** What a processor publishes at `processor_certificate`: the leaf first, then its intermediates. */
  bundlePem: string;
  /** Signs callback bodies; stays in memory. */
  privateKey: KeyObject;
  fingerprint256: string;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export interface LeafOptions extends Validity {
  /** The processor domain: the certificate's CN and first subjectAltName. */
  domain: string;
  /** subjectAltName DNS names; defaults to [domain]. */
  dnsNames?: string[];
  algorithm?: KeyAlgorithm;
  /** Marks the leaf as a CA (hostile case: a CA certificate used to sign callbacks). */
  isCa?: boolean;
}

const KEY_PARAMS: Record<KeyAlgorithm, webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams> = {
  'ecdsa-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  'rsa-1024': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};

function signingAlgorithm(algorithm: KeyAlgorithm): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return algorithm === 'ecdsa-p256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_PARAMS[algorithm], false, ['sign', 'verify'])) as CryptoKeyPair;
}

function serial(): string {
  const bytes = randomBytes(12);
  bytes[0]! &= 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

/** A root CA, or an intermediate when `issuer` is given. */
export async function createTestCa(options: Validity & { commonName?: string; algorithm?: KeyAlgorithm; issuer?: TestCa }): Promise<TestCa> {
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  const keys = await generateKeys(algorithm);
  const name = `CN=${options.commonName ?? 'consent-erasure local test root'}, O=consent-erasure sandbox`;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const issuer = options.issuer;
  if (!issuer) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: serial(), name, notBefore: options.notBefore, notAfter: options.notAfter, keys, signingAlgorithm: signingAlgorithm(algorithm), extensions });
    return { name, certificatePem: cert.toString('pem'), chainPem: '', keys, algorithm };
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: issuer.name,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.algorithm),
    extensions,
  });
  const pem = cert.toString('pem');
  return { name, certificatePem: pem, chainPem: `${pem}\n${issuer.chainPem}`.trim(), keys, algorithm };
}

/** A processor's signing certificate issued by `ca`, with the bundle a processor would publish. */
export async function issueProcessorCertificate(ca: TestCa, options: LeafOptions): Promise<ProcessorCertificate> {
  const algorithm = options.algorithm ?? 'rsa-2048';
  const keys = await generateKeys(algorithm);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.domain}`,
    issuer: ca.name,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.algorithm),
    extensions: [...(await leafExtensions(keys, options)), await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)],
  });
  const pem = cert.toString('pem');
  return { domain: options.domain, certificatePem: pem, bundlePem: `${pem}\n${ca.chainPem}`.trim() + '\n', privateKey: KeyObject.from(keys.privateKey), fingerprint256: fingerprint(cert) };
}

/** A self-signed signing certificate (hostile case: OpenDSR §4.1 forbids it). */
export async function createSelfSignedCertificate(options: LeafOptions): Promise<ProcessorCertificate> {
  const algorithm = options.algorithm ?? 'rsa-2048';
  const keys = await generateKeys(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.domain}`,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(algorithm),
    extensions: await leafExtensions(keys, options),
  });
  const pem = cert.toString('pem');
  return { domain: options.domain, certificatePem: pem, bundlePem: pem, privateKey: KeyObject.from(keys.privateKey), fingerprint256: fingerprint(cert) };
}

/** As mParticle's published certificate: not a CA, digitalSignature, serverAuth and clientAuth, the domain in SAN. */
async function leafExtensions(keys: CryptoKeyPair, options: LeafOptions): Promise<x509.Extension[]> {
  const names = options.dnsNames ?? [options.domain];
  return [
    new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
    new x509.KeyUsagesExtension(options.isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
}

/** The SHA-256 fingerprint in node:crypto's notation, as the verifier's evidence records it. */
function fingerprint(cert: x509.X509Certificate): string {
  return new X509Certificate(cert.toString('pem')).fingerprint256;
}
