import { canonicalString, type Term, termsEqual } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashTerm, hashUtf16, partitionOf } from '../src/index.js';
import { expectCode } from './support/errors.js';
import { referenceMurmur3, utf16leBytes } from './support/reference.js';
import { bump, looksUniform } from './support/stats.js';

const SEED = 0x7e57;

// Pinned forever: changing any of these moves keys between partitions in a
// running cluster. Each row is (term, its canonical string, its hash).
const VECTORS: readonly [Term, string, number][] = [
  ['', 's0:', 0xc8efa2d8],
  ['a', 's1:a', 0x587d2151],
  ['user:42', 's7:user:42', 0xc19af5fa],
  ['héllo wörld', 's11:héllo wörld', 0x0ccd7c28],
  ['日本語', 's3:日本語', 0x3fe9c60a],
  ['😀', 's2:😀', 0x252312a1],
  ['\uD800', 's1:\uD800', 0xf2e50ad7],
  ['x'.repeat(10), 's10:xxxxxxxxxx', 0x7ab77830],
  [0, 'd0;', 0x3c08ed7b],
  [1, 'd1;', 0x6517ee3a],
  [-1, 'd-1;', 0x253ea69f],
  [42, 'd42;', 0xb0447442],
  [2 ** 53 - 1, 'd9007199254740991;', 0xd0a6237a],
  [2 ** 53, 'd9007199254740992;', 0xb7b27604],
  [1.5, 'd1.5;', 0x84c9c443],
  [-2.5e-7, 'd-2.5e-7;', 0xb8e9d8bf],
  [1e21, 'd1e+21;', 0x87c5f0db],
  [Number.NaN, 'dNaN;', 0xabeb7b38],
  [Number.POSITIVE_INFINITY, 'dInfinity;', 0x6be4d311],
  [1n, 'i1;', 0xc29c1305],
  [-12345678901234567890n, 'i-12345678901234567890;', 0xc312f8ed],
  [true, 't', 0x3a1eaaf6],
  [false, 'f', 0xb8b6ee52],
  [null, 'n', 0x70e4f136],
  [[], 'a0:', 0x4a169311],
  [['user', 1], 'a2:s4:userd1;', 0x1bd07b26],
  [['a', ['b', [null, true]]], 'a2:s1:aa2:s1:ba2:nt', 0xbc525142],
  [{}, 'o0:', 0xce28bb2b],
  [{ id: 7, name: 'x' }, 'o2:2:idd7;4:names1:x', 0x24be0ab9],
  [new Uint8Array([]), 'b0:', 0xe6cc18f2],
  [new Uint8Array([0, 1, 255]), 'b3:\u0000\u0001\u00ff', 0x3710caed],
];

const leaf: fc.Arbitrary<Term> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt(),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 6 }).map((u) => String.fromCharCode(...u)),
  fc.uint8Array({ maxLength: 6 }),
);

const { term } = fc.letrec<{ term: Term; array: Term[]; object: Record<string, Term> }>((tie) => ({
  term: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('term'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 5 }), tie('term'), { maxKeys: 4 }),
}));

function reorderKeys(t: Term): Term {
  if (Array.isArray(t)) return t.map(reorderKeys);
  if (t === null || typeof t !== 'object' || t instanceof Uint8Array) return t;
  const out: Record<string, Term> = {};
  for (const k of Object.keys(t).reverse()) out[k] = reorderKeys((t as Record<string, Term>)[k] as Term);
  return out;
}

describe('hashTerm', () => {
  it.each(VECTORS.map(([t, c, h]) => [c, t, h] as const))(
    'hashes %j to its pinned value',
    (canonical, t, h) => {
      expect(canonicalString(t)).toBe(canonical);
      expect(hashTerm(t)).toBe(h);
    },
  );

  it('pins values that an independent MurmurHash3 over the UTF-16LE canonical bytes agrees with', () => {
    for (const [, canonical, h] of VECTORS) expect(referenceMurmur3(utf16leBytes(canonical), 0)).toBe(h);
  });

  it('equals MurmurHash3 of the UTF-16LE canonical string for arbitrary terms', () => {
    fc.assert(
      fc.property(term, (t) => {
        expect(hashTerm(t)).toBe(hashUtf16(canonicalString(t)));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('takes a string fast path that is identical for every length parity and digit count', () => {
    const lengths = [...Array.from({ length: 130 }, (_, i) => i), 999, 1000, 1001, 9999, 10_000, 100_001];
    for (const n of lengths) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(0x41 + ((i * 7) % 2000))).join('');
      expect(hashTerm(s)).toBe(hashUtf16(`s${n}:${s}`));
    }
  });

  it('takes an integer fast path that is identical at the digit and sign boundaries', () => {
    const ints = [
      0,
      1,
      -1,
      9,
      10,
      -10,
      99,
      100,
      12345,
      -(2 ** 31),
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
    ];
    for (const n of ints) expect(hashTerm(n)).toBe(hashUtf16(`d${String(n)};`));
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(hashTerm(n)).toBe(hashUtf16(canonicalString(n)));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('gives fresh, equal arrays the same hash', () => {
    expect(hashTerm(['user', 1])).toBe(hashTerm(['user', 1]));
    expect(hashTerm([['a', 1], { b: [2n] }])).toBe(hashTerm([['a', 1], { b: [2n] }]));
  });

  it('ignores object key insertion order', () => {
    expect(hashTerm({ a: 1, b: 2, c: [3] })).toBe(hashTerm({ c: [3], b: 2, a: 1 }));
    fc.assert(
      fc.property(term, (t) => {
        const r = reorderKeys(t);
        expect(termsEqual(t, r)).toBe(true);
        expect(hashTerm(r)).toBe(hashTerm(t));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('hashes -0 like 0, alone and nested', () => {
    expect(hashTerm(-0)).toBe(hashTerm(0));
    expect(hashTerm([-0, { x: -0 }])).toBe(hashTerm([0, { x: 0 }]));
  });

  it('hashes 1 and 1n differently (they are different terms)', () => {
    expect(hashTerm(1)).not.toBe(hashTerm(1n));
    expect(hashTerm(['k', 1])).not.toBe(hashTerm(['k', 1n]));
  });

  it('hashes NaN stably', () => {
    expect(hashTerm(Number.NaN)).toBe(hashTerm(0 / 0));
  });

  it('hashes a Buffer like a Uint8Array with the same bytes', () => {
    expect(hashTerm(Buffer.from([1, 2, 3]))).toBe(hashTerm(new Uint8Array([1, 2, 3])));
  });

  it('tells apart terms that print alike', () => {
    const look = [
      '1',
      1,
      1n,
      true,
      'true',
      null,
      'null',
      ['a'],
      'a',
      { a: 1 },
      [['a', 1]],
      new Uint8Array([97]),
    ];
    const hashes = new Set(look.map((t) => hashTerm(t as Term)));
    expect(hashes.size).toBe(look.length);
  });

  it('gives equal terms equal hashes', () => {
    fc.assert(
      fc.property(term, term, (a, b) => {
        if (termsEqual(a, b)) expect(hashTerm(a)).toBe(hashTerm(b));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a Map', new Map()],
    ['a Date', new Date(0)],
    ['a class instance', new (class Point {})()],
    ['undefined inside an array', ['a', undefined]],
    ['an array hole', Object.assign(new Array<unknown>(3), { 0: 1, 2: 3 })],
    ['a nested function', { f: () => 1 }],
  ])('rejects %s with SC_ERR_INVALID_TERM', (_name, value) => {
    expectCode(() => hashTerm(value as unknown as Term), 'SC_ERR_INVALID_TERM');
  });

  it('rejects a cyclic structure with SC_ERR_INVALID_TERM instead of overflowing the stack', () => {
    const a: unknown[] = [];
    a.push(a);
    expectCode(() => hashTerm(a as Term), 'SC_ERR_INVALID_TERM');
  });

  it('accepts nesting 512 levels deep, the most storage accepts', () => {
    let t: Term = 'leaf';
    for (let i = 0; i < 512; i++) t = [t];
    expect(hashTerm(t)).toBe(hashUtf16(canonicalString(t)));
  });
});

describe('key spread over partitions', () => {
  const N = 100_000;
  const P = 64;

  function spread(
    key: (i: number) => Term,
    partitions = P,
  ): { ok: boolean; statistic: number; critical: number } {
    const counts = new Float64Array(partitions);
    for (let i = 0; i < N; i++) bump(counts, partitionOf(key(i), partitions));
    return looksUniform(counts);
  }

  it.each([
    ['string keys "user:<i>"', (i: number) => `user:${i}`],
    ['integer keys', (i: number) => i],
    ['composite keys ["user", i]', (i: number) => ['user', i]],
    ['object keys { tenant, id }', (i: number) => ({ tenant: i % 7, id: i })],
    ['bigint keys', (i: number) => BigInt(i) * 1_000_003n],
  ] as const)('spreads 100,000 %s evenly over 64 partitions (chi-square, p = 0.001)', (_name, key) => {
    const r = spread(key as (i: number) => Term);
    expect(
      r.statistic,
      `chi-square ${r.statistic.toFixed(1)} > critical ${r.critical.toFixed(1)}`,
    ).toBeLessThanOrEqual(r.critical);
  });

  it('spreads keys evenly over a prime partition count too', () => {
    const r = spread((i) => `session-${i.toString(36)}`, 61);
    expect(r.ok, `chi-square ${r.statistic.toFixed(1)} > ${r.critical.toFixed(1)}`).toBe(true);
  });
});
