import { describe, expect, it } from 'vitest';
import { SuperCacheError } from '../src/errors.js';
import {
  _,
  $,
  $_,
  $$,
  $1,
  $2,
  $3,
  $9,
  AllBindings,
  compilePattern,
  isAllBindings,
  isMarker,
  isMatchVar,
  isWholeObject,
  isWildcard,
  MAX_VAR_INDEX,
  MatchVar,
  markerKind,
  type Pattern,
  WholeObject,
  Wildcard,
} from '../src/match.js';
import type { Tuple } from '../src/terms.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(SuperCacheError.is(e)).toBe(true);
    return (e as SuperCacheError).code;
  }
  throw new Error('expected a SuperCacheError, nothing was thrown');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, nothing was thrown');
}

const m = (p: Pattern, obj: Tuple, keyPos = 0) => compilePattern(p, keyPos).match(obj);
const t = (p: Pattern, obj: Tuple, keyPos = 0) => compilePattern(p, keyPos).test(obj);

describe('markers', () => {
  it('returns one shared instance per variable number', () => {
    expect($(1)).toBe($(1));
    expect($(1)).toBe($1);
    expect($(9)).toBe($9);
    expect($(1)).not.toBe($(2));
    expect($(123_456)).toBe($(123_456));
    expect($(7).index).toBe(7);
  });

  it('rejects variable numbers that are not integers from 1 to MAX_VAR_INDEX with SC_ERR_BAD_ARG', () => {
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_VAR_INDEX + 1]) {
      expect(codeOf(() => $(n))).toBe('SC_ERR_BAD_ARG');
    }
    expect(codeOf(() => new MatchVar(0))).toBe('SC_ERR_BAD_ARG');
    expect($(MAX_VAR_INDEX).index).toBe(MAX_VAR_INDEX);
  });

  it('recognises each marker with its own type guard and nothing else', () => {
    expect(isWildcard(_)).toBe(true);
    expect(isMatchVar($2)).toBe(true);
    expect(isWholeObject($_)).toBe(true);
    expect(isAllBindings($$)).toBe(true);
    expect(isWildcard($1)).toBe(false);
    expect(isMatchVar(_)).toBe(false);
    expect(isWholeObject($$)).toBe(false);
    expect(isAllBindings($_)).toBe(false);
    expect([_, $1, $_, $$].map(markerKind)).toEqual(['wildcard', 'var', 'whole', 'all']);
    expect(_).toBeInstanceOf(Wildcard);
    expect($_).toBeInstanceOf(WholeObject);
    expect($$).toBeInstanceOf(AllBindings);
  });

  it('never treats strings or look-alike plain objects as markers', () => {
    for (const v of ['_', '$1', '$_', '$$', { kind: 'var', index: 1 }, { kind: 'wildcard' }, null, 1]) {
      expect(isMarker(v)).toBe(false);
    }
    // What structuredClone makes of a marker is plain data, not a marker.
    expect(isMatchVar(structuredClone($1))).toBe(false);
  });

  it('recognises a marker made by another copy of the package through the global brand', () => {
    const brand = Symbol.for('supercache.match.marker');
    const foreignVar = Object.create({ [brand]: 'var' }, { index: { value: 4, enumerable: true } });
    const foreignWildcard = Object.create({ [brand]: 'wildcard' });
    expect(isMatchVar(foreignVar)).toBe(true);
    expect(compilePattern([foreignVar, foreignWildcard], 0).match(['a', 'b'])).toEqual(['a']);
  });
});

describe('compilePattern', () => {
  it('matches everything with a bare _ and binds nothing', () => {
    expect(m(_, ['a', 1])).toEqual([]);
    expect(m(_, [])).toEqual([]);
    expect(t(_, [1, 2, 3])).toBe(true);
  });

  it('matches everything with a bare variable and binds the whole object', () => {
    const obj = ['a', 1];
    expect(m($1, obj)).toEqual([obj]);
    expect(t($1, obj)).toBe(true);
  });

  it('matches nothing with a pattern that is not an array, a variable or _', () => {
    for (const p of ['a', 1, null, true, { a: _ }] as Pattern[]) {
      expect(m(p, ['a'])).toBeUndefined();
      expect(t(p, ['a'])).toBe(false);
    }
  });

  it('matches an array pattern only against a tuple of the same length', () => {
    expect(m(['a', $1], ['a', 1])).toEqual([1]);
    expect(m(['a', $1], ['a', 1, 2])).toBeUndefined();
    expect(m(['a', $1], ['a'])).toBeUndefined();
    expect(m(['a', _, _], ['a', 1, 2])).toEqual([]);
    expect(t(['a', _, _], ['a', 1])).toBe(false);
  });

  it('compares literals as terms: -0 equals 0, NaN equals NaN, 1 differs from 1n', () => {
    expect(t([0], [-0])).toBe(true);
    expect(t([-0], [0])).toBe(true);
    expect(t([Number.NaN], [Number.NaN])).toBe(true);
    expect(t([Number.NaN], [1])).toBe(false);
    expect(t([1], [1n])).toBe(false);
    expect(t([1n], [1n])).toBe(true);
    expect(t([1n], [1])).toBe(false);
    expect(t([null, true, 'x'], [null, true, 'x'])).toBe(true);
    expect(t([null], [false])).toBe(false);
  });

  it('compares literals as terms beside variables too (each literal checked on its own)', () => {
    expect(m([Number.NaN, $1], [Number.NaN, 1])).toEqual([1]);
    expect(m([Number.NaN, $1], [0, 1])).toBeUndefined();
    expect(m([-0, $1], [0, 1])).toEqual([1]);
    expect(m([1, $1], [1n, 1])).toBeUndefined();
    expect(m([[1, 'a'], $1], [[1, 'a'], 2])).toEqual([2]);
    expect(m([[1, 'a'], $1], [[1, 'b'], 2])).toBeUndefined();
  });

  it("treats the strings '_' and '$1' as plain data", () => {
    expect(t(['_'], ['_'])).toBe(true);
    expect(t(['_'], ['x'])).toBe(false);
    expect(t(['$1'], ['$1'])).toBe(true);
    expect(t(['$1'], ['anything'])).toBe(false);
  });

  it('compares byte arrays by content', () => {
    expect(t([new Uint8Array([1, 2])], [new Uint8Array([1, 2])])).toBe(true);
    expect(t([new Uint8Array([1, 2])], [new Uint8Array([1, 3])])).toBe(false);
    expect(t([new Uint8Array([1, 2])], [[1, 2]])).toBe(false);
    expect(t([new Uint8Array([1, 2])], [Buffer.from([1, 2])])).toBe(true);
  });

  it('matches nested arrays element by element', () => {
    const p = ['k', [$1, ['x', $2]], [1, 2]];
    expect(m(p, ['k', [10, ['x', 20]], [1, 2]])).toEqual([10, 20]);
    expect(m(p, ['k', [10, ['y', 20]], [1, 2]])).toBeUndefined();
    expect(m(p, ['k', [10, ['x', 20, 0]], [1, 2]])).toBeUndefined();
    expect(m(p, ['k', [10, ['x', 20]], [1, 2, 3]])).toBeUndefined();
    expect(m(p, ['k', 'not an array', [1, 2]])).toBeUndefined();
  });

  it('matches an object pattern against any object that has its keys (extra keys allowed)', () => {
    const p = ['k', { name: $1, role: 'admin' }];
    expect(m(p, ['k', { name: 'ann', role: 'admin' }])).toEqual(['ann']);
    expect(m(p, ['k', { name: 'ann', role: 'admin', age: 3 }])).toEqual(['ann']);
    expect(m(p, ['k', { name: 'ann', role: 'user' }])).toBeUndefined();
    expect(m(p, ['k', { name: 'ann' }])).toBeUndefined();
    expect(m(['k', {}], ['k', { any: 1 }])).toEqual([]);
  });

  it('applies subset semantics to nested objects too', () => {
    const p = ['k', { a: { b: $1 } }];
    expect(m(p, ['k', { a: { b: 1, c: 2 }, d: 3 }])).toEqual([1]);
    expect(m(p, ['k', { a: { c: 2 } }])).toBeUndefined();
  });

  it('requires an own key: a key found only on the prototype does not match', () => {
    expect(t(['k', { toString: _ }], ['k', {}])).toBe(false);
    expect(t(['k', { toString: _ }], ['k', { toString: 'x' }])).toBe(true);
  });

  it('requires a present key even when its value is _', () => {
    expect(t(['k', { a: _ }], ['k', { a: null }])).toBe(true);
    expect(t(['k', { a: _ }], ['k', { b: null }])).toBe(false);
  });

  it('never matches an object pattern against an array, bytes or null', () => {
    for (const x of [[], [1], new Uint8Array(0), null, 'a']) expect(t(['k', {}], ['k', x])).toBe(false);
  });

  it('matches an own __proto__ key as an ordinary key', () => {
    const p = JSON.parse('["k", {"__proto__": "x"}]') as Pattern;
    expect(t(p, JSON.parse('["k", {"__proto__": "x"}]'))).toBe(true);
    expect(t(p, ['k', {}])).toBe(false);
  });

  it('requires every occurrence of a repeated variable to bind equal terms', () => {
    expect(m([$1, $1], ['a', 'a'])).toEqual(['a']);
    expect(m([$1, $1], ['a', 'b'])).toBeUndefined();
    expect(t([$1, $1], ['a', 'b'])).toBe(false);
    expect(t([$1, $1], ['a', 'a'])).toBe(true);
    // By value, with term equality.
    expect(
      m(
        [$1, $1],
        [
          [1, { a: 2 }],
          [1, { a: 2 }],
        ],
      ),
    ).toEqual([[1, { a: 2 }]]);
    expect(t([$1, $1], [0, -0])).toBe(true);
    expect(t([$1, $1], [1, 1n])).toBe(false);
    expect(t([$1, $1], [Number.NaN, Number.NaN])).toBe(true);
  });

  it('checks repeated variables across nesting levels and objects', () => {
    const p = [$1, [_, $2], { x: $1, y: [$2] }];
    expect(m(p, ['a', [0, 'b'], { x: 'a', y: ['b'] }])).toEqual(['a', 'b']);
    expect(m(p, ['a', [0, 'b'], { x: 'a', y: ['c'] }])).toBeUndefined();
    expect(m(p, ['a', [0, 'b'], { x: 'z', y: ['b'] }])).toBeUndefined();
  });

  it('returns bindings ordered by variable number, listing only the variables present', () => {
    expect(m([$3, $1, $2], ['c', 'a', 'b'])).toEqual(['a', 'b', 'c']);
    expect(m([$(10), $(2)], ['ten', 'two'])).toEqual(['two', 'ten']);
    expect(m([$1, _, $3], [1, 2, 3])).toEqual([1, 3]);
  });

  it('returns a fresh bindings array on every match', () => {
    const c = compilePattern([$1], 0);
    const a = c.match(['x']);
    const b = c.match(['x']);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it('agrees between test and match', () => {
    const c = compilePattern([$1, { a: $2 }, $1], 0);
    for (const obj of [
      [1, { a: 2 }, 1],
      [1, { a: 2 }, 2],
      [1, { b: 2 }, 1],
      [1, [2], 1],
    ] as Tuple[]) {
      expect(c.test(obj)).toBe(c.match(obj) !== undefined);
    }
  });

  describe('keyBound', () => {
    it('is true with the key when the element at keyPos has no markers', () => {
      const c = compilePattern(['user', $1], 0);
      expect(c.keyBound).toBe(true);
      expect(c.key).toBe('user');
      const d = compilePattern([$1, ['a', 1n, new Uint8Array([1])], _], 1);
      expect(d.keyBound).toBe(true);
      expect(d.key).toEqual(['a', 1n, new Uint8Array([1])]);
    });

    it('is false when the element at keyPos is or holds a marker', () => {
      for (const p of [
        [$1, 'a'],
        [_, 'a'],
        [['a', $1], 'b'],
        [['a', [_]], 'b'],
      ] as Pattern[]) {
        const c = compilePattern(p, 0);
        expect(c.keyBound).toBe(false);
        expect(c.key).toBeUndefined();
      }
    });

    it('is false when the key holds an object, since an object pattern also matches larger objects', () => {
      expect(compilePattern([{ id: 1 }, _], 0).keyBound).toBe(false);
      expect(compilePattern([['a', { id: 1 }], _], 0).keyBound).toBe(false);
    });

    it('is false for a bare _ or variable, a non-array pattern, or a pattern too short for keyPos', () => {
      expect(compilePattern(_, 0).keyBound).toBe(false);
      expect(compilePattern($1, 0).keyBound).toBe(false);
      expect(compilePattern('a', 0).keyBound).toBe(false);
      expect(compilePattern(['a'], 1).keyBound).toBe(false);
    });

    it('follows keyPos', () => {
      const p: Pattern = ['a', $1, 'c'];
      expect(compilePattern(p, 0).key).toBe('a');
      expect(compilePattern(p, 1).keyBound).toBe(false);
      expect(compilePattern(p, 2).key).toBe('c');
    });
  });

  describe('caching', () => {
    it('compiles a pattern object once per keyPos', () => {
      const p: Pattern = ['a', $1];
      expect(compilePattern(p, 0)).toBe(compilePattern(p, 0));
      expect(compilePattern(p, 1)).not.toBe(compilePattern(p, 0));
      expect(compilePattern(p, 1)).toBe(compilePattern(p, 1));
      expect(compilePattern(['a', $1], 0)).not.toBe(compilePattern(['a', $1], 0));
      expect(compilePattern(_, 0)).toBe(compilePattern(_, 0));
    });

    it('compiles primitive patterns without caching', () => {
      expect(compilePattern('a', 0).test(['a'])).toBe(false);
    });
  });

  describe('errors', () => {
    it('rejects $_ and $$ in a pattern with SC_ERR_BAD_MATCH_SPEC', () => {
      expect(codeOf(() => compilePattern(['a', $_] as unknown as Pattern, 0))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(codeOf(() => compilePattern([{ x: $$ }] as unknown as Pattern, 0))).toBe(
        'SC_ERR_BAD_MATCH_SPEC',
      );
      expect(messageOf(() => compilePattern(['a', [$_]] as unknown as Pattern, 0))).toContain(
        'pattern[1][0]',
      );
    });

    it('rejects values that are not terms, naming where', () => {
      const bad: unknown[] = [
        ['a', undefined],
        ['a', () => 1],
        ['a', new Date(0)],
        ['a', new Map()],
        ['a', Symbol('s')],
        ['a', { x: undefined }],
        ['a', new Uint16Array(1)],
      ];
      for (const p of bad)
        expect(codeOf(() => compilePattern(p as Pattern, 0))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(
        messageOf(() => compilePattern(['a', { x: [1, undefined] }] as unknown as Pattern, 0)),
      ).toContain('pattern[1].x[1]');
    });

    it('rejects sparse and cyclic patterns', () => {
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      expect(codeOf(() => compilePattern([1, , 2] as Pattern, 0))).toBe('SC_ERR_BAD_MATCH_SPEC');
      const cyc: unknown[] = ['a'];
      cyc.push(cyc);
      expect(codeOf(() => compilePattern(cyc as Pattern, 0))).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('rejects a forged variable with an invalid number', () => {
      const brand = Symbol.for('supercache.match.marker');
      const forged = Object.create({ [brand]: 'var' }, { index: { value: 0 } });
      expect(codeOf(() => compilePattern([forged], 0))).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('rejects a keyPos that is not a non-negative integer with SC_ERR_BAD_ARG', () => {
      for (const k of [-1, 1.5, Number.NaN])
        expect(codeOf(() => compilePattern(['a'], k))).toBe('SC_ERR_BAD_ARG');
    });
  });
});
