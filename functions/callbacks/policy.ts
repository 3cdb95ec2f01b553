import { z } from 'zod';

/** A DNS name as it may appear in `X-OpenDSR-Processor-Domain` and a certificate's subjectAltName. */
export const HOSTNAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/;

/** The header's value, lower-cased and without a trailing dot, or null when it is not a DNS name. */
export function normalizeDomain(value: string): string | null {
  const d = value.trim().toLowerCase().replace(/\.$/, '');
  return HOSTNAME.test(d) ? d : null;
}

const Domain = z
  .string()
  .transform((s, ctx) => {
    const d = normalizeDomain(s);
    if (d === null) ctx.addIssue({ code: 'custom', message: `"${s}" is not a DNS name` });
    return d ?? s;
  });

/** One allow-listed processor (security_guidelines.md: "maintain a whitelist of processor domains"). */
export const ProcessorSchema = z.strictObject({
  /** Our vendor name for it (mparticle, appsflyer, mixpanel): which deletions its callbacks may speak of. */
  vendor: z.string().min(1),
  /** The value it sends in `X-OpenDSR-Processor-Domain`; its certificate must name it in subjectAltName. */
  domain: Domain,
  /** Its discovery document, whose `processor_certificate` is fetched. Comes from configuration, never from a request. */
  discoveryUrl: z.url(),
  /** Accept a wildcard certificate (`*.example.com`); off by default, as the guidelines advise. */
  allowWildcardCertificate: z.boolean().default(false),
});

export type Processor = z.infer<typeof ProcessorSchema>;

/** How callbacks are judged; built by the configuration module from the environment. */
export const CallbackPolicySchema = z
  .strictObject({
    processors: z.array(ProcessorSchema).min(1),
    /** Our own endpoint(s): a body's `status_callback_url`, when present, must be one of them (§8.8 step 6). */
    callbackUrls: z.array(z.url()).min(1),
    /** Bodies above this many bytes are refused before any other work. */
    maxBodyBytes: z.int().min(1024).max(1024 * 1024).default(64 * 1024),
    /** http discovery and certificate URLs: the local stack and tests only. */
    allowInsecureUrls: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const [i, proc] of p.processors.entries()) {
      if (seen.has(proc.domain)) ctx.addIssue({ code: 'custom', path: ['processors', i, 'domain'], message: `${proc.domain} is listed twice` });
      seen.add(proc.domain);
    }
  });

export type CallbackPolicy = z.infer<typeof CallbackPolicySchema>;
export type CallbackPolicyInput = z.input<typeof CallbackPolicySchema>;

/** The allow-listed processor for a (normalized) domain, or undefined. */
export function findProcessor(policy: CallbackPolicy, domain: string): Processor | undefined {
  return policy.processors.find((p) => p.domain === domain);
}

/** True when `url` is one of our callback URLs (scheme and host case-insensitive, a trailing slash ignored). */
export function isOurCallbackUrl(policy: CallbackPolicy, url: string): boolean {
  const key = urlKey(url);
  return key !== null && policy.callbackUrls.some((u) => urlKey(u) === key);
}

function urlKey(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}${u.search}`;
  } catch {
    return null;
  }
}
