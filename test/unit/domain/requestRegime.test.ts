import assert from 'node:assert/strict';
import type { FirestoreDocument } from '../../../functions/domain/firestoreDocument.js';
import { REGIME_IDS } from '../../../functions/domain/regimes.js';
import { vendorRegulationOf } from '../../../functions/domain/regulation.js';
import {
  BUILT_IN_REGIME_VALUES,
  decideRegime,
  parseRegimeValues,
  readRegimeReading,
  regimeOfWrite,
  regimeReadingOf,
  type RegimeSettings,
} from '../../../functions/domain/requestRegime.js';

const settings = (over: Partial<RegimeSettings> = {}): RegimeSettings => ({
  field: 'privacyRegion',
  defaultRegime: 'gdpr',
  values: parseRegimeValues(undefined).values,
  ...over,
});
const doc = (fields: FirestoreDocument['fields']): FirestoreDocument => ({ name: 'projects/p/databases/(default)/documents/customers/c1', fields });

describe('request regime: which law a deletion request is made under', () => {
  it('maps each regime id, the EU/EEA and the US state codes, trimmed and in any case', () => {
    const cases: Array<[string, string]> = [
      ['gdpr', 'gdpr'],
      [' CCPA ', 'ccpa'],
      ['eu', 'gdpr'],
      ['EEA', 'gdpr'],
      ['US-CA', 'ccpa'],
      ['us-va', 'vcdpa'],
      ['US-CT', 'ctdpa'],
      ['US-UT', 'ucpa'],
      ['US-TX', 'tdpsa'],
    ];
    for (const [value, regime] of cases) {
      assert.deepEqual(decideRegime({ kind: 'text', value }, settings()), { regime, source: 'document', value: value.trim() }, value);
    }
    for (const id of REGIME_IDS) assert.equal(BUILT_IN_REGIME_VALUES[id], id);
  });

  it('uses the default, with a problem naming the value and the default, for a value no mapping knows', () => {
    const d = decideRegime({ kind: 'text', value: 'Atlantis' }, settings({ defaultRegime: 'ccpa' }));
    assert.equal(d.regime, 'ccpa');
    assert.equal(d.source, 'default');
    assert.match(d.problem ?? '', /privacyRegion = "Atlantis" names no known regime; the default regime "ccpa" is used/);
    // "CA" is not guessed: Canada or California.
    assert.equal(decideRegime({ kind: 'text', value: 'CA' }, settings()).source, 'default');
    // A prototype key is not a mapping.
    assert.equal(decideRegime({ kind: 'text', value: 'constructor' }, settings()).regime, 'gdpr');
  });

  it('uses the default quietly when the field is absent, null or empty, and with a problem for a non-text value', () => {
    assert.deepEqual(decideRegime({ kind: 'absent' }, settings()), { regime: 'gdpr', source: 'default' });
    assert.equal(decideRegime({ kind: 'text', value: '  ' }, settings()).problem, undefined);
    const n = decideRegime({ kind: 'other', type: 'integerValue' }, settings());
    assert.equal(n.regime, 'gdpr');
    assert.match(n.problem ?? '', /holds a value of type integerValue, not text; the default regime "gdpr" is used/);
  });

  it('reads the field from the event snapshot (dotted paths, null, other types) and from client values', () => {
    assert.deepEqual(readRegimeReading(doc({ privacyRegion: { stringValue: 'EU' } }), 'privacyRegion'), { kind: 'text', value: 'EU' });
    assert.deepEqual(
      readRegimeReading(doc({ privacy: { mapValue: { fields: { region: { stringValue: 'US-CA' } } } } }), 'privacy.region'),
      { kind: 'text', value: 'US-CA' },
    );
    assert.deepEqual(readRegimeReading(doc({ privacyRegion: { nullValue: null } }), 'privacyRegion'), { kind: 'absent' });
    assert.deepEqual(readRegimeReading(doc({ privacyRegion: { integerValue: '4' } }), 'privacyRegion'), { kind: 'other', type: 'integerValue' });
    assert.deepEqual(readRegimeReading(undefined, 'privacyRegion'), { kind: 'absent' });
    assert.deepEqual(regimeReadingOf('EU'), { kind: 'text', value: 'EU' });
    assert.deepEqual(regimeReadingOf(null), { kind: 'absent' });
    assert.deepEqual(regimeReadingOf(['EU']), { kind: 'other', type: 'array' });
  });

  it('takes the after-image of a write, else the before-image (a deleted document has only that)', () => {
    const before = doc({ privacyRegion: { stringValue: 'US-CA' } });
    assert.equal(regimeOfWrite(before, undefined, settings()).regime, 'ccpa');
    assert.equal(regimeOfWrite(before, doc({ privacyRegion: { stringValue: 'EU' } }), settings()).regime, 'gdpr');
    assert.equal(regimeOfWrite(before, doc({}), settings()).regime, 'ccpa');
  });

  it('parses REGIME_VALUES over the built-in values and names every bad entry', () => {
    const { values, problems } = parseRegimeValues('California=ccpa, UK = gdpr ,eu=ccpa,bad,x=hipaa,=gdpr');
    assert.equal(values['california'], 'ccpa');
    assert.equal(values['uk'], 'gdpr');
    assert.equal(values['eu'], 'ccpa', "the operator's entry wins over a built-in one");
    assert.equal(values['us-va'], 'vcdpa');
    assert.deepEqual(problems, [
      'REGIME_VALUES: "bad" is not value=regime',
      'REGIME_VALUES: "x=hipaa" names no known regime (known: gdpr, ccpa, vcdpa, ctdpa, ucpa, tdpsa)',
      'REGIME_VALUES: "=gdpr" is not value=regime',
    ]);
  });

  it('tells vendors that know only GDPR and CCPA: GDPR as GDPR, every US state law as CCPA', () => {
    assert.deepEqual(
      REGIME_IDS.map((r) => [r, vendorRegulationOf(r)]),
      [
        ['gdpr', 'gdpr'],
        ['ccpa', 'ccpa'],
        ['vcdpa', 'ccpa'],
        ['ctdpa', 'ccpa'],
        ['ucpa', 'ccpa'],
        ['tdpsa', 'ccpa'],
      ],
    );
  });
});
