import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { DocumentEventData } from '../domain/firestoreDocument.js';
import { parseDocumentEventJson, Timestamp } from './firestoreJson.js';
import { decodeDocumentEventProtobuf } from './firestoreProtobuf.js';
import { formatIssues } from './pubsub.js';

export type { DocumentEventData, FirestoreDocument, FirestoreValue } from '../domain/firestoreDocument.js';
export { parseDocumentEventJson } from './firestoreJson.js';
export { decodeDocumentEventProtobuf, encodeDocumentEventProtobuf } from './firestoreProtobuf.js';

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
 * Decodes a CloudEvent attribute that arrived as an HTTP header, as the CloudEvents HTTP binding (3.1.3.2)
 * specifies: percent-decode, then read the bytes as UTF-8. Node reads a header's bytes as Latin-1, one
 * character per byte, so the string is turned back into those bytes first (a string holding characters
 * above U+00FF did not come from a header and is taken as text). Returns undefined for bytes that are not
 * UTF-8 once decoded.
 */
export function decodeHeaderAttribute(value: string): string | undefined {
  const bytes = headerBytes(value);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 1) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]!) && isHex(bytes[i + 2]!)) {
      out.push(parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16));
      i += 2;
    } else {
      out.push(b);
    }
  }
  return utf8(Buffer.from(out));
}

/** The header's bytes read as UTF-8 without percent-decoding: what a sender that does not encode (the emulator) meant. */
function headerAsSent(value: string): string | undefined {
  return utf8(headerBytes(value));
}

function headerBytes(value: string): Buffer {
   
  return /^[\u0000-\u00ff]*$/.test(value) ? Buffer.from(value, 'latin1') : Buffer.from(value, 'utf8');
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
function utf8(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Where an event's document path was read, and a header that named another document. */
export interface DocumentPath {
  /** The path below `documents/`, e.g. customers/c1. */
  path: string;
  from: 'payload' | 'document' | 'subject';
  /** Set when a header named a different document than the payload (the payload wins). */
  disagreement?: { attribute: 'document' | 'subject'; header: string; payload: string };
}

function pathOfName(name: string | undefined): string | undefined {
  if (!name) return undefined;
  // Project and database ids cannot hold "/documents/", so the first one ends the database part.
  const i = name.indexOf('/documents/');
  return i >= 0 ? name.slice(i + '/documents/'.length) : undefined;
}

/**
 * The document path of an event, exactly as Firestore holds it: from the payload's document name (the
 * after-image, else the before-image of a delete) first; from the `document` extension, else the subject,
 * only when the payload names no document, percent-decoded per the CloudEvents HTTP binding. When both
 * exist and disagree the payload wins and `disagreement` says so (the caller logs it). Header values are
 * compared both percent-decoded and as sent, since the emulator sends UTF-8 bytes without encoding.
 */
export function documentPathOf(event: FirestoreEvent): DocumentPath {
  const payload = pathOfName(event.data.value?.name) ?? pathOfName(event.data.oldValue?.name);
  const header: { attribute: 'document' | 'subject'; raw: string } | undefined =
    event.document !== undefined
      ? { attribute: 'document', raw: event.document }
      : event.subject !== undefined
        ? { attribute: 'subject', raw: event.subject }
        : undefined;
  const readings = (raw: string, attribute: 'document' | 'subject'): string[] => {
    const strip = (s: string | undefined) =>
      s === undefined ? undefined : attribute === 'subject' ? (s.startsWith('documents/') ? s.slice('documents/'.length) : undefined) : s;
    return [strip(decodeHeaderAttribute(raw)), strip(headerAsSent(raw))].filter((s): s is string => s !== undefined);
  };
  if (payload !== undefined) {
    if (header) {
      const seen = readings(header.raw, header.attribute);
      if (!seen.includes(payload)) {
        return { path: payload, from: 'payload', disagreement: { attribute: header.attribute, header: seen[0] ?? header.raw, payload } };
      }
    }
    return { path: payload, from: 'payload' };
  }
  if (!header) throw new InvalidInputError('the event names no document (no document name in the payload, no document extension or subject)');
  const decoded = header.attribute === 'document' ? decodeHeaderAttribute(header.raw) : readings(header.raw, 'subject')[0];
  if (decoded === undefined) {
    throw new InvalidInputError(`the ${header.attribute} attribute ${JSON.stringify(header.raw.slice(0, 200))} is not a UTF-8 document path`);
  }
  return { path: decoded, from: header.attribute };
}

/**
 * The customer id of a document path `{collection}/{id}`. Throws InvalidInputError for another collection,
 * a subcollection, an empty id or one over 1500 bytes.
 */
export function customerIdOfPath(path: string, collection: string): string {
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

/** The customer id of an event on `{collection}/{id}` (documentPathOf, then customerIdOfPath). */
export function customerIdOf(event: FirestoreEvent, collection: string): string {
  return customerIdOfPath(documentPathOf(event).path, collection);
}
