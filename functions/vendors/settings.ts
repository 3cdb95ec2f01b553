import { z } from 'zod';
import type { VendorKind } from './DeletionVendor.js';

/**
 * Each adapter's settings, read by config.ts from `VENDOR_<NAME>_<SETTING>` variables
 * (setting names in camelCase here, SCREAMING_SNAKE in the environment: baseUrl ← VENDOR_HTTP_BASE_URL).
 * Secrets are marked in SECRET_SETTINGS so the redacted config never shows them.
 */
export const VENDOR_SETTINGS = {
  http: z.object({
    /** Base URL of the generic deletion API (the seed's third-party API). */
    baseUrl: z.url(),
    /** Bearer token, if the API wants one. */
    apiKey: z.string().min(1).optional(),
    /** Path of the create call. */
    createPath: z.string().startsWith('/').default('/deletions'),
    /** Path of the status call; `{operationId}` is replaced. */
    statusPath: z.string().startsWith('/').includes('{operationId}').default('/deletions/{operationId}'),
  }),
  segment: z.object({}).passthrough(),
  mixpanel: z.object({}).passthrough(),
  amplitude: z.object({}).passthrough(),
  mparticle: z.object({}).passthrough(),
  appsflyer: z.object({}).passthrough(),
} satisfies Record<VendorKind, z.ZodObject>;

export type VendorSettings<K extends VendorKind> = z.infer<(typeof VENDOR_SETTINGS)[K]>;

/** Setting names that hold credentials, per vendor; never logged. */
export const SECRET_SETTINGS: Record<VendorKind, readonly string[]> = {
  http: ['apiKey'],
  segment: ['token'],
  mixpanel: ['token', 'projectToken'],
  amplitude: ['apiKey', 'secretKey'],
  mparticle: ['apiKey', 'apiSecret'],
  appsflyer: ['token'],
};
