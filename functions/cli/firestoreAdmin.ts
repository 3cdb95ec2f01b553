import { Firestore, FieldPath } from '@google-cloud/firestore';

/** Opens a Firestore client: the emulator at `emulatorHost` when given, else Google Cloud with default credentials. */
export function createFirestore(options: { projectId?: string; emulatorHost?: string }): Firestore {
  const settings = {
    ...(options.projectId ? { projectId: options.projectId } : {}),
    // ssl false makes the client send the emulator's admin token (`Bearer owner`) instead of real credentials.
    ...(options.emulatorHost ? { host: options.emulatorHost, ssl: false } : {}),
  };
  if (!options.emulatorHost) return new Firestore(settings);
  // The client lets FIRESTORE_EMULATOR_HOST override any host it is given, and reads it only while it is
  // constructed. An explicit emulator (the stack file's) must win over one the shell happens to export.
  const exported = process.env['FIRESTORE_EMULATOR_HOST'];
  process.env['FIRESTORE_EMULATOR_HOST'] = options.emulatorHost;
  try {
    return new Firestore(settings);
  } finally {
    if (exported === undefined) delete process.env['FIRESTORE_EMULATOR_HOST'];
    else process.env['FIRESTORE_EMULATOR_HOST'] = exported;
  }
}

/** Where consent lives: the customers collection and the (possibly dotted) consent field path. */
export interface ConsentLocation {
  collection: string;
  field: string;
}

/** What a consent write did, for the operator. */
export interface ConsentChange {
  customerId: string;
  /** The consent value before the write (undefined when the field or the customer was missing). */
  before: unknown;
  after: boolean;
  /** The customer document did not exist and was created. */
  created: boolean;
  /** Nothing was written because consent already had this value. */
  unchanged: boolean;
}

function fieldPath(field: string): FieldPath {
  return new FieldPath(...field.split('.'));
}

function nested(field: string, value: unknown): Record<string, unknown> {
  return field
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/**
 * Writes the consent field of one customer. A missing customer is created. Withdrawing consent from a customer
 * who does not exist first creates them with consent granted, because a document created without consent is not
 * a revocation and the point of `revoke` is one: the trigger must see consent go from true to not true.
 */
export async function setConsent(
  firestore: Firestore,
  where: ConsentLocation,
  customerId: string,
  consent: boolean,
): Promise<ConsentChange> {
  const ref = firestore.collection(where.collection).doc(customerId);
  const path = fieldPath(where.field);
  const snap = await ref.get();
  const before: unknown = snap.exists ? snap.get(path) : undefined;
  if (snap.exists && before === consent) {
    return { customerId, before, after: consent, created: false, unchanged: true };
  }
  if (!snap.exists && !consent) {
    await ref.set(nested(where.field, true), { mergeFields: [path] });
  }
  await ref.set(nested(where.field, consent), { mergeFields: [path] });
  return { customerId, before, after: consent, created: !snap.exists, unchanged: false };
}

/** One customer document as a reconciliation scan sees it. */
export interface ScannedCustomer {
  customerId: string;
  /** The consent field's value (undefined when absent). */
  consent: unknown;
  /** The regime field's value (undefined when absent or not asked for). */
  regimeValue?: unknown;
  createTime: Date;
  updateTime: Date;
  /** The update time at full (nanosecond) precision, RFC 3339, as a trigger event would carry it. */
  updateTimeText: string;
}

/** A Firestore timestamp as RFC 3339 with all nine fractional digits (a Date would drop the microseconds). */
export function rfc3339(t: { seconds: number; nanoseconds: number }): string {
  return `${new Date(t.seconds * 1000).toISOString().slice(0, 19)}.${String(t.nanoseconds).padStart(9, '0')}Z`;
}

/**
 * Scans the customers collection in document-id order, one page at a time, reading only the consent field (and
 * the regime field, when named), so memory stays bounded by the page size whatever the collection's size.
 */
export async function* scanCustomers(
  firestore: Firestore,
  where: ConsentLocation & { regimeField?: string },
  pageSize = 500,
): AsyncGenerator<ScannedCustomer[]> {
  const path = fieldPath(where.field);
  const regimePath = where.regimeField ? fieldPath(where.regimeField) : undefined;
  let after: string | undefined;
  for (;;) {
    const fields = regimePath ? [path, regimePath] : [path];
    let query = firestore.collection(where.collection).orderBy(FieldPath.documentId()).select(...fields).limit(pageSize);
    if (after !== undefined) query = query.startAfter(after);
    const page = await query.get();
    if (page.empty) return;
    yield page.docs.map((d) => ({
      customerId: d.id,
      consent: d.get(path) as unknown,
      regimeValue: regimePath ? (d.get(regimePath) as unknown) : undefined,
      createTime: d.createTime.toDate(),
      updateTime: d.updateTime.toDate(),
      updateTimeText: rfc3339(d.updateTime),
    }));
    if (page.size < pageSize) return;
    after = page.docs[page.docs.length - 1]!.id;
  }
}
