import protobuf from 'protobufjs';
import type { DocumentEventData, FirestoreDocument, FirestoreValue } from '../domain/firestoreDocument.js';
import { InvalidInputError } from '../errors.js';
import { check, fail, parseDocumentEventJson, TimestampParts } from './firestoreJson.js';
import { descriptor } from './proto/descriptor.js';

const MESSAGE = 'google.events.cloud.firestore.v1.DocumentEventData';
const root = protobuf.Root.fromJSON(descriptor);
const DocumentEventDataType = root.lookupType(MESSAGE);


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
