import { describe, expect, it } from 'vitest';
import { SuperCacheError } from '../src/errors.js';
import {
  _,
  $,
  $_,
  $$,
  $1,
  $2,
  compileMatchSpec,
  decodeMarkers,
  decodeMatchSpec,
  decodePattern,
  encodeMarkers,
  isMatchVar,
  type MatchExpr,
  type MatchSpec,
  NO_MATCH,
} from '../src/match.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(SuperCacheError.is(e)).toBe(true);
    return (e as SuperCacheError).code;
  }
  throw new Error('expected a SuperCacheError, nothing was thrown');
}

const spec: MatchSpec = [
  [['user', $1, _, { role: $2 }], [['andalso', ['>', $1, 10], ['is_string', $2]]], [{ id: $1, all: $$ }]],
  [_, [], [$_]],
];

describe('encodeMarkers', () => {
  it('replaces each marker by its tagged plain form', () => {
    expect(encodeMarkers(_)).toEqual({ $sc: '_' });
    expect(encodeMarkers($(12))).toEqual({ $sc: 'var', n: 12 });
    expect(encodeMarkers($_)).toEqual({ $sc: '$_' });
    expect(encodeMarkers($$)).toEqual({ $sc: '$$' });
  });

  it('produces JSON that names no class', () => {
    expect(JSON.stringify(encodeMarkers([[['k', $1], [], [$_]]]))).toBe(
      '[[["k",{"$sc":"var","n":1}],[],[{"$sc":"$_"}]]]',
    );
  });

  it('escapes a literal object that has a $sc key', () => {
    expect(encodeMarkers({ $sc: 'var', n: 1 })).toEqual({ $sc: 'obj', v: { $sc: 'var', n: 1 } });
    expect(encodeMarkers({ $sc: { $sc: 'x' } })).toEqual({
      $sc: 'obj',
      v: { $sc: { $sc: 'obj', v: { $sc: 'x' } } },
    });
  });

  it('rejects values that are neither terms nor markers', () => {
    expect(codeOf(() => encodeMarkers([undefined] as unknown as MatchExpr))).toBe('SC_ERR_BAD_MATCH_SPEC');
    expect(codeOf(() => encodeMarkers({ f: (() => 1) as unknown as MatchExpr }))).toBe(
      'SC_ERR_BAD_MATCH_SPEC',
    );
    expect(codeOf(() => encodeMarkers([new Date(0)] as unknown as MatchExpr))).toBe('SC_ERR_BAD_MATCH_SPEC');
  });
});

describe('decodeMarkers', () => {
  it('round-trips a spec through JSON to an equivalent spec', () => {
    const decoded = decodeMatchSpec(JSON.parse(JSON.stringify(encodeMarkers(spec))));
    expect(decoded).toEqual(spec);
    const obj = ['user', 42, 'x', { role: 'admin' }];
    expect(compileMatchSpec(decoded, 0).run(obj)).toEqual(compileMatchSpec(spec, 0).run(obj));
    expect(compileMatchSpec(decoded, 0).run(obj)).toEqual({ id: 42, all: [42, 'admin'] });
  });

  it('returns the shared variable instances', () => {
    const d = decodeMarkers([
      { $sc: 'var', n: 1 },
      { $sc: 'var', n: 500 },
    ]) as unknown[];
    expect(d[0]).toBe($1);
    expect(d[1]).toBe($(500));
  });

  it('keeps bigints and byte arrays as they are', () => {
    const value: MatchExpr = [1n, new Uint8Array([1, 2]), { big: -5n }, $1];
    expect(decodeMarkers(encodeMarkers(value))).toEqual(value);
  });

  it('restores an escaped literal object without turning it into a marker', () => {
    const literal = { $sc: 'var', n: 1 };
    const back = decodeMarkers(JSON.parse(JSON.stringify(encodeMarkers(['k', literal])))) as unknown[];
    expect(back[1]).toEqual(literal);
    expect(isMatchVar(back[1])).toBe(false);
    const s: MatchSpec = [[['k', literal], [], [true]]];
    const decoded = decodeMatchSpec(encodeMarkers(s));
    expect(compileMatchSpec(decoded, 0).run(['k', literal])).toBe(true);
    expect(compileMatchSpec(decoded, 0).run(['k', 'x'])).toBe(NO_MATCH);
  });

  it('keeps markers that are already decoded', () => {
    expect(decodeMarkers([$1, _])).toEqual([$1, _]);
  });

  it('keeps a __proto__ key as an ordinary own key', () => {
    const d = decodeMarkers(JSON.parse('{"__proto__": {"$sc": "var", "n": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
    expect(Object.keys(d)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(d, '__proto__')?.value).toBe($1);
  });

  it('rejects unknown tags, bad variable numbers and tag objects with extra keys', () => {
    for (const bad of [
      { $sc: 'nope' },
      { $sc: 1 },
      { $sc: 'var', n: 0 },
      { $sc: 'var', n: 1.5 },
      { $sc: 'var', n: '1' },
      { $sc: 'var' },
      { $sc: 'var', n: 1, extra: true },
      { $sc: '_', n: 1 },
      { $sc: 'obj', v: [1] },
      { $sc: 'obj' },
    ]) {
      expect(codeOf(() => decodeMarkers(['k', bad]))).toBe('SC_ERR_BAD_MATCH_SPEC');
    }
  });

  it('rejects input that is not a term', () => {
    expect(codeOf(() => decodeMarkers([undefined]))).toBe('SC_ERR_BAD_MATCH_SPEC');
    expect(codeOf(() => decodeMarkers(new Map()))).toBe('SC_ERR_BAD_MATCH_SPEC');
  });

  it('checks the shape in decodeMatchSpec and decodePattern', () => {
    expect(codeOf(() => decodeMatchSpec([[{ $sc: '_' }, [], []]]))).toBe('SC_ERR_BAD_MATCH_SPEC');
    expect(codeOf(() => decodeMatchSpec([[[{ $sc: 'var', n: 1 }], [], [{ $sc: 'var', n: 2 }]]]))).toBe(
      'SC_ERR_BAD_MATCH_SPEC',
    );
    expect(codeOf(() => decodePattern(['k', { $sc: '$_' }]))).toBe('SC_ERR_BAD_MATCH_SPEC');
    expect(decodePattern(['k', { $sc: 'var', n: 2 }, { $sc: '_' }])).toEqual(['k', $2, _]);
  });
});
