import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertTerm, SuperCacheError } from '../src/index.js';

/** The reference model of a term: what the storage docs promise, written plainly. */
function isTermModel(v: unknown, ancestors: object[] = []): boolean {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return true;
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  if (ancestors.length > 512) return false;
  if (v instanceof Uint8Array) return v.constructor === Uint8Array || Buffer.isBuffer(v);
  if (ancestors.includes(v)) return false;
  const next = [...ancestors, v];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !isTermModel(v[i], next)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(v).length > 0) return false;
  return Object.keys(v).every((k) => isTermModel((v as Record<string, unknown>)[k], next));
}

function refusal(v: unknown): string | undefined {
  try {
    assertTerm(v);
    return undefined;
  } catch (e) {
    return SuperCacheError.is(e) ? `${e.code}: ${e.message}` : String(e);
  }
}

const leaf = fc.oneof(
  fc.string(),
  fc.double(),
  fc.boolean(),
  fc.bigInt(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 3 }),
  // Values that are not terms.
  fc.constantFrom(undefined, () => 1, new Date(0), new Map(), Symbol('s')),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

describe('term validation', () => {
  it('accepts exactly what the reference model accepts (property)', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(refusal(v) === undefined).toBe(isTermModel(v));
      }),
      { seed: 4242, numRuns: 500 },
    );
  });

  it('names cycles, shared sub-values, holes and depth as before', () => {
    const cyclic: unknown[] = ['a'];
    cyclic.push([cyclic]);
    expect(refusal(cyclic)).toMatch(/SC_ERR_INVALID_TERM: .*term\[1\]\[0\].*cyclic/);
    const shared = [1];
    expect(refusal(['k', shared, { x: shared }])).toBeUndefined();
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point.
    expect(refusal(['k', [1, , 3]])).toMatch(/term\[1\]\[1\].*sparse/);
    let deep: unknown = 'x';
    for (let i = 0; i < 600; i++) deep = [deep];
    expect(refusal(deep)).toMatch(/deeper than 512/);
    expect(refusal({ a: [{ b: undefined }] })).toMatch(/term\.a\[0\]\.b/);
  });
});
