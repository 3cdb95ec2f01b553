import protobuf from 'protobufjs';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { formatIssues } from './pubsub.js';
import { descriptor } from './proto/descriptor.js';

/**
 * A Firestore value in its proto3 JSON form: exactly one of these keys. Both encodings (protobuf, the
 * production default, and JSON) are normalised to it, so a boolean `false` ({ booleanValue: false }) is
 * always told apart from an absent field (no key in `fields`) and from null ({ nullValue: null }).
 */
export type FirestoreValue =
  | { nullValue: null }
  | { booleanValue: boolean }
  /** int64 as a decimal string, as proto3 JSON writes it. */
  | { integerValue: string }
  | { doubleValue: number }
  /** RFC 3339, up to nanoseconds. */
  | { timestampValue: string }
  | { stringValue: string }
  /** base64. */
  | { bytesValue: string }
  | { referenceValue: string }
  | { geoPointValue: { latitude: number; longitude: number } }
  | { arrayValue: { values: FirestoreValue[] } }
  | { mapValue: { fields: Record<string, FirestoreValue> } };

/** One document snapshot. */
export interface FirestoreDocument {
  /** projects/{p}/databases/{db}/documents/{path} */
  name: string;
  fields: Record<string, FirestoreValue>;
  createTime?: string;
  updateTime?: string;
}

/** google.events.cloud.firestore.v1.DocumentEventData, decoded and validated. */
export interface DocumentEventData {
  /** After the write; absent for a delete. */
  value?: FirestoreDocument;
  /** Before the write; absent for a create. */
  oldValue?: FirestoreDocument;
  /** Changed field paths (production fills it on updates; the emulator leaves it empty). */
  updateMask?: string[];
}

/** A Firestore document CloudEvent: envelope attributes and decoded data. */
export interface FirestoreEvent {
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  /** The `document` extension: the document path without `documents/`, e.g. customers/c1. */
  document?: string;
  encoding: 'protobuf' | 'json';
  data: DocumentEventData;
}

const EVENT_TYPE_PREFIX = 'google.cloud.firestore.document.v1.';
const MESSAGE = 'google.events.cloud.firestore.v1.DocumentEventData';

const root = protobuf.Root.fromJSON(descriptor);
const DocumentEventDataType = root.lookupType(MESSAGE);

// ---------------------------------------------------------------------------------------------------------
// Validation of the proto3 JSON form (shared by both encodings)

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const Timestamp = z
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
const TimestampParts = z.object({ seconds: z.union([z.string(), z.number()]).optional(), nanos: z.number().int().optional() });

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

function fail(path: string, message: string): never {
  throw new InvalidInputError(`${path}: ${message}`);
}

function check<T>(schema: z.ZodType<T>, raw: unknown, path: string): T {
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

// ---------------------------------------------------------------------------------------------------------
// Protobuf

const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z

/** google.protobuf.Timestamp ({seconds, nanos}, seconds as a string) → RFC 3339 with the nanoseconds kept. */
function timestampToJson(raw: unknown, path: string): string {
  const t = check(TimestampParts, raw, path);
  const seconds = BigInt(t.seconds ?? 0);
  const nanos = t.nanos ?? 0;
  if (seconds < -62_135_596_800n || seconds > MAX_SECONDS) fail(path, `seconds ${seconds} is outside 0001-01-01..9999-12-31`);
  if (nanos < 0 || nanos > 999_999_999) fail(path, `nanos ${nanos} is outside 0..999999999`);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const frac = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${frac}Z`;
}

type Plain = Record<string, unknown>;

/** protobufjs toObject output (oneofs: true) → proto3 JSON, so one validator serves both encodings. */
function valueToJson(v: Plain, path: string): unknown {
  const kind = v['valueType'];
  if (typeof kind !== 'string') fail(path, 'a Value with no value_type set');
  const x = v[kind];
  switch (kind) {
    case 'nullValue':
      return { nullValue: null };
    case 'timestampValue':
      return { timestampValue: timestampToJson(x, `${path}.timestampValue`) };
    case 'doubleValue':
      return { doubleValue: typeof x === 'number' && !Number.isFinite(x) ? String(x) : x };
    case 'arrayValue': {
      const values = ((x as Plain | undefined)?.['values'] as Plain[] | undefined) ?? [];
      return { arrayValue: { values: values.map((e, i) => valueToJson(e, `${path}.arrayValue.values[${i}]`)) } };
    }
    case 'mapValue': {
      const fields = ((x as Plain | undefined)?.['fields'] as Record<string, Plain> | undefined) ?? {};
      return { mapValue: { fields: fieldsToJson(fields, `${path}.mapValue.fields`) } };
    }
    default:
      return { [kind]: x };
  }
}

function fieldsToJson(fields: Record<string, Plain>, path: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([name, v]) => [name, valueToJson(v, `${path}.${name}`)]));
}

function documentToJson(d: Plain, path: string): unknown {
  return {
    name: d['name'],
    fields: fieldsToJson((d['fields'] as Record<string, Plain> | undefined) ?? {}, `${path}.fields`),
    ...(d['createTime'] ? { createTime: timestampToJson(d['createTime'], `${path}.createTime`) } : {}),
    ...(d['updateTime'] ? { updateTime: timestampToJson(d['updateTime'], `${path}.updateTime`) } : {}),
  };
}

/** Decodes DocumentEventData from protobuf bytes. Throws InvalidInputError on malformed bytes or content. */
export function decodeDocumentEventProtobuf(bytes: Uint8Array): DocumentEventData {
  let message: protobuf.Message;
  try {
    message = DocumentEventDataType.decode(bytes);
  } catch (err) {
    throw new InvalidInputError(`data: malformed protobuf DocumentEventData (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  const obj = DocumentEventDataType.toObject(message, {
    longs: String,
    enums: String,
    bytes: String,
    oneofs: true,
    defaults: false,
  }) as Plain;
  const json: Plain = {};
  if (obj['value']) json['value'] = documentToJson(obj['value'] as Plain, 'data.value');
  if (obj['oldValue']) json['oldValue'] = documentToJson(obj['oldValue'] as Plain, 'data.oldValue');
  if (obj['updateMask']) json['updateMask'] = { fieldPaths: (obj['updateMask'] as Plain)['fieldPaths'] ?? [] };
  return parseDocumentEventJson(json);
}

/** Encodes DocumentEventData (proto3 JSON form) as protobuf bytes: what production and the emulator send. */
export function encodeDocumentEventProtobuf(data: DocumentEventData): Uint8Array {
  const toTimestamp = (s: string) => {
    const ms = Date.parse(s);
    const frac = /\.(\d{1,9})/.exec(s)?.[1] ?? '';
    return { seconds: Math.floor(ms / 1000), nanos: Number(frac.padEnd(9, '0') || 0) };
  };
  const value = (v: FirestoreValue): Plain => {
    if ('nullValue' in v) return { nullValue: 0 };
    if ('timestampValue' in v) return { timestampValue: toTimestamp(v.timestampValue) };
    // fromObject reads an int64 given as a decimal string through Long, keeping every digit.
    if ('integerValue' in v) return { integerValue: v.integerValue };
    if ('bytesValue' in v) return { bytesValue: Buffer.from(v.bytesValue, 'base64') };
    if ('arrayValue' in v) return { arrayValue: { values: v.arrayValue.values.map(value) } };
    if ('mapValue' in v) return { mapValue: { fields: fields(v.mapValue.fields) } };
    return v as Plain;
  };
  const fields = (f: Record<string, FirestoreValue>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, value(v)]));
  const doc = (d: FirestoreDocument): Plain => ({
    name: d.name,
    fields: fields(d.fields),
    ...(d.createTime ? { createTime: toTimestamp(d.createTime) } : {}),
    ...(d.updateTime ? { updateTime: toTimestamp(d.updateTime) } : {}),
  });
  const message = DocumentEventDataType.fromObject({
    ...(data.value ? { value: doc(data.value) } : {}),
    ...(data.oldValue ? { oldValue: doc(data.oldValue) } : {}),
    ...(data.updateMask ? { updateMask: { fieldPaths: data.updateMask } } : {}),
  });
  return DocumentEventDataType.encode(message).finish();
}

// ---------------------------------------------------------------------------------------------------------
// The CloudEvent

const Envelope = z.object({
  id: z.string().min(1, 'must be a non-empty string'),
  source: z.string().min(1, 'must be a non-empty string'),
  type: z.string().startsWith(EVENT_TYPE_PREFIX, `must be a Firestore document event (${EVENT_TYPE_PREFIX}*)`),
  time: Timestamp.optional(),
  subject: z.string().optional(),
  document: z.string().optional(),
  datacontenttype: z.string().optional(),
});

function isProtobufType(contentType: string | undefined): boolean {
  return contentType !== undefined && /protobuf/i.test(contentType);
}

/** Decodes the data of a Firestore CloudEvent in whatever encoding it came. */
export function decodeDocumentEventData(data: unknown, contentType?: string): { encoding: 'protobuf' | 'json'; data: DocumentEventData } {
  if (data instanceof Uint8Array) {
    // The Functions Framework hands a protobuf body over as a Buffer; a JSON body sent with a binary
    // content type would be a Buffer too, so sniff it.
    if (!isProtobufType(contentType) && data.length > 0 && data[0] === 0x7b) {
      return { encoding: 'json', data: parseDocumentEventJson(parseJsonText(Buffer.from(data).toString('utf8'))) };
    }
    return { encoding: 'protobuf', data: decodeDocumentEventProtobuf(data) };
  }
  if (typeof data === 'string') {
    // The emulator posts protobuf as base64 text; accept it even when no relay decoded it.
    if (isProtobufType(contentType)) return { encoding: 'protobuf', data: decodeDocumentEventProtobuf(Buffer.from(data, 'base64')) };
    return { encoding: 'json', data: parseDocumentEventJson(parseJsonText(data)) };
  }
  if (data === undefined || data === null) throw new InvalidInputError('data: the event carries no data');
  if (typeof data === 'object') return { encoding: 'json', data: parseDocumentEventJson(data) };
  throw new InvalidInputError(`data: expected protobuf bytes or a JSON object, got ${typeof data}`);
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError(`data: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/**
 * Decodes a Firestore document CloudEvent as the Functions Framework hands it over (binary mode: extensions
 * such as `document` are top-level properties). Throws InvalidInputError naming what was wrong.
 */
export function decodeFirestoreEvent(event: unknown): FirestoreEvent {
  const envelope = Envelope.safeParse(event);
  if (!envelope.success) throw new InvalidInputError(`not a Firestore document event: ${formatIssues(envelope.error)}`);
  const e = envelope.data;
  const decoded = decodeDocumentEventData((event as { data?: unknown }).data, e.datacontenttype);
  return {
    id: e.id,
    source: e.source,
    type: e.type,
    ...(e.time ? { time: e.time } : {}),
    ...(e.subject ? { subject: e.subject } : {}),
    ...(e.document ? { document: e.document } : {}),
    encoding: decoded.encoding,
    data: decoded.data,
  };
}

/** Firestore's limit on a document id, in UTF-8 bytes. */
export const MAX_DOCUMENT_ID_BYTES = 1500;

/**
 * The customer id of an event on `{collection}/{id}`, from the `document` extension, else the subject
 * (`documents/{collection}/{id}`), else the document name. Throws InvalidInputError for another collection,
 * a subcollection, an empty id or one over 1500 bytes.
 */
export function customerIdOf(event: FirestoreEvent, collection: string): string {
  const fromName = (name: string | undefined) => {
    const i = name?.indexOf('/documents/') ?? -1;
    return i >= 0 ? name!.slice(i + '/documents/'.length) : undefined;
  };
  const path =
    event.document ??
    (event.subject?.startsWith('documents/') ? event.subject.slice('documents/'.length) : undefined) ??
    fromName(event.data.value?.name) ??
    fromName(event.data.oldValue?.name);
  if (path === undefined) throw new InvalidInputError('the event names no document (no document extension, subject or name)');
  const segments = path.split('/');
  if (segments[0] !== collection) {
    throw new InvalidInputError(`document ${JSON.stringify(path.slice(0, 200))} is not in collection "${collection}"`);
  }
  if (segments.length > 2) {
    throw new InvalidInputError(`document ${JSON.stringify(path.slice(0, 200))} is in a subcollection of "${collection}", not a customer`);
  }
  const id = segments[1] ?? '';
  if (id.length === 0) throw new InvalidInputError(`document path ${JSON.stringify(path)} has an empty customer id`);
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_DOCUMENT_ID_BYTES) {
    throw new InvalidInputError(`customer id is ${bytes} bytes, over Firestore's ${MAX_DOCUMENT_ID_BYTES}-byte limit`);
  }
  return id;
}
