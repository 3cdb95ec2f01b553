import { z } from 'zod';
import { InvalidInputError } from '../errors.js';

/**
 * The CloudEvent data of `google.cloud.pubsub.topic.v1.messagePublished`, as Eventarc delivers it and as
 * the Functions Framework builds it from a raw push body. `data` is base64.
 */
const MessagePublishedSchema = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

export interface PubsubMessage {
  /** The message id (Pub/Sub's), for logs and dedupe. */
  messageId: string | undefined;
  attributes: Record<string, string>;
  /** The decoded JSON payload. */
  json: unknown;
}

/** Formats zod issues as `path: message; …` for log lines and errors. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Decodes a Pub/Sub CloudEvent's data into its JSON payload. Throws InvalidInputError naming what was
 * wrong (not a messagePublished shape, empty data, not base64 JSON).
 */
export function decodePubsubJson(data: unknown): PubsubMessage {
  const envelope = MessagePublishedSchema.safeParse(typeof data === 'string' ? safeJson(data) : data);
  if (!envelope.success) throw new InvalidInputError(`not a Pub/Sub message: ${formatIssues(envelope.error)}`);
  const m = envelope.data.message;
  const messageId = m.messageId ?? m.message_id;
  const attributes = m.attributes ?? {};
  if (!m.data) throw new InvalidInputError('the Pub/Sub message has no data (expected a JSON body; send {} for defaults)');
  const text = Buffer.from(m.data, 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidInputError(`the Pub/Sub message data is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { messageId, attributes, json };
}

/** Decodes and validates a Pub/Sub CloudEvent's JSON payload against `schema`. */
export function parsePubsubMessage<S extends z.ZodType>(data: unknown, schema: S): PubsubMessage & { body: z.infer<S> } {
  const message = decodePubsubJson(data);
  const parsed = schema.safeParse(message.json);
  if (!parsed.success) throw new InvalidInputError(`invalid message: ${formatIssues(parsed.error)}`);
  return { ...message, body: parsed.data };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
