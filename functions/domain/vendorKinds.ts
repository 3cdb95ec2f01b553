/** The names of the vendor adapters this build knows. */
export const VENDOR_KINDS = ['http', 'segment', 'mixpanel', 'amplitude', 'mparticle', 'appsflyer'] as const;
export type VendorKind = (typeof VENDOR_KINDS)[number];

export function isVendorKind(v: unknown): v is VendorKind {
  return typeof v === 'string' && (VENDOR_KINDS as readonly string[]).includes(v);
}
