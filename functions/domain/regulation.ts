import type { RegimeId } from './regimes.js';

/** The privacy laws vendors' deletion APIs name, as OpenDSR spells them (Mixpanel: upper case). */
export const REGULATIONS = ['gdpr', 'ccpa'] as const;
export type Regulation = (typeof REGULATIONS)[number];

/**
 * The regulation a vendor is told for a request under `regime`. Mixpanel (compliance_type), mParticle and
 * AppsFlyer (OpenDSR `regulation`) know only GDPR and CCPA. GDPR requests are GDPR; CCPA requests are CCPA; the
 * other US state laws (Virginia, Connecticut, Utah, Texas) are consumer-privacy laws of the CCPA family, with a
 * consumer's right to delete and no GDPR basis, so they are sent as CCPA, the only US regime those vendors know.
 * The request itself keeps its own regime (its deadline and evidence); only the word sent to the vendor is mapped.
 */
export const VENDOR_REGULATION: Readonly<Record<RegimeId, Regulation>> = {
  gdpr: 'gdpr',
  ccpa: 'ccpa',
  vcdpa: 'ccpa',
  ctdpa: 'ccpa',
  ucpa: 'ccpa',
  tdpsa: 'ccpa',
};

export function vendorRegulationOf(regime: RegimeId): Regulation {
  return VENDOR_REGULATION[regime];
}
