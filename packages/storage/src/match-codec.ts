/**
 * A plain-data form of patterns and specs for the JSON client API: markers
 * become tagged objects so the whole thing is a term (JSON-friendly apart
 * from bigints and bytes, which the term codec of the transport handles).
 * The peer transport uses a msgpack extension type instead.
 *
 * | marker  | encoded                    |
 * |---------|----------------------------|
 * | `_`     | `{ "$sc": "_" }`           |
 * | `$(n)`  | `{ "$sc": "var", "n": n }` |
 * | `$_`    | `{ "$sc": "$_" }`          |
 * | `$$`    | `{ "$sc": "$$" }`          |
 *
 * A literal object that itself has a `$sc` key is escaped as
 * `{ "$sc": "obj", "v": {...} }`, so encoding is lossless for any input.
 */

import type { MatchExpr, MatchSpec, Pattern } from './match.js';
import {
  badSpec,
  describeValue,
  isBytes,
  isPlainObject,
  keyPath,
  MAX_DEPTH,
  setOwn,
} from './match-internal.js';
import { _, $, $_, $$, isValidVarIndex, MAX_VAR_INDEX, markerKind } from './match-markers.js';
import { planPattern } from './match-pattern.js';
import { compileSpec } from './match-spec.js';
import type { Term } from './terms.js';

const TAG = '$sc';

/**
 * Replaces every marker in a pattern, expression or spec by its tagged
 * plain-object form (see the module table); everything else is copied.
 *
 * @example
 * ```ts
 * JSON.stringify(encodeMarkers([[['k', $1], [], [$_]]]));
 * // '[[["k",{"$sc":"var","n":1}],[],[{"$sc":"$_"}]]]'
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` when `value` holds
 *   something that is neither a term nor a marker.
 */
export function encodeMarkers(value: MatchExpr | MatchSpec): Term {
  return encode(value, 'value', 0);
}

function encode(x: unknown, path: string, depth: number): Term {
  switch (typeof x) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return x;
    case 'object':
      break;
    default:
      throw badSpec(path, `${describeValue(x)} is not a term or a marker`);
  }
  if (x === null) return null;
  if (depth > MAX_DEPTH) throw badSpec(path, `nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
  switch (markerKind(x)) {
    case 'wildcard':
      return { [TAG]: '_' };
    case 'var': {
      const n = (x as { index?: unknown }).index;
      if (!isValidVarIndex(n)) throw badSpec(path, `invalid match variable number ${String(n)}`);
      return { [TAG]: 'var', n };
    }
    case 'whole':
      return { [TAG]: '$_' };
    case 'all':
      return { [TAG]: '$$' };
    default:
      break;
  }
  if (x instanceof Uint8Array) {
    if (!isBytes(x)) throw badSpec(path, `${describeValue(x)} is not a term`);
    return x;
  }
  if (Array.isArray(x)) {
    const out: Term[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) {
      if (!(i in x)) throw badSpec(`${path}[${i}]`, 'a sparse array hole is not a term');
      out[i] = encode(x[i], `${path}[${i}]`, depth + 1);
    }
    return out;
  }
  if (!isPlainObject(x) || Object.getOwnPropertySymbols(x).length > 0) {
    throw badSpec(path, `${describeValue(x)} is not a term (only plain objects)`);
  }
  const src = x as Record<string, unknown>;
  const out: Record<string, Term> = {};
  for (const k of Object.keys(src)) setOwn(out, k, encode(src[k], keyPath(path, k), depth + 1));
  return Object.hasOwn(src, TAG) ? { [TAG]: 'obj', v: out } : out;
}

/**
 * The inverse of {@link encodeMarkers}: tagged objects become markers again
 * (`$(n)` returns the shared instance). Markers already present are kept.
 * Safe on untrusted input: it validates every tag, and a `__proto__` key
 * stays an ordinary key.
 *
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` on an unknown tag, a bad
 *   variable number, a tag object with extra keys, or a value that is not a
 *   term.
 */
export function decodeMarkers(value: unknown): MatchExpr {
  return decode(value, 'value', 0);
}

/**
 * {@link decodeMarkers}, then checks that the result is a valid pattern.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` when it is not.
 */
export function decodePattern(value: unknown): Pattern {
  const p = decode(value, 'pattern', 0);
  planPattern(p, 'pattern');
  return p as Pattern;
}

/**
 * {@link decodeMarkers}, then checks that the result is a valid match spec
 * (the same checks as `compileMatchSpec`).
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` when it is not.
 */
export function decodeMatchSpec(value: unknown): MatchSpec {
  const s = decode(value, 'spec', 0);
  compileSpec(s, 0);
  return s as MatchSpec;
}

function onlyKeys(o: object, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

function decode(x: unknown, path: string, depth: number): MatchExpr {
  switch (typeof x) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return x;
    case 'object':
      break;
    default:
      throw badSpec(path, `${describeValue(x)} is not a term`);
  }
  if (x === null) return null;
  if (depth > MAX_DEPTH) throw badSpec(path, `nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
  if (markerKind(x) !== undefined) return x as MatchExpr;
  if (x instanceof Uint8Array) {
    if (!isBytes(x)) throw badSpec(path, `${describeValue(x)} is not a term`);
    return x;
  }
  if (Array.isArray(x)) {
    const out: MatchExpr[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) {
      if (!(i in x)) throw badSpec(`${path}[${i}]`, 'a sparse array hole is not a term');
      out[i] = decode(x[i], `${path}[${i}]`, depth + 1);
    }
    return out;
  }
  if (!isPlainObject(x) || Object.getOwnPropertySymbols(x).length > 0) {
    throw badSpec(path, `${describeValue(x)} is not a term (only plain objects)`);
  }
  const src = x as Record<string, unknown>;
  if (Object.hasOwn(src, TAG)) return decodeTagged(src, path, depth);
  return decodeEntries(src, path, depth);
}

function decodeEntries(src: Record<string, unknown>, path: string, depth: number): MatchExpr {
  const out: Record<string, MatchExpr> = {};
  for (const k of Object.keys(src)) setOwn(out, k, decode(src[k], keyPath(path, k), depth + 1));
  return out;
}

function decodeTagged(src: Record<string, unknown>, path: string, depth: number): MatchExpr {
  const tag = src[TAG];
  switch (tag) {
    case '_':
    case '$_':
    case '$$':
      if (!onlyKeys(src, [TAG]))
        throw badSpec(path, `the ${JSON.stringify(tag)} marker tag takes no other keys`);
      return tag === '_' ? _ : tag === '$_' ? $_ : $$;
    case 'var': {
      if (!onlyKeys(src, [TAG, 'n']))
        throw badSpec(path, 'the "var" marker tag takes exactly the keys "$sc" and "n"');
      const n = src.n;
      if (!isValidVarIndex(n))
        throw badSpec(
          keyPath(path, 'n'),
          `invalid match variable index: ${describeValue(n)} (an integer from 1 to ${MAX_VAR_INDEX})`,
        );
      return $(n);
    }
    case 'obj': {
      const v = src.v;
      if (
        !onlyKeys(src, [TAG, 'v']) ||
        typeof v !== 'object' ||
        v === null ||
        Array.isArray(v) ||
        !isPlainObject(v)
      ) {
        throw badSpec(
          path,
          'the "obj" escape tag takes exactly the keys "$sc" and "v", with v a plain object',
        );
      }
      return decodeEntries(v as Record<string, unknown>, keyPath(path, 'v'), depth + 1);
    }
    default:
      throw badSpec(
        keyPath(path, TAG),
        `unknown marker tag ${describeValue(tag)} (expected "_", "var", "$_", "$$" or "obj"); "$sc" is reserved inside encoded specs`,
      );
  }
}
