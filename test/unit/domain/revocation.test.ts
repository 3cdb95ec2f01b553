import assert from 'node:assert/strict';
import { decideRevocation, readConsent } from '../../../functions/domain/revocation.js';
import type { FirestoreDocument, FirestoreValue } from '../../../functions/events/firestore.js';

const doc = (fields: Record<string, FirestoreValue>): FirestoreDocument => ({
  name: 'projects/p/databases/(default)/documents/customers/c1',
  fields,
});
const T: FirestoreValue = { booleanValue: true };
const F: FirestoreValue = { booleanValue: false };
const email: FirestoreValue = { stringValue: 'a@example.com' };

type Case = [name: string, before: FirestoreDocument | undefined, after: FirestoreDocument | undefined, expected: string, path?: string];

const cases: Case[] = [
  ['true → false', doc({ analyticsConsent: T }), doc({ analyticsConsent: F }), 'revoked:withdrawn'],
  ['true → removed', doc({ analyticsConsent: T, email }), doc({ email }), 'revoked:withdrawn'],
  ['true → null', doc({ analyticsConsent: T }), doc({ analyticsConsent: { nullValue: null } }), 'revoked:withdrawn'],
  ['true → "false" (a string is not true)', doc({ analyticsConsent: T }), doc({ analyticsConsent: { stringValue: 'false' } }), 'revoked:withdrawn'],
  ['true → "true" (a string is not true either)', doc({ analyticsConsent: T }), doc({ analyticsConsent: { stringValue: 'true' } }), 'revoked:withdrawn'],
  ['false → false', doc({ analyticsConsent: F }), doc({ analyticsConsent: F, email }), 'none'],
  ['created without consent', undefined, doc({ email }), 'none'],
  ['created with consent false', undefined, doc({ analyticsConsent: F }), 'none'],
  ['deleted while true', doc({ analyticsConsent: T }), undefined, 'revoked:document_deleted'],
  ['deleted while false', doc({ analyticsConsent: F }), undefined, 'none'],
  ['deleted without the field', doc({ email }), undefined, 'none'],
  ['unrelated field changed, consent stays true', doc({ analyticsConsent: T, email }), doc({ analyticsConsent: T, email: { stringValue: 'b@example.com' } }), 'none'],
  ['"true" string → false is not a revocation', doc({ analyticsConsent: { stringValue: 'true' } }), doc({ analyticsConsent: F }), 'none'],
  [
    'nested field path true → false',
    doc({ privacy: { mapValue: { fields: { analytics: T, ads: F } } } }),
    doc({ privacy: { mapValue: { fields: { analytics: F, ads: F } } } }),
    'revoked:withdrawn',
    'privacy.analytics',
  ],
  [
    'nested field path: parent map removed',
    doc({ privacy: { mapValue: { fields: { analytics: T } } } }),
    doc({}),
    'revoked:withdrawn',
    'privacy.analytics',
  ],
  [
    'nested path: a top-level field with the dotted name is not the nested field',
    doc({ 'privacy.analytics': T }),
    doc({ 'privacy.analytics': F }),
    'none',
    'privacy.analytics',
  ],
  [
    'nested path: sibling changed',
    doc({ privacy: { mapValue: { fields: { analytics: T, ads: T } } } }),
    doc({ privacy: { mapValue: { fields: { analytics: T, ads: F } } } }),
    'none',
    'privacy.analytics',
  ],
  ['regranted: false → true', doc({ analyticsConsent: F }), doc({ analyticsConsent: T }), 'regranted'],
  ['regranted: absent → true', doc({ email }), doc({ analyticsConsent: T, email }), 'regranted'],
  ['regranted: null → true', doc({ analyticsConsent: { nullValue: null } }), doc({ analyticsConsent: T }), 'regranted'],
  ['created with consent true', undefined, doc({ analyticsConsent: T }), 'regranted'],
  ['the other consent field changing is not this one', doc({ marketingConsent: T }), doc({ marketingConsent: F }), 'none'],
];

describe('decideRevocation', () => {
  for (const [name, before, after, expected, path] of cases) {
    it(name, () => {
      const d = decideRevocation(before, after, path ?? 'analyticsConsent');
      const got = d.kind === 'revoked' ? `revoked:${d.cause}` : d.kind;
      assert.equal(got, expected, d.reason);
      assert.ok(d.reason.length > 0);
    });
  }

  it('explains why in words that name the field and both readings', () => {
    const d = decideRevocation(doc({ analyticsConsent: T }), doc({ analyticsConsent: { nullValue: null } }), 'analyticsConsent');
    assert.equal(d.reason, 'analyticsConsent changed from true to null');
    assert.equal(d.before, 'granted');
    assert.equal(d.after, 'null');
  });
});

describe('readConsent', () => {
  it('tells a boolean false from a missing field and from no document', () => {
    assert.equal(readConsent(doc({ c: F }), 'c'), 'denied');
    assert.equal(readConsent(doc({}), 'c'), 'absent');
    assert.equal(readConsent(undefined, 'c'), 'no_document');
    assert.equal(readConsent(doc({ c: { integerValue: '1' } }), 'c'), 'other');
  });

  it('does not read inherited properties as fields', () => {
    assert.equal(readConsent(doc({}), 'constructor'), 'absent');
    assert.equal(readConsent(doc({}), 'toString'), 'absent');
  });
});
