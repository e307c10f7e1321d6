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
  assertMatchSpec,
  compileMatchSpec,
  MATCH_OPS,
  type MatchExpr,
  type MatchSpec,
  NO_MATCH,
  specFromPattern,
} from '../src/match.js';
import type { Term, Tuple } from '../src/terms.js';

function errorOf(fn: () => unknown): SuperCacheError {
  try {
    fn();
  } catch (e) {
    expect(SuperCacheError.is(e)).toBe(true);
    return e as SuperCacheError;
  }
  throw new Error('expected a SuperCacheError, nothing was thrown');
}

const run = (spec: MatchSpec, obj: Tuple, keyPos = 0) => compileMatchSpec(spec, keyPos).run(obj);

/** Marks an expected failure in the op tables below. */
const FAILS = Symbol('fails');
type Expected = Term | typeof FAILS;

/** As an expression, a term evaluates to itself only if it holds no array. */
function quote(t: Term): MatchExpr {
  return Array.isArray(t) || (typeof t === 'object' && t !== null && !(t instanceof Uint8Array))
    ? ['const', t]
    : t;
}

/**
 * Evaluates `[op, ...args]` twice: with literal arguments (folded at compile
 * time) and with the arguments bound from the object (evaluated per object).
 */
function evalBoth(op: string, args: readonly Term[]): [unknown, unknown] {
  const body: MatchExpr = [op, ...args.map(quote)];
  const folded = run([[_, [], [body]]], ['obj']);
  const vars = args.map((_a, i) => $(i + 1));
  const live = run([[vars, [], [[op, ...vars]]]], args);
  return [folded, live];
}

const bytes = (...b: number[]) => new Uint8Array(b);

// [op, args, expected]: every operation, with passing and failing cases.
const cases: [string, Term[], Expected][] = [
  // comparisons
  ['==', [1, 1], true],
  ['==', [1, 2], false],
  ['==', [1, 1n], false],
  ['==', [Number.NaN, Number.NaN], true],
  ['==', [-0, 0], true],
  [
    '==',
    [
      [1, { a: 'x' }],
      [1, { a: 'x' }],
    ],
    true,
  ],
  [
    '=:=',
    [
      [1, 2],
      [1, 2],
    ],
    true,
  ],
  ['=:=', ['a', 'b'], false],
  ['===', ['a', 'a'], true],
  ['===', [1, '1'], false],
  ['/=', [1, 2], true],
  ['/=', [1, 1], false],
  ['=/=', [1, 1n], true],
  ['=/=', ['a', 'a'], false],
  ['!=', [null, false], true],
  ['!=', [null, null], false],
  ['!==', [[1], [2]], true],
  ['!==', [[1], [1]], false],
  ['<', [1, 2], true],
  ['<', [2, 1], false],
  ['<', [2, 2], false],
  ['<', [1, 'a'], true],
  ['<', [1, 1n], true],
  ['<', ['b', 'a'], false],
  ['=<', [2, 2], true],
  ['=<', [3, 2], false],
  ['<=', [1, 2], true],
  ['<=', [3, 2], false],
  ['>', [3, 2], true],
  ['>', [2, 2], false],
  ['>', [[1, 2], [1]], true],
  ['>=', [2, 2], true],
  ['>=', [1, 2], false],
  // booleans
  ['and', [true, true], true],
  ['and', [true, true, false], false],
  ['and', [false, 1], FAILS],
  ['or', [false, true], true],
  ['or', [false, false], false],
  ['or', [true, 'x'], FAILS],
  ['andalso', [true, true], true],
  ['andalso', [false, 'not boolean'], false],
  ['andalso', [true, 'not boolean'], FAILS],
  ['orelse', [true, 'not boolean'], true],
  ['orelse', [false, false], false],
  ['orelse', [false, 1], FAILS],
  ['not', [true], false],
  ['not', [false], true],
  ['not', [0], FAILS],
  ['xor', [true, false], true],
  ['xor', [true, true], false],
  ['xor', [1, true], FAILS],
  // arithmetic
  ['+', [1, 2], 3],
  ['+', [1n, 2n], 3n],
  ['+', [5], 5],
  ['+', [1, 1n], FAILS],
  ['+', ['a', 1], FAILS],
  ['+', ['a'], FAILS],
  ['-', [5, 3], 2],
  ['-', [5n, 7n], -2n],
  ['-', [5], -5],
  ['-', [5n], -5n],
  ['-', [1n, 1], FAILS],
  ['*', [3, 4], 12],
  ['*', [3n, 4n], 12n],
  ['*', [3, 'x'], FAILS],
  ['/', [7, 2], 3.5],
  ['/', [1, 0], FAILS],
  ['/', [4n, 2n], FAILS],
  ['div', [7, 2], 3],
  ['div', [-7, 2], -3],
  ['div', [7n, 2n], 3n],
  ['div', [-7n, 2n], -3n],
  ['div', [7, 0], FAILS],
  ['div', [7n, 0n], FAILS],
  ['div', [7.5, 2], FAILS],
  ['div', [7, 2n], FAILS],
  ['rem', [7, 2], 1],
  ['rem', [-7, 2], -1],
  ['rem', [7n, -2n], 1n],
  ['rem', [7, 0], FAILS],
  ['rem', [1.5, 1], FAILS],
  ['abs', [-3], 3],
  ['abs', [-3n], 3n],
  ['abs', ['x'], FAILS],
  ['min', [3, 1, 2], 1],
  ['min', [3n, 1n], 1n],
  ['min', [1, 1n], FAILS],
  ['min', ['a', 'b'], FAILS],
  ['max', [3, 1, 2], 3],
  ['max', [3n, 10n], 10n],
  ['max', [null], FAILS],
  // type tests
  ['is_integer', [3], true],
  ['is_integer', [3.5], false],
  ['is_integer', [3n], false],
  ['is_float', [3.5], true],
  ['is_float', ['x'], false],
  ['is_number', [1], true],
  ['is_number', [1n], false],
  ['is_bigint', [1n], true],
  ['is_bigint', [1], false],
  ['is_string', ['x'], true],
  ['is_string', [1], false],
  ['is_binary', [bytes(1)], true],
  ['is_binary', [[1]], false],
  ['is_boolean', [false], true],
  ['is_boolean', [null], false],
  ['is_null', [null], true],
  ['is_null', [false], false],
  ['is_list', [[1]], true],
  ['is_list', [{ a: 1 }], false],
  ['is_array', [[]], true],
  ['is_array', ['[]'], false],
  ['is_tuple', [[1, 2]], true],
  ['is_tuple', [bytes(1)], false],
  ['is_map', [{ a: 1 }], true],
  ['is_map', [[1]], false],
  ['is_object', [{}], true],
  ['is_object', [bytes()], false],
  ['is_object', [null], false],
  // accessors
  ['element', [1, ['a', 'b']], 'a'],
  ['element', [2, ['a', 'b']], 'b'],
  ['element', [0, ['a', 'b']], FAILS],
  ['element', [3, ['a', 'b']], FAILS],
  ['element', [1.5, ['a', 'b']], FAILS],
  ['element', [1, 'ab'], FAILS],
  ['at', [0, ['a', 'b']], 'a'],
  ['at', [-1, ['a', 'b']], 'b'],
  ['at', [2, ['a', 'b']], FAILS],
  ['at', [-3, ['a', 'b']], FAILS],
  ['at', ['0', ['a']], FAILS],
  ['size', [[1, 2, 3]], 3],
  ['size', ['abc'], 3],
  ['size', [bytes(1, 2)], 2],
  ['size', [{ a: 1, b: 2 }], 2],
  ['size', [5], FAILS],
  ['length', [[]], 0],
  ['length', [null], FAILS],
  ['map_get', ['a', { a: 1 }], 1],
  ['map_get', ['b', { a: 1 }], FAILS],
  ['map_get', ['toString', { a: 1 }], FAILS],
  ['map_get', ['0', ['x']], FAILS],
  ['is_map_key', ['a', { a: 1 }], true],
  ['is_map_key', ['b', { a: 1 }], false],
  ['is_map_key', [1, { a: 1 }], false],
  ['is_map_key', ['a', 'x'], FAILS],
  ['hd', [[1, 2]], 1],
  ['hd', [[]], FAILS],
  ['tl', [[1, 2, 3]], [2, 3]],
  ['tl', [[]], FAILS],
  ['tl', ['x'], FAILS],
  // strings
  ['starts_with', ['hello', 'he'], true],
  ['starts_with', ['hello', 'lo'], false],
  ['starts_with', [1, 'x'], FAILS],
  ['ends_with', ['hello', 'lo'], true],
  ['ends_with', ['hello', 'he'], false],
  ['contains', ['hello', 'ell'], true],
  ['contains', ['hello', 'z'], false],
  ['contains', ['hello', bytes()], FAILS],
  // construction
  ['tuple', [1, 'a', [2]], [1, 'a', [2]]],
  ['tuple', [], []],
];

describe('match-spec operations', () => {
  const show = (x: unknown): string =>
    x === FAILS
      ? 'a failure'
      : JSON.stringify(x, (_k, v) =>
          typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<bytes ${[...v].join(',')}>` : v,
        );
  const named = cases.map(
    ([op, args, expected]) => [`${op} ${show(args)} gives ${show(expected)}`, op, args, expected] as const,
  );

  it.each(named)('%s', (_name, op, args, expected) => {
    const [folded, live] = evalBoth(op, args);
    const want = expected === FAILS ? NO_MATCH : expected;
    expect(folded).toEqual(want);
    expect(live).toEqual(want);
  });

  it('has a test case for every supported operation', () => {
    const tested = new Set([...cases.map((c) => c[0]), 'const']);
    expect(MATCH_OPS.filter((op) => !tested.has(op))).toEqual([]);
  });

  it("returns 'const' arguments unevaluated", () => {
    expect(run([[_, [], [['const', ['not', 'a', 'call']]]]], ['x'])).toEqual(['not', 'a', 'call']);
    expect(run([[_, [], [['const', { a: [1] }]]]], ['x'])).toEqual({ a: [1] });
    expect(run([[_, [], [['const', []]]]], ['x'])).toEqual([]);
  });

  it('evaluates a plain object in a body with every value as an expression', () => {
    const spec: MatchSpec = [[[$1, $2], [], [{ key: $1, twice: ['*', $2, 2], tag: 'lit', all: $$ }]]];
    expect(run(spec, ['k', 21])).toEqual({ key: 'k', twice: 42, tag: 'lit', all: ['k', 21] });
  });

  it('keeps a __proto__ key of a body object as an own key', () => {
    const body = JSON.parse('{"__proto__": 1}') as MatchExpr;
    const r = run([[[$1], [], [body]]], ['x']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.keys(r)).toEqual(['__proto__']);
  });

  it('fails a body object whose value fails', () => {
    expect(run([[[$1], [], [{ a: ['hd', $1] }]]], [[]])).toBe(NO_MATCH);
  });
});

describe('compileMatchSpec', () => {
  it('returns the value of the last body expression of the matching clause', () => {
    expect(run([[[$1, $2], [], [$1, $2]]], ['a', 'b'])).toBe('b');
    expect(run([[['a', $1], [], [$1]]], ['a', 7])).toBe(7);
  });

  it('returns NO_MATCH when no clause matches', () => {
    expect(run([[['a', $1], [], [$1]]], ['b', 7])).toBe(NO_MATCH);
    expect(run([], ['a'])).toBe(NO_MATCH);
  });

  it('tries clauses in order and returns the first match', () => {
    const spec: MatchSpec = [
      [['a', $1], [['>', $1, 10]], ['big']],
      [['a', $1], [], ['small']],
      [_, [], ['other']],
    ];
    expect(run(spec, ['a', 11])).toBe('big');
    expect(run(spec, ['a', 1])).toBe('small');
    expect(run(spec, ['b', 1])).toBe('other');
  });

  it('gives the whole object for $_ and the bindings in variable order for $$', () => {
    const obj = ['k', 1, 2];
    expect(run([[[_, $2, $1], [], [$_]]], obj)).toBe(obj);
    expect(run([[[_, $2, $1], [], [$$]]], obj)).toEqual([2, 1]);
    expect(run([[['k', _, _], [], [$$]]], obj)).toEqual([]);
    expect(run([[[$3, _, $1], [], [$$]]], obj)).toEqual([2, 'k']);
  });

  it('returns a fresh $$ array for each object', () => {
    const c = compileMatchSpec([[[$1], [], [$$]]], 0);
    const a = c.run(['x']);
    const b = c.run(['x']);
    expect(a).toEqual(['x']);
    expect(a).not.toBe(b);
  });

  it('passes a clause only when every guard is exactly true', () => {
    const spec = (guards: MatchExpr[]): MatchSpec => [[[$1, $2], guards, [$1]]];
    expect(
      run(
        spec([
          ['>', $2, 1],
          ['is_string', $1],
        ]),
        ['a', 2],
      ),
    ).toBe('a');
    expect(
      run(
        spec([
          ['>', $2, 1],
          ['is_integer', $1],
        ]),
        ['a', 2],
      ),
    ).toBe(NO_MATCH);
    expect(run(spec([$2]), ['a', 1])).toBe(NO_MATCH); // 1 is not `true`
    expect(run(spec([$2]), ['a', true])).toBe('a');
    expect(run(spec([true]), ['a', 1])).toBe('a');
    expect(run(spec([false]), ['a', 1])).toBe(NO_MATCH);
  });

  it('reads the whole object in a guard through $_', () => {
    const spec: MatchSpec = [[_, [['==', ['element', 2, $_], 'x']], [['size', $_]]]];
    expect(run(spec, ['k', 'x', 3])).toBe(3);
    expect(run(spec, ['k', 'y', 3])).toBe(NO_MATCH);
  });

  it('turns a guard that fails on wrong types into a non-match, never an exception', () => {
    const spec: MatchSpec = [[[$1, $2], [['>', ['+', $2, 1], 10]], [$1]]];
    expect(run(spec, ['a', 'not a number'])).toBe(NO_MATCH);
    expect(run(spec, ['a', 1n])).toBe(NO_MATCH);
    expect(run(spec, ['a', 10])).toBe('a');
  });

  it('tries the next clause when a guard fails', () => {
    const spec: MatchSpec = [
      [[$1], [['>', ['hd', $1], 0]], ['positive head']],
      [[$1], [], ['fallback']],
    ];
    expect(run(spec, [[]])).toBe('fallback');
    expect(run(spec, [[5]])).toBe('positive head');
  });

  it('tries the next clause when a body expression fails, even one before the last', () => {
    const spec: MatchSpec = [
      [[$1], [], [['hd', $1], 'first']],
      [[$1], [], ['second']],
    ];
    expect(run(spec, [[1]])).toBe('first');
    expect(run(spec, [[]])).toBe('second');
  });

  it('fails the clause instead of throwing when evaluation throws (a stack overflow on a huge term)', () => {
    const deep = (n: number): Term => {
      let t: Term = [];
      for (let i = 0; i < n; i++) t = [t];
      return t;
    };
    const spec: MatchSpec = [
      [[$1, $2], [['==', $1, $2]], ['equal']],
      [_, [], ['fallback']],
    ];
    const one = compileMatchSpec(spec.slice(0, 1), 0);
    const two = compileMatchSpec(spec, 0);
    const a = deep(200_000);
    const b = deep(200_000);
    expect(one.run([a, b])).toBe(NO_MATCH);
    expect(two.run([a, b])).toBe('fallback');
    expect(two.run([[1], [1]])).toBe('equal');
  });

  it("short-circuits 'andalso' and 'orelse', so a later guard part is not evaluated", () => {
    const safe: MatchSpec = [[[$1], [['andalso', ['is_list', $1], ['>', ['size', $1], 1]]], [true]]];
    expect(run(safe, ['abc'])).toBe(NO_MATCH);
    expect(run(safe, [[1, 2]])).toBe(true);
    const either: MatchSpec = [[[$1], [['orelse', ['is_integer', $1], ['>', ['size', $1], 1]]], [true]]];
    expect(run(either, [5])).toBe(true);
    expect(run(either, ['ab'])).toBe(true);
    expect(run(either, [null])).toBe(NO_MATCH);
  });

  it('binds repeated head variables once and compares them, as patterns do', () => {
    const spec: MatchSpec = [[[$1, $1, $2], [], [$2]]];
    expect(run(spec, ['a', 'a', 1])).toBe(1);
    expect(run(spec, ['a', 'b', 1])).toBe(NO_MATCH);
  });

  it('accepts a bare variable as the head, bound to the whole object', () => {
    expect(run([[$1, [['==', ['size', $1], 2]], [$1]]], ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('treats literal strings in guards and bodies as data', () => {
    expect(run([[[$1], [['==', $1, '$1']], ['_']]], ['$1'])).toBe('_');
    expect(run([[[$1], [['==', $1, '$1']], ['_']]], ['x'])).toBe(NO_MATCH);
  });

  describe('keyBound', () => {
    it('is true when every clause binds the key to the same term', () => {
      const c = compileMatchSpec(
        [
          [['k', $1], [['>', $1, 0]], [$1]],
          [['k', _], [], [0]],
        ],
        0,
      );
      expect(c.keyBound).toBe(true);
      expect(c.key).toBe('k');
    });

    it('is false when clauses bind different keys or one leaves the key free', () => {
      expect(
        compileMatchSpec(
          [
            [['a', $1], [], [$1]],
            [['b', $1], [], [$1]],
          ],
          0,
        ).keyBound,
      ).toBe(false);
      expect(
        compileMatchSpec(
          [
            [['a', $1], [], [$1]],
            [[$1, _], [], [$1]],
          ],
          0,
        ).keyBound,
      ).toBe(false);
      expect(compileMatchSpec([[_, [], [$_]]], 0).keyBound).toBe(false);
    });

    it('is false for an empty spec', () => {
      const c = compileMatchSpec([], 0);
      expect(c.keyBound).toBe(false);
      expect(c.key).toBeUndefined();
    });

    it('is false when the key holds an object (subset semantics)', () => {
      expect(compileMatchSpec([[[{ id: 1 }, $1], [], [$1]]], 0).keyBound).toBe(false);
    });

    it('detects a key fixed by a top-level equality guard on the key variable', () => {
      const c = compileMatchSpec([[[$1, $2], [['=:=', $1, ['tuple', 'a', 1]]], [$2]]], 0);
      expect(c.keyBound).toBe(true);
      expect(c.key).toEqual(['a', 1]);
      const flipped = compileMatchSpec([[[$2, $1], [['==', 'k', $2]], [$1]]], 0);
      expect(flipped.key).toBe('k');
      expect(compileMatchSpec([[[$1, $2], [['=:=', $1, $2]], [$2]]], 0).keyBound).toBe(false);
      expect(compileMatchSpec([[[$1, $2], [['<', $1, 'k']], [$2]]], 0).keyBound).toBe(false);
    });

    it('ignores clauses that can never match', () => {
      const c = compileMatchSpec(
        [
          [['k', $1], [], [$1]],
          [[$1, _], [false], [$1]],
        ],
        0,
      );
      expect(c.keyBound).toBe(true);
      expect(c.key).toBe('k');
      expect(c.run(['j', 1])).toBe(NO_MATCH);
    });

    it('follows keyPos', () => {
      const spec: MatchSpec = [[[$1, 'k'], [], [$1]]];
      expect(compileMatchSpec(spec, 0).keyBound).toBe(false);
      expect(compileMatchSpec(spec, 1).key).toBe('k');
    });
  });

  describe('caching', () => {
    it('compiles a spec object once per keyPos', () => {
      const spec: MatchSpec = [[['a', $1], [], [$1]]];
      expect(compileMatchSpec(spec, 0)).toBe(compileMatchSpec(spec, 0));
      expect(compileMatchSpec(spec, 1)).not.toBe(compileMatchSpec(spec, 0));
      expect(compileMatchSpec([[['a', $1], [], [$1]]], 0)).not.toBe(compileMatchSpec(spec, 0));
    });
  });

  describe('specFromPattern', () => {
    it('builds a one-clause spec returning the bindings, or the object with $_', () => {
      const p = ['k', $2, $1];
      expect(specFromPattern(p)).toEqual([[p, [], [$$]]]);
      expect(run(specFromPattern(p), ['k', 'b', 'a'])).toEqual(['a', 'b']);
      const obj = ['k', 1, 2];
      expect(run(specFromPattern(p, $_), obj)).toBe(obj);
      expect(run(specFromPattern(p, ['tuple', $1]), obj)).toEqual([2]);
    });

    it('returns the same spec for the same pattern with $$ or $_, so compilation is cached', () => {
      const p = ['k', $1];
      expect(specFromPattern(p)).toBe(specFromPattern(p));
      expect(specFromPattern(p, $_)).toBe(specFromPattern(p, $_));
      expect(specFromPattern(p, $_)).not.toBe(specFromPattern(p));
      expect(compileMatchSpec(specFromPattern(p), 0)).toBe(compileMatchSpec(specFromPattern(p), 0));
    });
  });

  describe('malformed specs', () => {
    const bad: [string, unknown, string][] = [
      ['a spec that is not an array', { head: _ }, 'spec'],
      ['a null spec', null, 'spec'],
      ['a clause that is not an array', ['clause'], 'spec[0]'],
      ['a clause of two elements', [[_, []]], 'spec[0]'],
      ['a clause of four elements', [[_, [], [1], []]], 'spec[0]'],
      ['a sparse spec', Object.assign(new Array(3), { 0: [_, [], [1]], 2: [_, [], [1]] }), 'spec[1]'],
      ['guards that are not an array', [[_, true, [1]]], 'spec[0].guards'],
      ['a body that is not an array', [[_, [], $_]], 'spec[0].body'],
      ['an empty body', [[_, [], []]], 'spec[0].body'],
      ['an unknown operation', [[[$1], [['frobnicate', $1]], [1]]], 'spec[0].guards[0][0]'],
      [
        'an operation named after an Object.prototype key',
        [[_, [], [['constructor']]]],
        'spec[0].body[0][0]',
      ],
      ['a call whose first element is not a string', [[[$1], [], [[$1, 2]]]], 'spec[0].body[0][0]'],
      [
        'a literal array in expression position',
        [[_, [], [{ tags: ['a', 'b'] }]]],
        'spec[0].body[0].tags[0]',
      ],
      ['an empty array in expression position', [[_, [], [[]]]], 'spec[0].body[0]'],
      ['too many arguments', [[[$1], [['not', $1, $1]], [1]]], 'spec[0].guards[0]'],
      ['too few arguments', [[[$1], [['>', $1]], [1]]], 'spec[0].guards[0]'],
      ['too few arguments to a variadic op', [[_, [['and']], [1]]], 'spec[0].guards[0]'],
      ["'const' with two arguments", [[_, [], [['const', 1, 2]]]], 'spec[0].body[0]'],
      ["a marker inside 'const'", [[[$1], [], [['const', [$1]]]]], 'spec[0].body[0][1]'],
      ['a variable in a guard not bound in the head', [[[$1], [['>', $2, 0]], [1]]], 'spec[0].guards[0][1]'],
      [
        'a variable in the body not bound in the head',
        [[[$1], [], [['tuple', $1, $3]]]],
        'spec[0].body[0][2]',
      ],
      ['_ in a body', [[[$1], [], [_]]], 'spec[0].body[0]'],
      ['_ in a guard', [[[$1], [['==', $1, _]], [1]]], 'spec[0].guards[0][2]'],
      ['$_ in a head', [[[$_], [], [1]]], 'spec[0].head[0]'],
      ['$$ in a head', [[{ a: $$ }, [], [1]]], 'spec[0].head.a'],
      ['undefined in a body', [[_, [], [undefined]]], 'spec[0].body[0]'],
      ['a function in a guard', [[_, [() => true], [1]]], 'spec[0].guards[0]'],
      ['a Date in a body', [[_, [], [new Date(0)]]], 'spec[0].body[0]'],
      ['undefined in a head', [[['a', undefined], [], [1]]], 'spec[0].head[1]'],
    ];

    it.each(bad)('rejects %s with SC_ERR_BAD_MATCH_SPEC naming where', (_what, spec, path) => {
      const e = errorOf(() => compileMatchSpec(spec as MatchSpec, 0));
      expect(e.code).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(e.message.startsWith(`${path}: `)).toBe(true);
      expect(e.details).toEqual({ path });
      expect(errorOf(() => assertMatchSpec(spec)).code).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('explains how to write a literal array', () => {
      const e = errorOf(() => compileMatchSpec([[_, [], [['a', 'b']]]], 0));
      expect(e.message).toContain("['const', [...]]");
    });

    it('rejects a bad keyPos with SC_ERR_BAD_ARG', () => {
      expect(errorOf(() => compileMatchSpec([], -1)).code).toBe('SC_ERR_BAD_ARG');
    });

    it('rejects a malformed clause even when it is never reached', () => {
      const spec = [
        [_, [], [1]],
        [_, [['nope']], [1]],
      ];
      expect(errorOf(() => compileMatchSpec(spec as unknown as MatchSpec, 0)).code).toBe(
        'SC_ERR_BAD_MATCH_SPEC',
      );
    });

    it('accepts a well-formed spec in assertMatchSpec', () => {
      expect(() => assertMatchSpec([[[$1], [['is_integer', $1]], [$_]]])).not.toThrow();
    });
  });
});
