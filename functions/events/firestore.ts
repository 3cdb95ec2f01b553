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
