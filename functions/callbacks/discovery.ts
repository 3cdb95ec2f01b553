import { z } from 'zod';

/**
 * The processor's discovery document (OpenDSR 2.0 §6.3). Only `processor_certificate` is used here; the other
 * properties are checked for shape and kept. AppsFlyer's OpenAPI types `supported_subject_request_types` as a
 * string where the spec has an array, so both are accepted.
 */
export const DiscoveryDocumentSchema = z
  .object({
    api_version: z.string().optional(),
    supported_identities: z.array(z.object({ identity_type: z.string(), identity_format: z.string().optional() }).loose()).optional(),
    supported_subject_request_types: z.union([z.array(z.string()), z.string()]).optional(),
    processor_certificate: z.url().max(2048),
  })
  .loose();

export type DiscoveryDocument = z.infer<typeof DiscoveryDocumentSchema>;

/** Where certificates may be fetched from: https only, unless the local stack or a test allows http. */
export function isAllowedFetchUrl(url: string, allowInsecureUrls: boolean): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false;
  return parsed.protocol === 'https:' || (allowInsecureUrls && parsed.protocol === 'http:');
}
