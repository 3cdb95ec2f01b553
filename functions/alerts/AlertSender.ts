import { PermanentError, TransientError } from '../errors.js';

/** One email ready to send: who from and to, what it says, and how it is tagged for SendGrid's activity feed. */
export interface OutgoingEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** SendGrid categories (at most 10), for filtering in its activity feed. */
  categories: string[];
  /** Sent back by SendGrid in its event webhooks; carries the alert id. */
  customArgs: Record<string, string>;
}

/** The port for sending an alert email (SendGrid in production, the local sink in tests and the local stack). */
export interface AlertSender {
  /**
   * Sends one email. Resolves with the provider's message id when it gives one.
   * Throws AlertRejectedError when the provider refuses it for good, AlertSendFailedError when a retry may work.
   */
  send(email: OutgoingEmail): Promise<{ messageId?: string }>;
}

/** The provider refused the email for a reason a retry will not fix (4xx other than 429). */
export class AlertRejectedError extends PermanentError {
  constructor(
    readonly status: number,
    /** The provider's own error messages (SendGrid's `errors[].message`). */
    readonly providerMessages: string[],
  ) {
    super(`the email provider rejected the alert email (${status}): ${providerMessages.join('; ') || 'no reason given'}`);
  }
}

/** The provider could not take the email now (5xx, 429, network); the platform should retry. */
export class AlertSendFailedError extends TransientError {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** From 429's X-RateLimit-Reset, when given. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** An in-memory sender for unit tests: keeps what it was given, and can be told to throw. */
export function createMemorySender(): AlertSender & { sent: OutgoingEmail[]; failNext(err: Error): void } {
  const sent: OutgoingEmail[] = [];
  const failures: Error[] = [];
  return {
    sent,
    failNext(err) {
      failures.push(err);
    },
    async send(email) {
      const err = failures.shift();
      if (err) throw err;
      sent.push(email);
      return { messageId: `mem-${sent.length}` };
    },
  };
}
