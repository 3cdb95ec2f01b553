import type { Clock } from '../clock.js';
import type { TrustAnchors } from './certificateChain.js';
import type { CertificateSource } from './certificateSource.js';
import { decideCallback, precheckCallback, type CallbackDecision, type CallbackRequest } from './decideCallback.js';
import type { CallbackPolicy } from './policy.js';

export interface CallbackVerifierDeps {
  policy: CallbackPolicy;
  anchors: TrustAnchors;
  certificates: CertificateSource;
  clock: Clock;
}

export interface CallbackVerifier {
  /** Judges one callback: never throws for anything the sender controls, answers with a decision. */
  verify(request: CallbackRequest): Promise<CallbackDecision>;
}

/**
 * The callback check with its one outside dependency (the certificate fetch) injected: precheck, certificate from
 * the cache, the pure decision. When the signature fails with a cached certificate, the processor may have rotated
 * its key: the certificate is fetched once more (rate-limited by the source) and the decision taken again, as the
 * guidelines advise for a revoked certificate.
 */
export function createCallbackVerifier(deps: CallbackVerifierDeps): CallbackVerifier {
  return {
    async verify(request) {
      const pre = precheckCallback(request, deps.policy);
      if (!pre.ok) return pre.decision;
      const ctx = () => ({ policy: deps.policy, anchors: deps.anchors, now: deps.clock.now() });
      const certificate = await deps.certificates.get(pre.processor);
      const decision = decideCallback(request, certificate, ctx());
      const mayBeStale = certificate.ok && certificate.fromCache === true;
      if (decision.accepted || !mayBeStale || !isKeyProblem(decision.reason)) return decision;
      const fresh = await deps.certificates.refresh(pre.processor);
      return fresh ? decideCallback(request, fresh, ctx()) : decision;
    },
  };
}

function isKeyProblem(reason: string): boolean {
  return reason === 'signature_invalid' || reason === 'certificate_expired';
}
