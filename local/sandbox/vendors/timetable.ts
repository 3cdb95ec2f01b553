import type { SandboxContext, SandboxReply } from '../types.js';

/** When an operation moves on, fixed at creation from the module's lifecycle settings. */
export interface Timetable {
  createdAt: number;
  inProgressAt: number;
  endAt: number;
  fails: boolean;
}

export type Phase = 'waiting' | 'running' | 'ended';

/** A new operation's timetable from the sandbox clock and `config.lifecycle`. */
export function newTimetable(ctx: SandboxContext): Timetable {
  const now = ctx.clock.now().getTime();
  const { inProgressAfterMs, completeAfterMs, failureShare } = ctx.config.lifecycle;
  return {
    createdAt: now,
    inProgressAt: now + inProgressAfterMs,
    endAt: now + Math.max(inProgressAfterMs, completeAfterMs),
    fails: failureShare > 0 && ctx.random() < failureShare,
  };
}

export function phaseAt(t: Timetable, now: number): Phase {
  if (now >= t.endAt) return 'ended';
  if (now >= t.inProgressAt) return 'running';
  return 'waiting';
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): SandboxReply =>
  headers ? { status, body, headers } : { status, body };

/** The credential a Basic header carries (`user:password`), or undefined. */
export function basicCredential(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Basic\s+(.+)$/i.exec(value ?? '');
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : undefined;
}

/** Renames `from` to `to` in a JSON object body (drift `rename_field`). */
export function renameField(reply: SandboxReply, from: string, to: string): SandboxReply {
  if (!reply.body || typeof reply.body !== 'object' || Array.isArray(reply.body)) return reply;
  const body = { ...(reply.body as Record<string, unknown>) };
  if (!(from in body)) return reply;
  body[to] = body[from];
  delete body[from];
  return { ...reply, body };
}
