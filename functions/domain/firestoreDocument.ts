/** The decoded Firestore document model: both event encodings are normalised to it (events/firestore.ts). */

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
