import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  customerIdOf,
  decodeDocumentEventData,
  decodeHeaderAttribute,
  documentPathOf,
  decodeDocumentEventProtobuf,
  decodeFirestoreEvent,
  parseDocumentEventJson,
  type FirestoreEvent,
} from '../../../functions/events/firestore.js';
import { descriptor } from '../../../functions/events/proto/descriptor.js';
import { InvalidInputError } from '../../../functions/errors.js';
import {
  EMULATOR_UPDATE_PAYLOAD_BASE64,
  documentEventJson,
  firestoreEvent,
  toFields,
} from '../../fixtures/firestoreEvent.js';

const DocumentEventData = protobuf.Root.fromJSON(descriptor).lookupType('google.events.cloud.firestore.v1.DocumentEventData');

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    assert.match(err.reason, pattern);
    return true;
  });
}

describe('Firestore event decoding', () => {
  describe('protobuf', () => {
    it('decodes the bytes the Firestore emulator sent (consent true → false)', () => {
      const d = decodeDocumentEventProtobuf(Buffer.from(EMULATOR_UPDATE_PAYLOAD_BASE64, 'base64'));
      assert.equal(d.value?.name, 'projects/demo-proj/databases/(default)/documents/customers/c1');
      assert.deepEqual(d.value?.fields['consent'], { booleanValue: false });
      assert.deepEqual(d.oldValue?.fields['consent'], { booleanValue: true });
      assert.deepEqual(d.value?.fields['email'], { stringValue: 'a@example.com' });
      assert.match(d.value?.updateTime ?? '', /^2026-11-27T00:17:01\.138731Z$/);
      assert.deepEqual(d.updateMask, []);
    });

    it('tells a boolean false (the proto default) from an absent field', () => {
      const bytes = DocumentEventData.encode(
        DocumentEventData.fromObject({
          value: { name: 'n', fields: { consent: { booleanValue: false } } },
          oldValue: { name: 'n', fields: {} },
        }),
      ).finish();
      const d = decodeDocumentEventProtobuf(bytes);
      assert.deepEqual(d.value?.fields['consent'], { booleanValue: false });
      assert.equal(Object.hasOwn(d.oldValue!.fields, 'consent'), false);
    });

    it('keeps every value kind, nested maps and int64 digits through real encoded bytes', () => {
      const event = firestoreEvent({
        before: { analyticsConsent: true },
        after: {
          analyticsConsent: null,
          privacy: { analytics: false, since: new Date('2026-01-02T03:04:05.000Z') },
          count: 9007199254740993,
          big: { $value: { integerValue: '-9223372036854775808' } },
          ratio: 0.25,
          tags: ['a', 1, true],
          photo: { $value: { bytesValue: 'AAEC' } },
          home: { $value: { geoPointValue: { latitude: 0, longitude: -1.5 } } },
          ref: { $value: { referenceValue: 'projects/p/databases/(default)/documents/x/y' } },
          empty: {},
        },
      });
      assert.ok(Buffer.isBuffer(event.data));
      const d = decodeFirestoreEvent(event).data;
      const f = d.value!.fields;
      assert.deepEqual(f['analyticsConsent'], { nullValue: null });
      assert.deepEqual(f['privacy'], {
        mapValue: { fields: { analytics: { booleanValue: false }, since: { timestampValue: '2026-01-02T03:04:05Z' } } },
      });
      assert.deepEqual(f['big'], { integerValue: '-9223372036854775808' });
      assert.deepEqual(f['ratio'], { doubleValue: 0.25 });
      assert.deepEqual(f['tags'], {
        arrayValue: { values: [{ stringValue: 'a' }, { integerValue: '1' }, { booleanValue: true }] },
      });
      assert.deepEqual(f['photo'], { bytesValue: 'AAEC' });
      assert.deepEqual(f['home'], { geoPointValue: { latitude: 0, longitude: -1.5 } });
      assert.deepEqual(f['empty'], { mapValue: { fields: {} } });
      assert.equal(d.value!.updateTime, '2026-11-27T09:30:00.123456Z');
    });

    it('rejects bytes that are not a DocumentEventData', () => {
      rejects(() => decodeDocumentEventProtobuf(Buffer.from([0x0a, 0xff, 0xff, 0x01])), /malformed protobuf/);
      rejects(() => decodeDocumentEventProtobuf(Buffer.from('not protobuf at all, just text')), /data/);
    });

    it('rejects an empty message (neither before nor after)', () => {
      rejects(() => decodeDocumentEventProtobuf(new Uint8Array()), /neither value nor oldValue/);
    });

    it('rejects a Value with no value set', () => {
      const bytes = DocumentEventData.encode(DocumentEventData.fromObject({ value: { name: 'n', fields: { c: {} } } })).finish();
      rejects(() => decodeDocumentEventProtobuf(bytes), /data\.value\.fields\.c: a Value with no value_type/);
    });

    it('accepts the emulator base64 text when no relay decoded it', () => {
      const d = decodeDocumentEventData(EMULATOR_UPDATE_PAYLOAD_BASE64, 'application/protobuf');
      assert.equal(d.encoding, 'protobuf');
      assert.deepEqual(d.data.value?.fields['consent'], { booleanValue: false });
    });
  });

  describe('JSON (proto3 JSON mapping)', () => {
    it('decodes the google-cloudevents sample shape, integerValue as a string', () => {
      const d = parseDocumentEventJson({
        oldValue: {
          createTime: '2020-04-23T09:58:53.211035Z',
          fields: { another: { stringValue: 'x' }, count: { integerValue: '3' } },
          name: 'projects/project-id/databases/(default)/documents/gcf-test/2Vm2mI1d0wIaK2Waj5to',
          updateTime: '2020-04-23T12:00:27.247187Z',
        },
        updateMask: { fieldPaths: ['count'] },
        value: {
          createTime: '2020-04-23T09:58:53.211035Z',
          fields: { another: { stringValue: 'x' }, count: { integerValue: '4' } },
          name: 'projects/project-id/databases/(default)/documents/gcf-test/2Vm2mI1d0wIaK2Waj5to',
          updateTime: '2020-04-23T12:00:27.247187Z',
        },
      });
      assert.deepEqual(d.value?.fields['count'], { integerValue: '4' });
      assert.deepEqual(d.updateMask, ['count']);
    });

    it('decodes a JSON CloudEvent the same as the protobuf one', () => {
      const opts = { before: { analyticsConsent: true, n: 5 }, after: { analyticsConsent: false, n: 5 }, id: 'e1' };
      const fromJson = decodeFirestoreEvent(firestoreEvent({ ...opts, encoding: 'json' }));
      const fromProto = decodeFirestoreEvent(firestoreEvent(opts));
      assert.equal(fromJson.encoding, 'json');
      assert.equal(fromProto.encoding, 'protobuf');
      assert.deepEqual(fromJson.data, fromProto.data);
    });

    it('accepts JSON text and JSON bytes sent without a protobuf content type', () => {
      const json = JSON.stringify(documentEventJson({ after: { a: true } }));
      assert.deepEqual(decodeDocumentEventData(json, 'application/json').data.value?.fields['a'], { booleanValue: true });
      assert.deepEqual(decodeDocumentEventData(Buffer.from(json)).data.value?.fields['a'], { booleanValue: true });
    });

    const bad: Array<[string, unknown, RegExp]> = [
      ['a boolean given as a string', { value: { fields: { c: { booleanValue: 'false' } } } }, /data\.value\.fields\.c\.booleanValue/],
      ['two kinds in one Value', { value: { fields: { c: { booleanValue: true, stringValue: 'x' } } } }, /exactly one/],
      ['an unknown Value kind', { value: { fields: { c: { colourValue: 'red' } } } }, /unknown Value kind "colourValue"/],
      ['a bad timestamp', { value: { fields: {}, updateTime: 'yesterday' } }, /data\.value\.updateTime: .*RFC 3339/],
      ['a non-integer integerValue', { value: { fields: { n: { integerValue: '1.5' } } } }, /integerValue/],
      ['fields that are not a map', { value: { fields: [1, 2] } }, /data\.value/],
      ['neither value nor oldValue', { updateMask: { fieldPaths: [] } }, /neither value nor oldValue/],
      ['not an object', 42, /data/],
      ['a bad nested value', { value: { fields: { m: { mapValue: { fields: { x: { nullValue: 'nope' } } } } } } }, /data\.value\.fields\.m\.mapValue\.fields\.x\.nullValue/],
    ];
    for (const [name, raw, pattern] of bad) {
      it(`rejects ${name}, naming where`, () => rejects(() => parseDocumentEventJson(raw), pattern));
    }

    it('rejects JSON text that does not parse', () => {
      rejects(() => decodeDocumentEventData('{"value": ', 'application/json'), /not JSON/);
    });

    it('rejects an event without data', () => {
      const e = { ...firestoreEvent({ after: { a: true } }), data: undefined };
      rejects(() => decodeFirestoreEvent(e), /carries no data/);
    });
  });

  describe('envelope', () => {
    it('reads the attributes and extensions', () => {
      const e = decodeFirestoreEvent(firestoreEvent({ customerId: 'c9', after: { a: true }, id: 'abc' }));
      assert.equal(e.id, 'abc');
      assert.equal(e.document, 'customers/c9');
      assert.equal(e.subject, 'documents/customers/c9');
      assert.equal(e.type, 'google.cloud.firestore.document.v1.written');
    });

    it('rejects an event that is not a Firestore document event', () => {
      rejects(
        () => decodeFirestoreEvent({ ...firestoreEvent({ after: { a: true } }), type: 'google.cloud.pubsub.topic.v1.messagePublished' }),
        /type: must be a Firestore document event/,
      );
      rejects(() => decodeFirestoreEvent({ ...firestoreEvent({ after: { a: true } }), id: '' }), /id/);
      rejects(() => decodeFirestoreEvent(null), /not a Firestore document event/);
    });
  });

  describe('customerIdOf', () => {
    const ev = (o: Parameters<typeof firestoreEvent>[0]): FirestoreEvent => decodeFirestoreEvent(firestoreEvent({ after: { a: true }, ...o }));

    /** The same event with the payload's document names removed: only the headers say which document. */
    const headersOnly = (e: FirestoreEvent): FirestoreEvent => ({
      ...e,
      data: {
        ...(e.data.value ? { value: { ...e.data.value, name: '' } } : {}),
        ...(e.data.oldValue ? { oldValue: { ...e.data.oldValue, name: '' } } : {}),
      },
    });
    /** A header value as Node hands it over: the UTF-8 bytes on the wire read one character per byte. */
    const asNodeReadsIt = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

    it('reads the payload document name first, else the document extension, else the subject', () => {
      assert.equal(customerIdOf(ev({ customerId: 'c-1' }), 'customers'), 'c-1');
      assert.equal(customerIdOf(ev({ customerId: 'c-2', document: 'customers/other' }), 'customers'), 'c-2');
      assert.equal(customerIdOf(headersOnly(ev({ customerId: 'c-3', document: 'customers/c-3h' })), 'customers'), 'c-3h');
      assert.equal(customerIdOf(headersOnly(ev({ customerId: 'c-4', document: null, subject: 'documents/customers/c-4s' })), 'customers'), 'c-4s');
      rejects(() => customerIdOf(headersOnly(ev({ document: null, subject: null })), 'customers'), /names no document/);
    });

    it('reads the before-image name of a delete', () => {
      const deleted = decodeFirestoreEvent(firestoreEvent({ customerId: 'gone', before: { a: true }, document: null, subject: null }));
      assert.equal(customerIdOf(deleted, 'customers'), 'gone');
    });

    const HOSTILE_IDS = ['ünicøde', 'emoji😀🙈', 'with space', '100%', 'a%41b', 'plus+sign', `q"uote's`, '%2F..%2Fadmin', 'documents', 'ü'.repeat(750)];
    for (const id of HOSTILE_IDS) {
      it(`keeps ${JSON.stringify(id.slice(0, 20))}${id.length > 20 ? '…' : ''} exactly, whatever the headers say`, () => {
        // The emulator sends the header's UTF-8 bytes unencoded; Node reads them as Latin-1.
        const raw = ev({ customerId: id, document: asNodeReadsIt(`customers/${id}`), subject: asNodeReadsIt(`documents/customers/${id}`) });
        assert.deepEqual(documentPathOf(raw), { path: `customers/${id}`, from: 'payload' }, 'an unencoded header agrees');
        // A binding-conformant sender percent-encodes it.
        const encoded = ev({ customerId: id, document: `customers/${encodeURIComponent(id)}` });
        assert.deepEqual(documentPathOf(encoded), { path: `customers/${id}`, from: 'payload' }, 'a percent-encoded header agrees');
        assert.equal(customerIdOf(headersOnly(encoded), 'customers'), id, 'the percent-encoded header alone');
      });
    }

    it('uses the payload when a header names another document, and says so', () => {
      const e = ev({ customerId: 'ünicøde', document: 'customers/Ã¼nicÃ¸de-not' });
      const where = documentPathOf(e);
      assert.equal(where.path, 'customers/ünicøde');
      assert.deepEqual(where.disagreement, { attribute: 'document', header: 'customers/ünicøde-not', payload: 'customers/ünicøde' });
      const bySubject = documentPathOf(ev({ customerId: 'c1', document: null, subject: 'documents/customers/c2' }));
      assert.deepEqual(bySubject.disagreement, { attribute: 'subject', header: 'customers/c2', payload: 'customers/c1' });
    });

    it('decodes header attributes per the CloudEvents HTTP binding', () => {
      assert.equal(decodeHeaderAttribute('customers/%C3%BCnic%C3%B8de'), 'customers/ünicøde');
      assert.equal(decodeHeaderAttribute(asNodeReadsIt('customers/ünicøde')), 'customers/ünicøde');
      assert.equal(decodeHeaderAttribute('a%20b%25c%22'), 'a b%c"');
      assert.equal(decodeHeaderAttribute('100%'), '100%', 'a lone % stays');
      assert.equal(decodeHeaderAttribute('%zz'), '%zz');
      assert.equal(decodeHeaderAttribute('plus+sign'), 'plus+sign', '+ is not a space in this binding');
      assert.equal(decodeHeaderAttribute('%FF'), undefined, 'bytes that are not UTF-8');
      assert.equal(decodeHeaderAttribute('emoji😀'), 'emoji😀', 'text already decoded (not from a header) stays');
      rejects(() => customerIdOf(headersOnly(ev({ document: 'customers/%FF' })), 'customers'), /not a UTF-8 document path/);
    });

    it('rejects another collection, a subcollection, an empty id and an id over 1500 bytes', () => {
      rejects(() => customerIdOf(ev({ collection: 'orders', customerId: 'o1' }), 'customers'), /not in collection "customers"/);
      rejects(() => customerIdOf(ev({ customerId: 'c1/orders/o1' }), 'customers'), /subcollection/);
      rejects(() => customerIdOf(headersOnly(ev({ document: 'customers/c1/orders/o1' })), 'customers'), /subcollection/);
      rejects(() => customerIdOf(ev({ customerId: '' }), 'customers'), /empty customer id/);
      rejects(() => customerIdOf(headersOnly(ev({ document: 'customers/' })), 'customers'), /empty customer id/);
      rejects(() => customerIdOf(ev({ customerId: 'é'.repeat(751) }), 'customers'), /1502 bytes, over Firestore's 1500-byte limit/);
      assert.equal(customerIdOf(ev({ customerId: 'x'.repeat(1500) }), 'customers').length, 1500);
    });
  });

  it('builds fields from plain values for the fixtures', () => {
    assert.deepEqual(toFields({ a: false, b: null }), { a: { booleanValue: false }, b: { nullValue: null } });
  });
});
