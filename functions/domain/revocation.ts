import type { FirestoreDocument, FirestoreValue } from './firestoreDocument.js';

/** What the consent field held on one side of a write. Only a boolean `true` is consent. */
export type ConsentReading =
  | 'granted'
  /** booleanValue false */
  | 'denied'
  /** nullValue */
  | 'null'
  /** The field (or a map on its path) is missing. */
  | 'absent'
  /** Any other value: a string "false", a number, a map… */
  | 'other'
  /** The document does not exist (created by this write, or deleted by it). */
  | 'no_document';

/** The outcome of one write for one customer's consent. */
export type RevocationDecision =
  | { kind: 'revoked'; cause: 'withdrawn' | 'document_deleted'; before: ConsentReading; after: ConsentReading; reason: string }
  | { kind: 'regranted'; before: ConsentReading; after: ConsentReading; reason: string }
  | { kind: 'none'; before: ConsentReading; after: ConsentReading; reason: string };

/** The reading in the words of the rule, for reasons operators and auditors read. */
const WORDS: Record<ConsentReading, string> = {
  granted: 'true',
  denied: 'false',
  null: 'null',
  absent: 'removed',
  other: 'a non-boolean value',
  no_document: 'no document',
};

/** Reads a dotted field path (`analyticsConsent`, `privacy.analytics`) through nested maps. */
export function readField(fields: Record<string, FirestoreValue>, fieldPath: string): FirestoreValue | undefined {
  let current: Record<string, FirestoreValue> | undefined = fields;
  let value: FirestoreValue | undefined;
  for (const segment of fieldPath.split('.')) {
    if (!current || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    value = current[segment];
    current = value && 'mapValue' in value ? value.mapValue.fields : undefined;
  }
  return value;
}

/** Classifies the consent field of a snapshot (undefined: no document). */
export function readConsent(document: FirestoreDocument | undefined, fieldPath: string): ConsentReading {
  if (!document) return 'no_document';
  const value = readField(document.fields, fieldPath);
  if (value === undefined) return 'absent';
  if ('booleanValue' in value) return value.booleanValue ? 'granted' : 'denied';
  if ('nullValue' in value) return 'null';
  return 'other';
}

/**
 * The rule (DESIGN.md "What counts as a revocation"): consent was `true` before the write and is not `true`
 * after it (false, null, removed, another type), or the document was deleted while consent was `true`.
 * Consent becoming `true` when it was not is a regrant. Everything else changes nothing.
 */
export function decideRevocation(
  before: FirestoreDocument | undefined,
  after: FirestoreDocument | undefined,
  fieldPath: string,
): RevocationDecision {
  const b = readConsent(before, fieldPath);
  const a = readConsent(after, fieldPath);
  if (b === 'granted' && a === 'no_document') {
    return { kind: 'revoked', cause: 'document_deleted', before: b, after: a, reason: `document deleted while ${fieldPath} was true` };
  }
  if (b === 'granted' && a !== 'granted') {
    return { kind: 'revoked', cause: 'withdrawn', before: b, after: a, reason: `${fieldPath} changed from true to ${WORDS[a]}` };
  }
  if (b !== 'granted' && a === 'granted') {
    return {
      kind: 'regranted',
      before: b,
      after: a,
      reason: b === 'no_document' ? `document created with ${fieldPath} true` : `${fieldPath} changed from ${WORDS[b]} to true`,
    };
  }
  if (b === 'granted') return { kind: 'none', before: b, after: a, reason: `${fieldPath} stayed true` };
  if (b === 'no_document') return { kind: 'none', before: b, after: a, reason: `document created without ${fieldPath} true (${WORDS[a]})` };
  if (a === 'no_document') return { kind: 'none', before: b, after: a, reason: `document deleted while ${fieldPath} was ${WORDS[b]}` };
  return { kind: 'none', before: b, after: a, reason: `${fieldPath} was not true before the write (${WORDS[b]} → ${WORDS[a]})` };
}
