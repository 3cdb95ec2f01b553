import { z } from 'zod';
import type { ModuleDriftMode, SandboxContext, SandboxModule, SandboxReply, SandboxRequest } from './types.js';

/** The generic contract's status words, in the order an operation moves through them. */
type HttpStatusWord = 'pending' | 'in_progress' | 'complete' | 'failed';

/** A word the generic contract never documents, for the `unknown_status` drift. */
export const UNKNOWN_STATUS_WORD = 'queued_for_review';

const OptionsSchema = z.strictObject({
  createPath: z.string().startsWith('/').default('/deletions'),
  statusPath: z.string().startsWith('/').includes('{operationId}').default('/deletions/{operationId}'),
});

const CreateBody = z.object({ customerId: z.string().min(1), requestId: z.string().min(1) });

/** One operation; its timetable is fixed when it is created, its status computed when read. */
interface Operation {
  id: string;
  customerId: string;
  key: string;
  inProgressAt: number;
  endAt: number;
  fails: boolean;
}

function statusAt(op: Operation, now: number): HttpStatusWord {
  if (now >= op.endAt) return op.fails ? 'failed' : 'complete';
  if (now >= op.inProgressAt) return 'in_progress';
  return 'pending';
}

const notFound = (what: string): SandboxReply => ({ status: 404, body: { error: `${what} not found` } });

/** Compiles `/x/{operationId}/y` into a matcher that returns the id. */
function pathMatcher(template: string): (path: string) => string | undefined {
  const [before, after] = template.split('{operationId}') as [string, string];
  return (path) => {
    if (!path.startsWith(before) || !path.endsWith(after) || path.length <= before.length + after.length) return undefined;
    const id = path.slice(before.length, path.length - after.length);
    if (id.includes('/')) return undefined;
    try {
      return decodeURIComponent(id);
    } catch {
      return undefined;
    }
  };
}

/**
 * The generic `http` deletion API (the seed's third-party API), as documented in README.md: create with an
 * Idempotency-Key, read the status, cancel while pending.
 */
export function createHttpSandbox(): SandboxModule {
  const operations = new Map<string, Operation>();
  const byKey = new Map<string, string>();
  // Never reset, so ids stay unique for the life of the process even across resets.
  let counter = 0;
  let matcher: { template: string; match: (path: string) => string | undefined } | undefined;
  let cached: { source: unknown; options: z.infer<typeof OptionsSchema> } | undefined;
  const cancelMatch = pathMatcher('/deletions/{operationId}');

  const statusReply = (op: Operation, now: number): SandboxReply => {
    const status = statusAt(op, now);
    const body: Record<string, unknown> = { operationId: op.id, status };
    if (status === 'failed') body['error'] = 'the vendor could not delete this customer';
    if (status === 'complete') body['completedAt'] = new Date(op.endAt).toISOString();
    return { status: 200, body };
  };

  const create = (req: SandboxRequest, ctx: SandboxContext): SandboxReply => {
    const parsed = CreateBody.safeParse(req.json);
    if (!parsed.success) {
      return { status: 400, body: { error: `body must be {"customerId": string, "requestId": string}${req.jsonError ? ` (${req.jsonError})` : ''}` } };
    }
    const keyHeader = req.headers['idempotency-key'];
    const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    if (!key) return { status: 400, body: { error: 'Idempotency-Key header is required' } };
    const existingId = byKey.get(key);
    const existing = existingId === undefined ? undefined : operations.get(existingId);
    if (existing) {
      if (existing.customerId !== parsed.data.customerId) {
        return { status: 422, body: { error: 'Idempotency-Key was already used for another customer' } };
      }
      return { status: 200, body: { operationId: existing.id, status: statusAt(existing, ctx.clock.now().getTime()) } };
    }
    const now = ctx.clock.now().getTime();
    const { inProgressAfterMs, completeAfterMs, failureShare } = ctx.config.lifecycle;
    const op: Operation = {
      id: `op_${(++counter).toString(36).padStart(6, '0')}`,
      customerId: parsed.data.customerId,
      key,
      inProgressAt: now + inProgressAfterMs,
      endAt: now + Math.max(inProgressAfterMs, completeAfterMs),
      fails: failureShare > 0 && ctx.random() < failureShare,
    };
    operations.set(op.id, op);
    byKey.set(key, op.id);
    return { status: 201, body: { operationId: op.id, status: statusAt(op, now) } };
  };

  return {
    name: 'http',
    optionsSchema: OptionsSchema,

    handle(req, ctx) {
      // config.options already passed optionsSchema (defaults applied); parse once per config change.
      if (cached?.source !== ctx.config.options) cached = { source: ctx.config.options, options: OptionsSchema.parse(ctx.config.options) };
      const options = cached.options;
      if (matcher?.template !== options.statusPath) {
        matcher = { template: options.statusPath, match: pathMatcher(options.statusPath) };
      }
      if (req.method === 'POST' && req.path === options.createPath) return create(req, ctx);
      if (req.method === 'GET') {
        const id = matcher.match(req.path);
        if (id === undefined) return notFound(`${req.path}`);
        const op = operations.get(id);
        return op ? statusReply(op, ctx.clock.now().getTime()) : notFound(`operation ${id}`);
      }
      if (req.method === 'DELETE') {
        const id = cancelMatch(req.path);
        if (id === undefined) return notFound(`${req.path}`);
        const op = operations.get(id);
        if (!op) return notFound(`operation ${id}`);
        const status = statusAt(op, ctx.clock.now().getTime());
        if (status !== 'pending') return { status: 409, body: { error: `operation ${id} is ${status}; too late to cancel` } };
        operations.delete(id);
        byKey.delete(op.key);
        return { status: 204 };
      }
      return { status: 405, body: { error: `${req.method} ${req.path} is not part of this API` } };
    },

    drift(mode: ModuleDriftMode, reply, req) {
      if (!reply.body || typeof reply.body !== 'object') return reply;
      const body = { ...(reply.body as Record<string, unknown>) };
      if (mode === 'unknown_status') {
        body['status'] = UNKNOWN_STATUS_WORD;
      } else if (req.method === 'POST') {
        body['operation_id'] = body['operationId'];
        delete body['operationId'];
      } else {
        body['state'] = body['status'];
        delete body['status'];
      }
      return { ...reply, body };
    },

    reset() {
      operations.clear();
      byKey.clear();
    },

    describe(ctx) {
      const now = ctx.clock.now().getTime();
      const byStatus: Record<string, number> = { pending: 0, in_progress: 0, complete: 0, failed: 0 };
      for (const op of operations.values()) byStatus[statusAt(op, now)]! += 1;
      return { operations: operations.size, byStatus };
    },
  };
}
