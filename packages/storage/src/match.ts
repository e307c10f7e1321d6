/**
 * Match patterns and match specs (ETS `match/2`, `match_object/2`,
 * `select/2`): markers, types, and compilation to closures.
 *
 * A pattern is a term in which markers stand for parts: `_` matches
 * anything, `$(n)` matches anything and binds it (a variable that occurs
 * twice must bind equal terms). Arrays match arrays of the same length
 * element by element; an object matches an object that has at least the
 * pattern's keys (extra keys are allowed, as for ETS maps).
 *
 * A match spec is a list of `[head, guards, body]` clauses; the first clause
 * whose head matches and whose guards are all `true` gives the value of its
 * last body expression. Guard and body expressions are literals, markers, or
 * calls `[op, ...args]`; the full syntax is in `docs/guides/match-specs.md`.
 *
 * Both compile once into closures and are cached by the identity of the
 * pattern or spec object: treat a pattern or spec as immutable once used.
 */

import { SuperCacheError } from './errors.js';
import type { AllBindings, MatchVar, WholeObject, Wildcard } from './match-markers.js';
import { $_, $$ } from './match-markers.js';
import type { PatternPlan } from './match-pattern.js';
import { buildMatcher, exactKeyOf, planPattern } from './match-pattern.js';
import { compileSpec } from './match-spec.js';
import type { Term, Tuple } from './terms.js';

export { decodeMarkers, decodeMatchSpec, decodePattern, encodeMarkers } from './match-codec.js';
export { MATCH_OPS } from './match-expr.js';
export type { MarkerKind } from './match-markers.js';
export {
  _,
  $,
  $_,
  $$,
  $1,
  $2,
  $3,
  $4,
  $5,
  $6,
  $7,
  $8,
  $9,
  AllBindings,
  isAllBindings,
  isMarker,
  isMatchVar,
  isValidVarIndex,
  isWholeObject,
  isWildcard,
  MAX_VAR_INDEX,
  MatchVar,
  markerKind,
  WholeObject,
  Wildcard,
} from './match-markers.js';

/** A pattern: a term in which markers may stand for parts. */
export type Pattern = Term | Wildcard | MatchVar | readonly Pattern[] | { readonly [k: string]: Pattern };

/**
 * A guard or body expression: a literal term, a marker (`$(n)`, `$_`,
 * `$$`), a call `[op, ...args]` (every array is a call), or a plain object
 * whose values are expressions. See `docs/guides/match-specs.md`.
 */
export type MatchExpr =
  | Pattern
  | WholeObject
  | AllBindings
  | readonly MatchExpr[]
  | { readonly [k: string]: MatchExpr };

/** One match-spec clause: `[head, guards, body]`. */
export type MatchClause = readonly [head: Pattern, guards: readonly MatchExpr[], body: readonly MatchExpr[]];

/** A match spec: a list of clauses, tried in order. */
export type MatchSpec = readonly MatchClause[];

/** Returned by a compiled spec when no clause matches. */
export const NO_MATCH: unique symbol = Symbol('supercache.noMatch');

/** A pattern compiled to closures. */
export interface CompiledPattern {
  /**
   * The bindings of `$1..$n` in order when `obj` matches, else `undefined`.
   * Only the variables that occur in the pattern are listed, by increasing
   * number (a pattern with `$1` and `$3` gives `[v1, v3]`), as ETS
   * `match/2` does. A pattern without variables gives `[]` on a match.
   * A fresh array on every call.
   */
  match(obj: Tuple): Term[] | undefined;
  /** True when `obj` matches. Allocates nothing. */
  test(obj: Tuple): boolean;
  /**
   * True when the element at `keyPos` is fully bound (no markers): the
   * pattern is an array longer than `keyPos` whose element there contains
   * no marker and no object (an object pattern also matches objects with
   * more keys, so it does not name one key).
   */
  readonly keyBound: boolean;
  /** That bound key, when `keyBound`. */
  readonly key: Term | undefined;
}

/** A match spec compiled to closures. */
export interface CompiledMatchSpec {
  /**
   * The body result of the first clause that matches, else `NO_MATCH`.
   * Results may share structure with `obj` and with literals of the spec:
   * treat them as read-only.
   */
  run(obj: Tuple): Term | typeof NO_MATCH;
  /**
   * True when every clause binds the key to the same fully bound term: its
   * head has that term at `keyPos` (as for {@link CompiledPattern.keyBound}),
   * or a variable there that a top-level guard `['=:=', $n, K]` (or `==`,
   * `===`, either order) fixes to the constant `K`. Clauses that can never
   * match (a constant guard that is not `true`) are ignored; a spec with no
   * clause that can match is not key-bound.
   */
  readonly keyBound: boolean;
  /** That bound key, when `keyBound`. */
  readonly key: Term | undefined;
}

function checkKeyPos(keyPos: number): void {
  if (!Number.isSafeInteger(keyPos) || keyPos < 0) {
    throw new SuperCacheError(
      'SC_ERR_BAD_ARG',
      `keyPos must be a non-negative integer, got ${String(keyPos)}`,
      {
        details: { keyPos: String(keyPos) },
      },
    );
  }
}

// Compiled forms are cached per (pattern or spec object, keyPos). WeakMaps:
// a spec nobody holds is collected along with its compiled form.
const patternCache = new WeakMap<object, Map<number, CompiledPattern>>();
const specCache = new WeakMap<object, Map<number, CompiledMatchSpec>>();

function cached<T>(cache: WeakMap<object, Map<number, T>>, subject: unknown, keyPos: number): T | undefined {
  return typeof subject === 'object' && subject !== null ? cache.get(subject)?.get(keyPos) : undefined;
}

function remember<T>(cache: WeakMap<object, Map<number, T>>, subject: unknown, keyPos: number, value: T): T {
  if (typeof subject === 'object' && subject !== null) {
    let byPos = cache.get(subject);
    if (byPos === undefined) cache.set(subject, (byPos = new Map()));
    byPos.set(keyPos, value);
  }
  return value;
}

/**
 * Compiles a pattern for tuples keyed at `keyPos`.
 *
 * A bare `_` matches every object; a bare variable matches every object and
 * binds it whole; any other non-array pattern matches nothing (objects are
 * tuples). The result is cached by the identity of `pattern` and `keyPos`.
 *
 * @example
 * ```ts
 * const p = compilePattern(['user', $1, _, { role: $2 }], 0);
 * p.match(['user', 7, 'x', { role: 'admin', age: 3 }]); // [7, 'admin']
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `keyPos` is not a
 *   non-negative integer.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` when the pattern holds
 *   something that is neither a term nor `_`/`$(n)` (`$_`, `$$`,
 *   `undefined`, a class instance…), naming where.
 */
export function compilePattern(pattern: Pattern, keyPos: number): CompiledPattern {
  checkKeyPos(keyPos);
  const hit = cached(patternCache, pattern, keyPos);
  if (hit !== undefined) return hit;
  const plan: PatternPlan = planPattern(pattern, 'pattern');
  // Two closure trees: `match` binds every variable, `test` only those it
  // must compare (the ones that occur twice), so `test` writes almost nothing.
  const binding = buildMatcher(pattern, plan, () => true);
  const testing = buildMatcher(pattern, plan, () => false);
  const n = plan.vars.length;
  const scratch: Term[] = new Array(n).fill(null);
  const k = exactKeyOf(pattern, keyPos);
  const compiled: CompiledPattern = Object.freeze({
    match:
      binding === null
        ? () => []
        : (obj: Tuple) => {
            const b: Term[] = new Array(n);
            return binding(obj, b) ? b : undefined;
          },
    test: testing === null ? () => true : (obj: Tuple) => testing(obj, scratch),
    keyBound: k !== undefined,
    key: k?.key,
  });
  return remember(patternCache, pattern, keyPos, compiled);
}

/**
 * Compiles a match spec for tuples keyed at `keyPos`. The result is cached
 * by the identity of `spec` and `keyPos`.
 *
 * Guards and bodies never throw at run time: an operation on the wrong
 * types, a missing element or a division by zero makes its guard false, or
 * its body fail, and the clause does not match (the next clause is tried).
 *
 * @example
 * ```ts
 * const s = compileMatchSpec([[[$1, $2], [['>', $2, 10]], [['tuple', $2, $1]]]], 0);
 * s.run(['a', 42]); // [42, 'a']
 * s.run(['b', 3]);  // NO_MATCH
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `keyPos` is not a
 *   non-negative integer.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` when malformed: not an
 *   array of `[head, guards, body]` clauses, guards or body not arrays, an
 *   empty body, an unknown operation or a wrong number of arguments, a
 *   variable used in a guard or body but not bound in the head, `_` outside
 *   a head, `$_`/`$$` inside a head, or a value that is not a term. The
 *   message and `details.path` say where (`spec[0].guards[1][2]`).
 */
export function compileMatchSpec(spec: MatchSpec, keyPos: number): CompiledMatchSpec {
  checkKeyPos(keyPos);
  const hit = cached(specCache, spec, keyPos);
  if (hit !== undefined) return hit;
  const program = compileSpec(spec, keyPos);
  const inner = program.run;
  const compiled: CompiledMatchSpec = Object.freeze({
    run: (obj: Tuple): Term | typeof NO_MATCH => {
      const r = inner(obj);
      return typeof r === 'symbol' ? NO_MATCH : r;
    },
    keyBound: program.key !== undefined,
    key: program.key?.key,
  });
  return remember(specCache, spec, keyPos, compiled);
}

/**
 * Checks that `value` is a well-formed match spec (without caching a
 * compiled form).
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` as {@link compileMatchSpec}.
 */
export function assertMatchSpec(value: unknown): asserts value is MatchSpec {
  compileSpec(value, 0);
}

const fromPatternAll = new WeakMap<object, MatchSpec>();
const fromPatternWhole = new WeakMap<object, MatchSpec>();

/**
 * The one-clause spec `[[pattern, [], [body]]]`. With the default body `$$`
 * it gives what ETS `match/2` returns (the bindings, in variable order);
 * with `$_`, what `match_object/2` returns (the object).
 *
 * With a body of `$$` or `$_` and an object pattern, the same pattern object
 * returns the same spec object, so the compile cache of
 * {@link compileMatchSpec} applies.
 *
 * @defaultValue body `$$`
 */
export function specFromPattern(pattern: Pattern, body: MatchExpr = $$): MatchSpec {
  const cache = body === $$ ? fromPatternAll : body === $_ ? fromPatternWhole : undefined;
  if (cache === undefined || typeof pattern !== 'object' || pattern === null) return [[pattern, [], [body]]];
  let spec = cache.get(pattern);
  if (spec === undefined) cache.set(pattern, (spec = [[pattern, [], [body]]]));
  return spec;
}
