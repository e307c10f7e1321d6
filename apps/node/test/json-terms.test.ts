import { compareTerms, type Term } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, termFromJson, termToJson } from '../src/json-terms.js';

const term: fc.Arbitrary<Term> = fc.letrec<{ term: Term }>((tie) => ({
  term: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.bigInt(),
    fc.string(),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('term'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom('$bigint', '$bytes', '$num', '$obj', '__proto__')),
      tie('term'),
      {
        maxKeys: 3,
      },
    ),
  ),
})).term;

describe('JSON terms', () => {
  it('round-trips every term through JSON text', () => {
    fc.assert(
      fc.property(term, (t) => {
        const back = termFromJson(JSON.parse(JSON.stringify(termToJson(t))));
        expect(compareTerms(back, t)).toBe(0);
      }),
      { numRuns: 500, seed: 42 },
    );
  });

  it('encodes the values JSON lacks as tagged objects', () => {
    expect(termToJson([1n, new Uint8Array([255]), Number.NaN, -Infinity, { $bigint: '1' }])).toEqual([
      { $bigint: '1' },
      { $bytes: '/w==' },
      { $num: 'NaN' },
      { $num: '-Infinity' },
      { $obj: { $bigint: '1' } },
    ]);
  });

  it('keeps an object with a tag among other keys as an ordinary object', () => {
    expect(termFromJson({ $bigint: '1', other: 2 })).toEqual({ $bigint: '1', other: 2 });
  });

  it('keeps a __proto__ key an own key', () => {
    const t = termFromJson(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(['__proto__']);
  });

  it('refuses malformed tags and deep nesting with SC_ERR_BAD_REQUEST', () => {
    for (const bad of [
      { $bigint: 1 },
      { $bigint: '01' },
      { $bytes: 'abc' },
      { $num: 'nan' },
      { $obj: [1] },
    ]) {
      expect(() => termFromJson(bad)).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_REQUEST' }));
    }
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) deep = [deep];
    expect(() => termFromJson(deep)).toThrow(/deeper/);
  });
});
