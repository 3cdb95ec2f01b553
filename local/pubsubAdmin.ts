import { z } from 'zod';

/**
 * A small REST client for Google's Pub/Sub emulator: just what the local stack and the tests need to wire
 * topics to functions. It speaks the emulator's REST surface (PUT topics and subscriptions, PATCH, :publish,
 * :pull, :acknowledge, DELETE), so it needs no credentials and no gRPC.
 */

/** Backoff between redeliveries of a message the endpoint refused, as Pub/Sub durations ("1s", "10s"). */
export interface RetryPolicy {
  minimumBackoff: string;
  maximumBackoff: string;
}

export interface PushSubscriptionOptions {
  /**
   * Required: without one the emulator re-pushes a refused message about once a second, forever,
   * which turns one failing function into a busy loop.
   */
  retryPolicy: RetryPolicy;
  /** Topic id (same project) that receives messages after `maxDeliveryAttempts` refusals. */
  deadLetterTopic?: string;
  /** 5–100; default 5 when a dead-letter topic is set. */
  maxDeliveryAttempts?: number;
  ackDeadlineSeconds?: number;
}

/** A message read back with `pull`, its data decoded. */
export interface PulledMessage {
  messageId: string;
  /** UTF-8 text of the data. */
  data: string;
  attributes: Record<string, string>;
  publishTime: string | undefined;
}

export interface PubsubAdmin {
  readonly host: string;
  readonly projectId: string;
  /** Creates the topic if it does not exist. */
  ensureTopic(topic: string): Promise<void>;
  /**
   * Creates or updates a push subscription on `topic` delivering to `pushEndpoint`. The endpoint's path must be
   * `/projects/P/topics/T` for the Functions Framework to turn the push body into a CloudEvent (see
   * `functionsPushEndpoint`). A subscription of that name on another topic is replaced.
   */
  ensurePushSubscription(topic: string, subscription: string, pushEndpoint: string, options: PushSubscriptionOptions): Promise<void>;
  /** Creates a pull subscription (for tests and dead-letter drains) if it does not exist. */
  ensurePullSubscription(topic: string, subscription: string): Promise<void>;
  /** Deletes a subscription; a missing one is not an error. */
  deleteSubscription(subscription: string): Promise<void>;
  /** Publishes JSON messages (or raw strings, or bytes as a Buffer) and returns their message ids. */
  publish(topic: string, messages: Array<{ data: unknown; attributes?: Record<string, string> }>): Promise<string[]>;
  /** Pulls up to `maxMessages` and, unless `ack: false`, acknowledges them. Returns at once when nothing is there. */
  pull(subscription: string, options?: { maxMessages?: number; ack?: boolean }): Promise<PulledMessage[]>;
}

/** Pub/Sub resource ids: a letter, then 2–254 of letters, digits and `-_.~+%`. */
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

/** Raised when the emulator refuses a call; names the call and quotes the emulator's answer. */
export class PubsubAdminError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'PubsubAdminError';
  }
}

const SubscriptionSchema = z.object({
  topic: z.string(),
  pushConfig: z.object({ pushEndpoint: z.string().optional() }).optional(),
});

const PullSchema = z.object({
  receivedMessages: z
    .array(
      z.object({
        ackId: z.string(),
        message: z.object({
          data: z.string().optional(),
          attributes: z.record(z.string(), z.string()).optional(),
          messageId: z.string(),
          publishTime: z.string().optional(),
        }),
      }),
    )
    .optional(),
});

const PublishSchema = z.object({ messageIds: z.array(z.string()) });

/**
 * The push endpoint for a function served by the Functions Framework at `functionUrl`: the framework reads the
 * topic from the path `/projects/P/topics/T` when it converts a raw push body into a CloudEvent.
 */
export function functionsPushEndpoint(functionUrl: string, projectId: string, topic: string): string {
  const base = functionUrl.replace(/\/+$/, '');
  return `${base}/projects/${encodeURIComponent(projectId)}/topics/${encodeURIComponent(topic)}`;
}

function checkId(kind: string, id: string): void {
  if (!RESOURCE_ID.test(id)) {
    throw new PubsubAdminError(
      `invalid ${kind} id ${JSON.stringify(id)}: it must start with a letter and be 3–255 characters of letters, digits and -_.~+%`,
      400,
    );
  }
}

/** A REST client for the Pub/Sub emulator at `host` (host:port) for one project. */
export function createPubsubAdmin(options: { host: string; projectId: string }): PubsubAdmin {
  const { host, projectId } = options;
  if (!/^[A-Za-z0-9][A-Za-z0-9\-.:]*$/.test(projectId)) {
    throw new PubsubAdminError(`invalid project id ${JSON.stringify(projectId)}`, 400);
  }
  const base = `http://${host}/v1/projects/${projectId}`;
  const topicName = (t: string) => `projects/${projectId}/topics/${t}`;

  async function call(method: string, path: string, what: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new PubsubAdminError(`${what}: the Pub/Sub emulator at ${host} is unreachable (${(err as Error).message})`, 0);
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  function fail(what: string, r: { status: number; json: unknown }): never {
    const message = (r.json as { error?: { message?: string } })?.error?.message ?? JSON.stringify(r.json);
    throw new PubsubAdminError(`${what}: the Pub/Sub emulator answered ${r.status}: ${message}`, r.status);
  }

  function subscriptionBody(topic: string, pushEndpoint: string | undefined, o?: PushSubscriptionOptions): Record<string, unknown> {
    return {
      topic: topicName(topic),
      ...(pushEndpoint ? { pushConfig: { pushEndpoint } } : {}),
      ...(o?.ackDeadlineSeconds ? { ackDeadlineSeconds: o.ackDeadlineSeconds } : {}),
      ...(o ? { retryPolicy: o.retryPolicy } : {}),
      ...(o?.deadLetterTopic
        ? { deadLetterPolicy: { deadLetterTopic: topicName(o.deadLetterTopic), maxDeliveryAttempts: o.maxDeliveryAttempts ?? 5 } }
        : {}),
    };
  }

  const admin: PubsubAdmin = {
    host,
    projectId,

    async ensureTopic(topic) {
      checkId('topic', topic);
      const r = await call('PUT', `/topics/${topic}`, `creating topic ${topic}`);
      if (r.status !== 200 && r.status !== 409) fail(`creating topic ${topic}`, r);
    },

    async ensurePushSubscription(topic, subscription, pushEndpoint, o) {
      checkId('topic', topic);
      checkId('subscription', subscription);
      if (!o?.retryPolicy) throw new PubsubAdminError('a local push subscription needs a retryPolicy (minimumBackoff, maximumBackoff)', 400);
      let url: URL;
      try {
        url = new URL(pushEndpoint);
      } catch {
        throw new PubsubAdminError(`push endpoint ${JSON.stringify(pushEndpoint)} is not a URL`, 400);
      }
      if (!/\/projects\/[^/]+\/topics\/[^/]+$/.test(url.pathname)) {
        throw new PubsubAdminError(
          `push endpoint ${pushEndpoint} must end in /projects/P/topics/T, or the Functions Framework will not convert the push into a CloudEvent (use functionsPushEndpoint)`,
          400,
        );
      }
      if (o.deadLetterTopic) checkId('dead-letter topic', o.deadLetterTopic);
      const what = `creating push subscription ${subscription}`;
      const body = subscriptionBody(topic, pushEndpoint, o);
      const created = await call('PUT', `/subscriptions/${subscription}`, what, body);
      if (created.status === 200) return;
      if (created.status !== 409) fail(what, created);

      const current = await call('GET', `/subscriptions/${subscription}`, `reading subscription ${subscription}`);
      if (current.status !== 200) fail(`reading subscription ${subscription}`, current);
      const existing = SubscriptionSchema.safeParse(current.json);
      if (existing.success && existing.data.topic !== topicName(topic)) {
        // A subscription cannot move between topics: replace it.
        await admin.deleteSubscription(subscription);
        const again = await call('PUT', `/subscriptions/${subscription}`, what, body);
        if (again.status !== 200) fail(what, again);
        return;
      }
      const mask = ['pushConfig', 'retryPolicy', ...(o.deadLetterTopic ? ['deadLetterPolicy'] : []), ...(o.ackDeadlineSeconds ? ['ackDeadlineSeconds'] : [])];
      const { topic: _topic, ...changes } = body;
      const patched = await call('PATCH', `/subscriptions/${subscription}`, `updating subscription ${subscription}`, {
        subscription: changes,
        updateMask: mask.join(','),
      });
      if (patched.status !== 200) fail(`updating subscription ${subscription}`, patched);
    },

    async ensurePullSubscription(topic, subscription) {
      checkId('topic', topic);
      checkId('subscription', subscription);
      const r = await call('PUT', `/subscriptions/${subscription}`, `creating pull subscription ${subscription}`, subscriptionBody(topic, undefined));
      if (r.status !== 200 && r.status !== 409) fail(`creating pull subscription ${subscription}`, r);
    },

    async deleteSubscription(subscription) {
      checkId('subscription', subscription);
      const r = await call('DELETE', `/subscriptions/${subscription}`, `deleting subscription ${subscription}`);
      if (r.status !== 200 && r.status !== 404) fail(`deleting subscription ${subscription}`, r);
    },

    async publish(topic, messages) {
      checkId('topic', topic);
      const what = `publishing to ${topic}`;
      const r = await call('POST', `/topics/${topic}:publish`, what, {
        messages: messages.map((m) => ({
          data: (Buffer.isBuffer(m.data) ? m.data : Buffer.from(typeof m.data === 'string' ? m.data : JSON.stringify(m.data))).toString('base64'),
          ...(m.attributes ? { attributes: m.attributes } : {}),
        })),
      });
      if (r.status !== 200) fail(what, r);
      const parsed = PublishSchema.safeParse(r.json);
      if (!parsed.success) throw new PubsubAdminError(`${what}: unexpected answer ${JSON.stringify(r.json)}`, r.status);
      return parsed.data.messageIds;
    },

    async pull(subscription, o = {}) {
      checkId('subscription', subscription);
      const what = `pulling from ${subscription}`;
      const r = await call('POST', `/subscriptions/${subscription}:pull`, what, {
        maxMessages: o.maxMessages ?? 10,
        returnImmediately: true,
      });
      if (r.status !== 200) fail(what, r);
      const parsed = PullSchema.safeParse(r.json);
      if (!parsed.success) throw new PubsubAdminError(`${what}: unexpected answer ${JSON.stringify(r.json)}`, r.status);
      const received = parsed.data.receivedMessages ?? [];
      if (received.length > 0 && o.ack !== false) {
        const acked = await call('POST', `/subscriptions/${subscription}:acknowledge`, `acknowledging on ${subscription}`, {
          ackIds: received.map((m) => m.ackId),
        });
        if (acked.status !== 200) fail(`acknowledging on ${subscription}`, acked);
      }
      return received.map((m) => ({
        messageId: m.message.messageId,
        data: Buffer.from(m.message.data ?? '', 'base64').toString('utf8'),
        attributes: m.message.attributes ?? {},
        publishTime: m.message.publishTime,
      }));
    },
  };
  return admin;
}
