import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { InvalidInputError } from '../errors.js';
import { extensionAllowed } from '../domain/legalDeadline.js';
import { REGIMES } from '../domain/regimes.js';
import { latestRequestDeadline, recordExtension, type RequestDeadline } from '../store/requestDeadline.js';

/** What an extension request came to: taken (the deadline moved), or refused with the law's reason. */
export type ExtensionOutcome =
  | { kind: 'extended'; request: RequestDeadline; previousDeadlineAt: Date; noticeBy: Date; source: string }
  | { kind: 'refused'; request: RequestDeadline; code: 'no_extension' | 'already_extended' | 'notice_window_closed'; reason: string };

export interface ExtensionInput {
  customerId: string;
  /** Why the deadline is extended (the person must be told the reasons). */
  reason: string;
  /** Who takes the extension (an operator's name or account). */
  by: string;
}

/**
 * Extends the deadline of a customer's latest request by its regime's rule (GDPR: to three months from
 * receipt; CCPA and the state laws: to 90 days), only once and only inside the regime's notice window (the
 * initial period). The deadline in force moves, the first one is kept, and a `deadline_extended` event
 * records who, when and why; the warning and missed alerts measure the new deadline from then on.
 */
export function createDeadlineExtender(deps: { pool: pg.Pool; clock: Clock; log: Logger }) {
  const { pool, clock, log } = deps;
  return {
    async extend(input: ExtensionInput): Promise<ExtensionOutcome> {
      const reason = input.reason.trim();
      const by = input.by.trim();
      if (reason.length === 0) throw new InvalidInputError('the reason for the extension is empty; the person must be told why');
      if (reason.length > 2000) throw new InvalidInputError(`the reason is ${reason.length} characters, over 2000`);
      if (by.length === 0 || by.length > 200) throw new InvalidInputError('who extends the deadline must be named (1 to 200 characters)');
      const request = await latestRequestDeadline(pool, input.customerId);
      if (!request) throw new InvalidInputError(`customer ${JSON.stringify(input.customerId)} has no deletion request`);
      const now = clock.now();
      const decision = extensionAllowed(request.regime, request.revokedAt, now, { alreadyExtended: request.extension !== null });
      if (!decision.allowed) {
        log.warn({ event: 'deadline_extension_refused', requestId: request.requestId, code: decision.code }, decision.reason);
        return { kind: 'refused', request, code: decision.code, reason: decision.reason };
      }
      const source = REGIMES[request.regime].duties.erasure.extension?.source.citation ?? decision.extended.source.citation;
      const extended = await recordExtension(pool, {
        requestId: request.requestId,
        deadlineAt: decision.extended.expiresAt,
        at: now,
        by,
        reason,
        detail: {
          by,
          reason,
          regime: request.regime,
          previousDeadlineAt: request.deadlineAt.toISOString(),
          deadlineAt: decision.extended.expiresAt.toISOString(),
          lastDay: decision.extended.lastDay,
          timeZone: decision.extended.timeZone,
          noticeBy: decision.noticeBy.toISOString(),
          source,
        },
      });
      if (!extended) {
        const reasonText = `the deadline of request ${request.requestId} was extended by someone else just now; it may be extended only once`;
        return { kind: 'refused', request, code: 'already_extended', reason: reasonText };
      }
      log.info(
        { event: 'deadline_extended', requestId: request.requestId, by, deadlineAt: extended.deadlineAt.toISOString(), previousDeadlineAt: request.deadlineAt.toISOString() },
        'deadline extended',
      );
      return { kind: 'extended', request: extended, previousDeadlineAt: request.deadlineAt, noticeBy: decision.noticeBy, source };
    },
  };
}
