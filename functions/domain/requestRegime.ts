import type { FirestoreDocument } from './firestoreDocument.js';
import { isRegimeId, REGIME_IDS, type RegimeId } from './regimes.js';
import { readField } from './revocation.js';

/**
 * The legal regime a deletion request is made under, read from the customer's document: a configured field
 * (CONSENT_REGIME_FIELD, default `privacyRegion`) whose value is mapped to a regime id, else the configured
 * default (DEFAULT_REGIME, default `gdpr`). A value no mapping knows never drops the revocation: the default is
 * used and the decision says why, for a warning.
 */

/** How the field's values map to regimes: keys are lower case, compared with the trimmed, lower-cased value. */
export type RegimeValueMap = Readonly<Record<string, RegimeId>>;

/**
 * The values understood without any configuration: each regime id itself, the EU and EEA for GDPR, and ISO
 * 3166-2 codes of the US states whose regime is encoded (US-CA California, US-VA Virginia, US-CT Connecticut,
 * US-UT Utah, US-TX Texas). Nothing else is guessed (a bare "CA" could be Canada or California): an operator
 * adds their own values with REGIME_VALUES.
 */
export const BUILT_IN_REGIME_VALUES: Readonly<Record<string, RegimeId>> = {
  ...Object.fromEntries(REGIME_IDS.map((id) => [id, id])),
  eu: 'gdpr',
  eea: 'gdpr',
  'us-ca': 'ccpa',
  'us-va': 'vcdpa',
  'us-ct': 'ctdpa',
  'us-ut': 'ucpa',
  'us-tx': 'tdpsa',
};

export interface RegimeSettings {
  /** Dotted path of the field in the customer document. */
  field: string;
  /** The regime of a request whose document says nothing usable. */
  defaultRegime: RegimeId;
  /** The built-in values with the operator's on top. */
  values: RegimeValueMap;
}

/** What the field holds in one snapshot. */
export type RegimeReading = { kind: 'absent' } | { kind: 'text'; value: string } | { kind: 'other'; type: string };

/** The regime of a request and how it was decided (kept as evidence on the request's `revoked` event). */
export interface RegimeDecision {
  regime: RegimeId;
  /** `document`: the field's value was mapped; `default`: the field was absent, or held a value no mapping knows. */
  source: 'document' | 'default';
  /** The field's text as read (trimmed, at most 200 characters), when it held text. */
  value?: string;
  /** Set when the field held something that could not be used: the reason, naming the value and the default used. */
  problem?: string;
}

const normalise = (value: string) => value.trim().toLowerCase();

/**
 * Parses REGIME_VALUES (`value=regime,value=regime`, e.g. `EU=gdpr,California=ccpa`) over the built-in values.
 * Each problem names the entry; entries with problems are left out.
 */
export function parseRegimeValues(text: string | undefined): { values: Record<string, RegimeId>; problems: string[] } {
  const values: Record<string, RegimeId> = { ...BUILT_IN_REGIME_VALUES };
  const problems: string[] = [];
  for (const entry of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    const key = at > 0 ? normalise(entry.slice(0, at)) : '';
    const regime = at > 0 ? entry.slice(at + 1).trim().toLowerCase() : '';
    if (!key || !regime) problems.push(`REGIME_VALUES: "${entry}" is not value=regime`);
    else if (!isRegimeId(regime)) problems.push(`REGIME_VALUES: "${entry}" names no known regime (known: ${REGIME_IDS.join(', ')})`);
    else values[key] = regime;
  }
  return { values, problems };
}

/** The field's value in a snapshot, as Firestore's event encodes it. */
export function readRegimeReading(document: FirestoreDocument | undefined, field: string): RegimeReading {
  const value = document ? readField(document.fields, field) : undefined;
  if (value === undefined || 'nullValue' in value) return { kind: 'absent' };
  if ('stringValue' in value) return { kind: 'text', value: value.stringValue };
  return { kind: 'other', type: Object.keys(value)[0] ?? 'unknown' };
}

/** The field's value as the Firestore client library returns it (the reconcile scan reads documents that way). */
export function regimeReadingOf(value: unknown): RegimeReading {
  if (value === undefined || value === null) return { kind: 'absent' };
  if (typeof value === 'string') return { kind: 'text', value };
  return { kind: 'other', type: Array.isArray(value) ? 'array' : typeof value };
}

/** The regime of a request from what its document's field holds. */
export function decideRegime(reading: RegimeReading, settings: RegimeSettings): RegimeDecision {
  const fallback = { regime: settings.defaultRegime, source: 'default' as const };
  if (reading.kind === 'absent') return fallback;
  if (reading.kind === 'other') {
    return { ...fallback, problem: `${settings.field} holds a value of type ${reading.type}, not text; the default regime "${settings.defaultRegime}" is used` };
  }
  const value = reading.value.trim().slice(0, 200);
  if (value === '') return { ...fallback, value };
  const key = normalise(value);
  const regime = Object.hasOwn(settings.values, key) ? settings.values[key] : undefined;
  if (regime) return { regime, source: 'document', value };
  return {
    ...fallback,
    value,
    problem: `${settings.field} = ${JSON.stringify(value)} names no known regime; the default regime "${settings.defaultRegime}" is used (map it with REGIME_VALUES)`,
  };
}

/**
 * The regime of a revocation's request: the field after the write, else before it (a deleted document has only
 * its before-image; a withdrawal that also removed the field still had it before).
 */
export function regimeOfWrite(before: FirestoreDocument | undefined, after: FirestoreDocument | undefined, settings: RegimeSettings): RegimeDecision {
  const afterReading = readRegimeReading(after, settings.field);
  return decideRegime(afterReading.kind === 'absent' ? readRegimeReading(before, settings.field) : afterReading, settings);
}
