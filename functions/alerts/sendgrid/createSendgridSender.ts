import sgMail from '@sendgrid/mail';
import sgClient from '@sendgrid/client';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { AlertRejectedError, AlertSendFailedError, type AlertSender } from '../AlertSender.js';

type MailServiceInstance = typeof sgMail;
type ClientInstance = typeof sgClient;

// Both packages export a shared instance by default; each sender builds its own so no state is shared.
const { MailService } = sgMail as unknown as { MailService: new () => MailServiceInstance };
const { Client } = sgClient as unknown as { Client: new () => ClientInstance };

export interface SendgridSenderOptions {
  apiKey: string;
  /** Defaults to https://api.sendgrid.com/; the local stack and tests point it at the mail sink. */
  baseUrl?: string;
  /** SendGrid validates the request and sends nothing (answers 200). */
  sandboxMode?: boolean;
  /** Per-request timeout; a timed-out send is transient. */
  timeoutMs?: number;
}

const ErrorBody = z.object({ errors: z.array(z.object({ message: z.string().nullish() }).loose()) }).loose();

/** The fields of @sendgrid/helpers' ResponseError (and of a raw HTTP-client error) that we read. */
interface SendFailure {
  code?: unknown;
  response?: { body?: unknown; headers?: Record<string, unknown> };
}

function providerMessages(body: unknown): string[] {
  const parsed = ErrorBody.safeParse(typeof body === 'string' ? safeJson(body) : body);
  return parsed.success ? parsed.data.errors.map((e) => e.message ?? '').filter(Boolean) : [];
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/**
 * Maps a failed send to the error tree. Only status, SendGrid's own messages and a network error code are
 * kept: the raw HTTP-client error carries the request's headers, API key included, so it is never attached.
 */
export function mapSendgridError(err: unknown): AlertRejectedError | AlertSendFailedError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SendFailure;
  const status = typeof e.code === 'number' ? e.code : undefined;
  if (status === undefined || e.response === undefined) {
    const code = typeof e.code === 'string' ? e.code : 'network error';
    return new AlertSendFailedError(`SendGrid could not be reached (${code})`, undefined);
  }
  const messages = providerMessages(e.response.body);
  if (status === 429 || status >= 500 || status === 408) {
    const reset = Number(e.response.headers?.['x-ratelimit-reset']);
    const retryAfterSeconds = Number.isFinite(reset) && reset > 0 ? Math.max(0, Math.ceil(reset - Date.now() / 1000)) : undefined;
    return new AlertSendFailedError(
      `SendGrid answered ${status}${messages.length ? `: ${messages.join('; ')}` : ''}`,
      status,
      retryAfterSeconds,
    );
  }
  return new AlertRejectedError(status, messages);
}

/**
 * The AlertSender over @sendgrid/mail. The base URL is set after the API key, on a client of our own,
 * because `setApiKey` resets the base URL to the region's default.
 */
export function createSendgridSender(options: SendgridSenderOptions): AlertSender {
  if (!options.apiKey) throw new ConfigError(['SENDGRID_API_KEY: required to send alert emails']);
  const client = new Client();
  client.setApiKey(options.apiKey);
  if (options.baseUrl) client.setDefaultRequest('baseUrl', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const mail = new MailService();
  mail.setClient(client);
  mail.setTimeout(options.timeoutMs ?? 20_000);

  return {
    async send(email) {
      let response;
      try {
        [response] = await mail.send({
          from: email.from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          categories: email.categories.slice(0, 10),
          customArgs: email.customArgs,
          ...(options.sandboxMode ? { mailSettings: { sandboxMode: { enable: true } } } : {}),
        });
      } catch (err) {
        throw mapSendgridError(err);
      }
      const id = response.headers['x-message-id'];
      return typeof id === 'string' && id ? { messageId: id } : {};
    },
  };
}

/** The SendGrid sender configured from SENDGRID_API_KEY, SENDGRID_BASE_URL and SENDGRID_SANDBOX; a ConfigError without a key. */
export function createSendgridSenderFromConfig(config: Config): AlertSender {
  if (!config.alerts.sendgridApiKey) throw new ConfigError(['SENDGRID_API_KEY: required to send alert emails']);
  return createSendgridSender({
    apiKey: config.alerts.sendgridApiKey,
    ...(config.alerts.sendgridBaseUrl ? { baseUrl: config.alerts.sendgridBaseUrl } : {}),
    sandboxMode: config.alerts.sandboxMode,
  });
}
