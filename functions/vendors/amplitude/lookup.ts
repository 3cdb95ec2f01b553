import { z } from 'zod';
import type { OperationToCheck, VerificationReport } from '../DeletionVendor.js';
import { amplitudeIdsOf, AmplitudeRefSchema } from './jobs.js';

/**
 * Amplitude's user search (Dashboard REST API `GET /api/2/usersearch?user=…`): a match is
 * `{"matches":[{"user_id","amplitude_id"}],"type":"match_user_or_device_id"}`, no match a 200 with
 * `{"type":"nomatch","matches":[]}` (test/fixtures/vendors/amplitude/lookup-user-search-*.json).
 */
export const USER_SEARCH_PATH = '/api/2/usersearch';

export const UserSearchResponse = z.looseObject({
  type: z.string().min(1),
  matches: z.array(
    z.looseObject({
      user_id: z.union([z.string(), z.number()]).nullish(),
      amplitude_id: z.number().int(),
    }),
  ),
});
export type UserSearchAnswer = z.infer<typeof UserSearchResponse>;

/**
 * Reads a user search answer for one customer. `user` also matches device ids and user id prefixes, so only a
 * match on the customer's own user id, or on one of the amplitude_ids its deletion named, is its data.
 */
export function readUserSearch(answer: UserSearchAnswer, op: OperationToCheck, idType: 'user_id' | 'amplitude_id'): VerificationReport {
  const ref = AmplitudeRefSchema.safeParse(op.ref);
  // A shared reference's ids are its batch's, not only this customer's: match those by user id alone.
  const known = new Set((ref.success && !ref.data.shared ? amplitudeIdsOf(ref.data) : []).map(String));
  if (idType === 'amplitude_id') known.add(op.customerId);
  const mine = answer.matches.filter((m) => (idType === 'user_id' && m.user_id !== undefined && m.user_id !== null && String(m.user_id) === op.customerId) || known.has(String(m.amplitude_id)));
  if (mine.length === 0) return { found: false, evidence: { lookup: 'usersearch', type: answer.type, matches: answer.matches.length } };
  return {
    found: true,
    // The amplitude_ids, not the user id: the evidence is kept for ever and must not name the customer.
    evidence: { lookup: 'usersearch', type: answer.type, matches: mine.map((m) => ({ amplitude_id: m.amplitude_id })) },
    summary: `Amplitude user search still finds the customer (amplitude_id ${mine.map((m) => m.amplitude_id).join(', ')})`,
  };
}
