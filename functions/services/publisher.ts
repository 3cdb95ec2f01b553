import { PubSub, type Topic } from '@google-cloud/pubsub';

/** The port for publishing JSON messages to a topic (poll continuations, alerts, forced polls). */
export interface Publisher {
  /** Publishes one JSON message; resolves to the message id. */
  publish(topic: string, message: unknown, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real adapter over @google-cloud/pubsub. It honours PUBSUB_EMULATOR_HOST through the client
 * library when `apiEndpoint` is not given.
 */
export function createPubsubPublisher(options: { projectId?: string; apiEndpoint?: string } = {}): Publisher {
  const pubsub = new PubSub({
    ...(options.projectId ? { projectId: options.projectId } : {}),
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint, emulatorMode: true } : {}),
  });
  const topics = new Map<string, Topic>();
  return {
    async publish(topic, message, attributes) {
      let t = topics.get(topic);
      if (!t) {
        t = pubsub.topic(topic);
        topics.set(topic, t);
      }
      return t.publishMessage({ data: Buffer.from(JSON.stringify(message)), ...(attributes ? { attributes } : {}) });
    },
    async close() {
      await pubsub.close();
    },
  };
}

/** A publisher that keeps messages in memory, for unit tests. */
export function createMemoryPublisher(): Publisher & { messages: Array<{ topic: string; message: unknown; attributes?: Record<string, string> }> } {
  const messages: Array<{ topic: string; message: unknown; attributes?: Record<string, string> }> = [];
  return {
    messages,
    async publish(topic, message, attributes) {
      messages.push({ topic, message, ...(attributes ? { attributes } : {}) });
      return String(messages.length);
    },
    async close() {},
  };
}
