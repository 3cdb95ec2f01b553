import { z } from 'zod';
import type { OperationToCheck, VerificationReport } from '../DeletionVendor.js';

/**
 * Mixpanel's Engage query (Query API "Query Profiles", `POST /api/query/engage?project_id=…`, form body
 * `distinct_id=…`, service-account Basic auth): a found profile is `{"results":[{"$distinct_id",
 * "$properties"}],"status":"ok","total":1,…}` (test/fixtures/vendors/mixpanel/lookup-engage-found.json). No
 * data is not documented; an empty `results` (total 0) is read as none, which the schema's own words imply.
 */
export const ENGAGE_PATH = '/api/query/engage';

export const EngageResponse = z.looseObject({
  results: z.array(z.looseObject({ $distinct_id: z.union([z.string(), z.number()]), $properties: z.record(z.string(), z.unknown()).optional() })),
  status: z.string().optional(),
  total: z.number().int().nonnegative().optional(),
});
export type EngageAnswer = z.infer<typeof EngageResponse>;

/** Reads an Engage answer for one customer: only a profile with the customer's own distinct_id is its data. */
export function readEngage(answer: EngageAnswer, op: OperationToCheck): VerificationReport {
  // The OpenAPI types $distinct_id as an integer, real ones are usually strings: compare as text.
  const mine = answer.results.filter((r) => String(r.$distinct_id) === op.customerId);
  if (mine.length === 0) return { found: false, evidence: { lookup: 'engage', status: answer.status ?? null, total: answer.total ?? answer.results.length } };
  return {
    found: true,
    // The profile's property names, not their values: the evidence says what is left without copying it.
    // Neither the distinct_id (the customer id) nor the values: the evidence is kept for ever.
    evidence: { lookup: 'engage', status: answer.status ?? null, profiles: mine.map((r) => ({ properties: Object.keys(r.$properties ?? {}).sort() })) },
    summary: `Mixpanel Engage still finds the customer's profile (${mine.length === 1 ? 'one profile' : `${mine.length} profiles`})`,
  };
}
