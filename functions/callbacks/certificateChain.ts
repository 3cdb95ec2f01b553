import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';

/**
 * Validation of a processor's signing certificate (OpenDSR §4.1, security_guidelines.md "Callback validation"):
 * chained to a trusted CA, in its validity period at the injected time, not self-signed, not a CA, a strong enough
 * key, and the processor domain in its subjectAltName. node:crypto's X509Certificate does the ASN.1 and the
 * signatures: `checkIssued` (issuer name, key identifiers and the issuer's keyCertSign usage, OpenSSL's
 * X509_check_issued), `verify` (the signature), `ca` (basicConstraints) and `checkHost` (RFC 6125 name matching).
 * Not checked (node:crypto exposes none of it): revocation, name constraints, path length, policies.
 */

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_CERTIFICATES = 10;
const MAX_DEPTH = 6;

/** The CAs a chain must end at: the system's (Node's bundled Mozilla store) in production, a test root locally. */
export interface TrustAnchors {
  readonly source: 'system' | 'configured';
  readonly certificates: readonly X509Certificate[];
}

let systemAnchors: TrustAnchors | undefined;

/** Node's bundled root store (`tls.rootCertificates`), parsed once per instance. */
export function systemTrustAnchors(): TrustAnchors {
  systemAnchors ??= { source: 'system', certificates: rootCertificates.map((pem) => new X509Certificate(pem)) };
  return systemAnchors;
}

/** Anchors from configured PEM text (the local stack's test root); throws when a block is not a CA certificate. */
export function trustAnchorsFromPem(pem: string | readonly string[]): TrustAnchors {
  const certificates = (typeof pem === 'string' ? [pem] : pem).flatMap((p) => parseCertificates(p));
  if (certificates.length === 0) throw new Error('no certificate in the configured trust anchors');
  const notCa = certificates.find((c) => !c.ca);
  if (notCa) throw new Error(`configured trust anchor "${oneLine(notCa.subject)}" is not a CA certificate`);
  return { source: 'configured', certificates };
}

/** The certificates of a PEM bundle (or of one DER certificate), in file order; throws when none parses. */
export function parseCertificates(data: string | Buffer): X509Certificate[] {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const blocks = text.match(PEM_BLOCK);
  if (!blocks) {
    if (typeof data === 'string') throw new Error('no PEM certificate found');
    return [new X509Certificate(data)];
  }
  if (blocks.length > MAX_CERTIFICATES) throw new Error(`more than ${MAX_CERTIFICATES} certificates in one file`);
  return blocks.map((b) => new X509Certificate(b));
}

/** What the evidence keeps of a certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  subjectAltName: string | null;
  serialNumber: string;
  fingerprint256: string;
  validFrom: string;
  validTo: string;
}

export function describeCertificate(c: X509Certificate): CertificateInfo {
  return {
    subject: oneLine(c.subject),
    issuer: oneLine(c.issuer),
    subjectAltName: c.subjectAltName ?? null,
    serialNumber: c.serialNumber,
    fingerprint256: c.fingerprint256,
    validFrom: validFrom(c).toISOString(),
    validTo: validTo(c).toISOString(),
  };
}

export const CERTIFICATE_FAILURES = [
  'certificate_invalid',
  'certificate_is_ca',
  'certificate_self_signed',
  'certificate_weak_key',
  'certificate_subject_mismatch',
  'certificate_not_yet_valid',
  'certificate_expired',
  'certificate_untrusted',
] as const;
export type CertificateFailure = (typeof CERTIFICATE_FAILURES)[number];

export interface CertificateRefusal {
  ok: false;
  reason: CertificateFailure;
  detail: string;
}

export type CertificateCheck = { ok: true; leaf: X509Certificate; chain: X509Certificate[]; info: CertificateInfo } | CertificateRefusal;

export interface CertificateExpectations {
  /** The processor domain; must be a DNS name of the leaf's subjectAltName. */
  domain: string;
  anchors: TrustAnchors;
  now: Date;
  /** Accept `*.example.com` for `opendsr.example.com` (the guidelines advise against wildcards). */
  allowWildcard?: boolean;
}

/** Validates the certificate file a processor publishes: the first certificate is the leaf, the rest candidate intermediates. */
export function validateProcessorCertificate(pem: string | Buffer, expect: CertificateExpectations): CertificateCheck {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(pem);
  } catch (err) {
    return fail('certificate_invalid', `the certificate file does not parse: ${(err as Error).message}`);
  }
  const [leaf, ...pool] = certificates as [X509Certificate, ...X509Certificate[]];
  const own = checkLeaf(leaf, expect);
  if (own) return own;
  const path = buildPath(leaf, pool, expect.anchors, expect.now);
  if (!path.ok) return path;
  return { ok: true, leaf, chain: path.chain, info: describeCertificate(leaf) };
}

function checkLeaf(leaf: X509Certificate, expect: CertificateExpectations): CertificateRefusal | null {
  const name = oneLine(leaf.subject);
  if (leaf.ca) return fail('certificate_is_ca', `"${name}" is a CA certificate, not a signing certificate`);
  // Not checkIssued(leaf): OpenSSL refuses an issuer without keyCertSign, which a self-signed leaf lacks.
  if (selfSigned(leaf)) return fail('certificate_self_signed', `"${name}" is self-signed (OpenDSR §4.1)`);
  const weak = keyWeakness(leaf);
  if (weak) return fail('certificate_weak_key', `"${name}": ${weak}`);
  const host = leaf.checkHost(expect.domain, { subject: 'never', wildcards: expect.allowWildcard ?? false });
  if (host === undefined) {
    return fail('certificate_subject_mismatch', `"${name}" (${leaf.subjectAltName ?? 'no subjectAltName'}) is not issued to ${expect.domain}`);
  }
  return validity(leaf, expect.now, 'the certificate');
}

function buildPath(
  leaf: X509Certificate,
  pool: readonly X509Certificate[],
  anchors: TrustAnchors,
  now: Date,
): { ok: true; chain: X509Certificate[] } | CertificateRefusal {
  const chain = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchorsFound = anchors.certificates.filter((a) => a.ca && issuedBy(current, a));
    if (anchorsFound.length > 0) {
      const anchor = anchorsFound.find((a) => validity(a, now, 'the trusted root') === null);
      if (!anchor) return validity(anchorsFound[0]!, now, 'the trusted root')!;
      return { ok: true, chain: [...chain, anchor] };
    }
    const candidates = pool.filter((c) => c.ca && !chain.some((k) => k.fingerprint256 === c.fingerprint256) && issuedBy(current, c));
    const next = candidates.find((c) => validity(c, now, 'an intermediate certificate') === null);
    if (!next) {
      if (candidates[0]) return validity(candidates[0], now, 'an intermediate certificate')!;
      const src = anchors.source === 'system' ? 'the system trust store' : 'the configured trust root';
      return fail('certificate_untrusted', `no chain from "${oneLine(current.issuer)}" to ${src}`);
    }
    chain.push(next);
    current = next;
  }
  return fail('certificate_untrusted', `no trusted root within ${MAX_DEPTH} certificates`);
}

function selfSigned(c: X509Certificate): boolean {
  try {
    return c.verify(c.publicKey);
  } catch {
    return false;
  }
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function validity(c: X509Certificate, now: Date, what: string): CertificateRefusal | null {
  const from = validFrom(c);
  const to = validTo(c);
  const name = oneLine(c.subject);
  if (now < from) return fail('certificate_not_yet_valid', `${what} "${name}" is valid only from ${from.toISOString()}`);
  if (now > to) return fail('certificate_expired', `${what} "${name}" expired at ${to.toISOString()}`);
  return null;
}

/** FIPS 186-4 key sizes: RSA of at least 2048 bits, ECDSA on P-256, P-384 or P-521. */
function keyWeakness(c: X509Certificate): string | null {
  const key = c.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return (details.modulusLength ?? 0) >= 2048 ? null : `RSA key of ${details.modulusLength ?? '?'} bits (at least 2048 needed)`;
  }
  if (key.asymmetricKeyType === 'ec') {
    return ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '') ? null : `EC key on curve ${details.namedCurve ?? '?'}`;
  }
  return `key type ${key.asymmetricKeyType ?? '?'} is not one of FIPS 186-4's RSA or ECDSA`;
}

/** `validFromDate` exists from Node 22.10; older Nodes give OpenSSL's text ("Nov  5 16:42:30 2024 GMT"). */
export function validFrom(c: X509Certificate): Date {
  return (c as X509Certificate & { validFromDate?: Date }).validFromDate ?? new Date(c.validFrom);
}

export function validTo(c: X509Certificate): Date {
  return (c as X509Certificate & { validToDate?: Date }).validToDate ?? new Date(c.validTo);
}

function fail(reason: CertificateFailure, detail: string): CertificateRefusal {
  return { ok: false, reason, detail };
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}
