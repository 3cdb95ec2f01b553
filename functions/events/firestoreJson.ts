import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { DocumentEventData, FirestoreDocument, FirestoreValue } from '../domain/firestoreDocument.js';
import { formatIssues } from './pubsub.js';

// ---------------------------------------------------------------------------------------------------------
// Validation of the proto3 JSON form (shared by both encodings)

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
export const Timestamp = z
  .string()
  .regex(RFC3339, 'must be an RFC 3339 timestamp')
  .refine((s) => Number.isFinite(Date.parse(s)), 'must be a valid date');
const Int64 = z.union([
  z.string().regex(/^-?\d{1,19}$/, 'must be an int64 (decimal string)'),
  z.number().int().transform(String),
]);
// proto3 JSON writes the non-finite doubles as strings; protobuf hands them over as numbers.
const Double = z.union([
  z.custom<number>((v) => typeof v === 'number', 'must be a number'),
  z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number),
]);
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const LatLng = z.strictObject({ latitude: Double.optional(), longitude: Double.optional() });
const FieldMap = z.record(z.string(), z.unknown());
// Built once: these run for every value of every event, and building a zod schema costs more than using it.
const NullValue = z.union([z.null(), z.literal('NULL_VALUE'), z.literal(0)]);
const Bool = z.boolean();
const Str = z.string();
const ArrayJson = z.strictObject({ values: z.array(z.unknown()).optional() });
const MapJson = z.strictObject({ fields: FieldMap.optional() });
export const TimestampParts = z.object({ seconds: z.union([z.string(), z.number()]).optional(), nanos: z.number().int().optional() });

const VALUE_KEYS = [
  'nullValue',
  'booleanValue',
  'integerValue',
  'doubleValue',
  'timestampValue',
  'stringValue',
  'bytesValue',
  'referenceValue',
  'geoPointValue',
  'arrayValue',
  'mapValue',
] as const;

/** Deeper than Firestore allows (20 levels of maps/arrays): refuse rather than recurse without end. */
const MAX_DEPTH = 64;

export function fail(path: string, message: string): never {
  throw new InvalidInputError(`${path}: ${message}`);
}

export function check<T>(schema: z.ZodType<T>, raw: unknown, path: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    // Each issue under its full path (data.value.updateTime: …), the first one per path.
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const i of r.error.issues) {
      const at = [path, ...i.path.map(String)].join('.');
      if (seen.has(at)) continue;
      seen.add(at);
      parts.push(`${at}: ${i.message}`);
    }
    throw new InvalidInputError(parts.join('; '));
  }
  return r.data;
}

function parseValue(raw: unknown, path: string, depth: number): FirestoreValue {
  if (depth > MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`);
  const obj = check(FieldMap, raw, path);
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (keys.length !== 1) fail(path, `a Value must hold exactly one of ${VALUE_KEYS.join(', ')} (got ${keys.length ? keys.join(', ') : 'none'})`);
  const key = keys[0]!;
  const v = obj[key];
  const at = `${path}.${key}`;
  switch (key) {
    case 'nullValue':
      check(NullValue, v, at);
      return { nullValue: null };
    case 'booleanValue':
      return { booleanValue: check(Bool, v, at) };
    case 'integerValue':
      return { integerValue: check(Int64, v, at) };
    case 'doubleValue':
      return { doubleValue: check(Double, v, at) };
    case 'timestampValue':
      return { timestampValue: check(Timestamp, v, at) };
    case 'stringValue':
      return { stringValue: check(Str, v, at) };
    case 'bytesValue':
      return { bytesValue: check(Base64, v, at) };
    case 'referenceValue':
      return { referenceValue: check(Str, v, at) };
    case 'geoPointValue': {
      const g = check(LatLng, v, at);
      return { geoPointValue: { latitude: g.latitude ?? 0, longitude: g.longitude ?? 0 } };
    }
    case 'arrayValue': {
      const a = check(ArrayJson, v, at);
      return { arrayValue: { values: (a.values ?? []).map((x, i) => parseValue(x, `${at}.values[${i}]`, depth + 1)) } };
    }
    case 'mapValue': {
      const m = check(MapJson, v, at);
      return { mapValue: { fields: parseFields(m.fields ?? {}, `${at}.fields`, depth + 1) } };
    }
    default:
      return fail(path, `unknown Value kind "${key}" (expected one of ${VALUE_KEYS.join(', ')})`);
  }
}

function parseFields(raw: Record<string, unknown>, path: string, depth: number): Record<string, FirestoreValue> {
  // fromEntries defines own properties, so a field named __proto__ is just a field.
  return Object.fromEntries(Object.entries(raw).map(([name, v]) => [name, parseValue(v, `${path}.${name}`, depth)]));
}

const DocumentJson = z.object({
  name: z.string().optional(),
  fields: FieldMap.optional(),
  createTime: Timestamp.optional(),
  updateTime: Timestamp.optional(),
});

function parseDocument(raw: unknown, path: string): FirestoreDocument {
  const d = check(DocumentJson, raw, path);
  return {
    name: d.name ?? '',
    fields: parseFields(d.fields ?? {}, `${path}.fields`, 0),
    ...(d.createTime ? { createTime: d.createTime } : {}),
    ...(d.updateTime ? { updateTime: d.updateTime } : {}),
  };
}

const EventDataJson = z.object({
  value: z.unknown().optional(),
  oldValue: z.unknown().optional(),
  updateMask: z.object({ fieldPaths: z.array(z.string()).optional() }).optional(),
});

/** Validates DocumentEventData in proto3 JSON form. Throws InvalidInputError naming the bad part. */
export function parseDocumentEventJson(raw: unknown): DocumentEventData {
  const e = check(EventDataJson, raw, 'data');
  const out: DocumentEventData = {};
  if (e.value !== undefined && e.value !== null) out.value = parseDocument(e.value, 'data.value');
  if (e.oldValue !== undefined && e.oldValue !== null) out.oldValue = parseDocument(e.oldValue, 'data.oldValue');
  if (e.updateMask) out.updateMask = e.updateMask.fieldPaths ?? [];
  if (!out.value && !out.oldValue) throw new InvalidInputError('data: carries neither value nor oldValue');
  return out;
}
