import { z } from 'zod';

/**
 * The body of an OpenDSR status callback, every documented variant and nothing else
 * (test/fixtures/vendors/opendsr/CALLBACKS.md):
 * - OpenDSR 2.0 §8.6 (and OpenGDPR 1.0, without `results_count`): controller_id, status_callback_url,
 *   subject_request_id, request_status, expected_completion_time REQUIRED; results_url, results_count OPTIONAL.
 * - mParticle (DSR API v2/v3): no status_callback_url; api_version, results_url null, extensions null or its
 *   forwarding array, group_id; times without offset (UTC); expected_completion_time null once cancelled.
 * - AppsFlyer's status words `in-progress` and `canceled`.
 * An unknown field is refused: a processor changing its contract is an alert, not a guess.
 */

/** Status words as the processors write them. */
export const CALLBACK_STATUS_WORDS = ['pending', 'in_progress', 'completed', 'cancelled', 'in-progress', 'canceled'] as const;
export type CallbackStatusWord = (typeof CALLBACK_STATUS_WORDS)[number];

/** The spec's vocabulary, to which every spelling is mapped. */
export type CallbackStatus = 'pending' | 'in_progress' | 'completed' | 'cancelled';

const STATUS_OF: Readonly<Record<CallbackStatusWord, CallbackStatus>> = {
  pending: 'pending',
  in_progress: 'in_progress',
  'in-progress': 'in_progress',
  completed: 'completed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

/** RFC 3339 with offset (the spec) or without (mParticle, meaning UTC). */
const Timestamp = z.iso.datetime({ offset: true, local: true });

/** mParticle's per-partner forwarding state (DSR API v3 "Extensions"). */
const ForwardingExtension = z.strictObject({
  domain: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'skipped', 'sent', 'failed']),
  status_message: z.string().nullish(),
});

/** Spec §7.1.2: an object keyed by processor domain; mParticle: an array of forwarding states, or null. */
const Extensions = z.union([z.null(), z.array(ForwardingExtension), z.record(z.string(), z.unknown())]);

export const CallbackBodySchema = z.strictObject({
  controller_id: z.string().min(1).max(200),
  subject_request_id: z.uuid({ version: 'v4' }).transform((s) => s.toLowerCase()),
  request_status: z.enum(CALLBACK_STATUS_WORDS),
  expected_completion_time: Timestamp.nullable(),
  status_callback_url: z.url().max(2048).optional(),
  results_url: z.url().max(2048).nullable().optional(),
  results_count: z.int().min(0).nullable().optional(),
  api_version: z.string().max(20).nullable().optional(),
  group_id: z.string().max(200).nullable().optional(),
  extensions: Extensions.optional(),
});

export type CallbackBody = z.infer<typeof CallbackBodySchema>;

/** A parsed callback with its status in the spec's vocabulary and its time as a Date (UTC when no offset). */
export interface StatusCallback {
  body: CallbackBody;
  subjectRequestId: string;
  controllerId: string;
  status: CallbackStatus;
  expectedCompletionAt: Date | null;
}

export type ParsedCallback = { ok: true; callback: StatusCallback } | { ok: false; problems: string[] };

/** Validates a JSON value as a status callback; `problems` names each field that is wrong (never its value). */
export function parseCallbackBody(json: unknown): ParsedCallback {
  const parsed = CallbackBodySchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map(describeIssue) };
  }
  const body = parsed.data;
  return {
    ok: true,
    callback: {
      body,
      subjectRequestId: body.subject_request_id,
      controllerId: body.controller_id,
      status: STATUS_OF[body.request_status],
      expectedCompletionAt: body.expected_completion_time === null ? null : utcDate(body.expected_completion_time),
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.join('.') || '(body)';
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.slice(0, 5).join(', ')}`;
  return `${where}: ${issue.code}`;
}

function utcDate(text: string): Date {
  return new Date(/(Z|[+-]\d{2}:\d{2})$/i.test(text) ? text : `${text}Z`);
}
