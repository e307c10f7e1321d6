/**
 * The markers of match patterns and match specs: `_`, `$(n)`, `$_`, `$$`.
 *
 * Markers are instances of private-looking classes, never magic strings, so
 * any string a user stores (including `'_'` or `'$1'`) stays plain data.
 * Detection goes through a global symbol brand on the class prototypes, so a
 * marker made by another copy of this package is still recognised; a plain
 * object such as `{ kind: 'var', index: 1 }` (what `structuredClone` or JSON
 * makes of a marker) is *not* a marker. Use `encodeMarkers` to ship one.
 */

import { SuperCacheError } from './errors.js';

// On the prototype, not on instances: a plain object (JSON, structuredClone)
// can never carry it, a duplicate install of the package shares it.
const MARKER = Symbol.for('supercache.match.marker');

/** The four kinds of marker. */
export type MarkerKind = 'wildcard' | 'var' | 'whole' | 'all';

/**
 * Largest variable number accepted by {@link $} (the same bound as ETS's
 * `'$100000000'`).
 */
export const MAX_VAR_INDEX = 100_000_000;

/** True when `n` is a valid variable number: an integer in `1..MAX_VAR_INDEX`. */
export function isValidVarIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_VAR_INDEX;
}

/** The wildcard marker class; use the exported `_` instance. */
export class Wildcard {
  readonly kind = 'wildcard' as const;
}

/** A numbered match variable (`$1`, `$2`, …); create with {@link $}. */
export class MatchVar {
  readonly kind = 'var' as const;
  /**
   * Prefer {@link $}, which returns one shared instance per number.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` unless `index` is an integer in
   *   `1..MAX_VAR_INDEX`.
   */
  constructor(readonly index: number) {
    if (!isValidVarIndex(index)) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `a match variable number must be an integer from 1 to ${MAX_VAR_INDEX}, got ${String(index)}`,
        { details: { index: String(index) } },
      );
    }
  }
}

/** Body marker for the whole matched object (ETS `'$_'`). */
export class WholeObject {
  readonly kind = 'whole' as const;
}

/** Body marker for the list of all bound variables (ETS `'$$'`). */
export class AllBindings {
  readonly kind = 'all' as const;
}

Object.defineProperty(Wildcard.prototype, MARKER, { value: 'wildcard' });
Object.defineProperty(MatchVar.prototype, MARKER, { value: 'var' });
Object.defineProperty(WholeObject.prototype, MARKER, { value: 'whole' });
Object.defineProperty(AllBindings.prototype, MARKER, { value: 'all' });

/** Matches any term without binding it. */
export const _: Wildcard = new Wildcard();
/** The whole matched object, in a match-spec guard or body. */
export const $_: WholeObject = new WholeObject();
/** All bound variables in order (`[$1, $2, …]`), in a match-spec guard or body. */
export const $$: AllBindings = new AllBindings();

// Small numbers (the ones people write) are held for ever; larger ones, which
// only come from generated or decoded specs, are held weakly so a peer that
// sends many distinct numbers cannot grow this cache without bound. Identity
// is still stable for as long as anyone can observe it.
const SMALL_VARS = 256;
const smallVars: (MatchVar | undefined)[] = [];
const largeVars = new Map<number, WeakRef<MatchVar>>();
const largeVarsGc = new FinalizationRegistry<number>((n) => {
  if (largeVars.get(n)?.deref() === undefined) largeVars.delete(n);
});

/**
 * The numbered variable `$n` (n ≥ 1). Same n, same instance:
 * `$(1) === $(1)`.
 *
 * @throws SuperCacheError `SC_ERR_BAD_ARG` unless `n` is an integer in
 *   `1..MAX_VAR_INDEX` (`$(0)`, `$(-1)`, `$(1.5)` all throw).
 */
export function $(n: number): MatchVar {
  if (n < SMALL_VARS && n >= 1 && Number.isInteger(n)) {
    let v = smallVars[n];
    if (v === undefined) smallVars[n] = v = new MatchVar(n);
    return v;
  }
  const cached = largeVars.get(n)?.deref();
  if (cached !== undefined) return cached;
  const v = new MatchVar(n); // validates
  largeVars.set(n, new WeakRef(v));
  largeVarsGc.register(v, n);
  return v;
}

/** `$(1)`. */
export const $1: MatchVar = $(1);
/** `$(2)`. */
export const $2: MatchVar = $(2);
/** `$(3)`. */
export const $3: MatchVar = $(3);
/** `$(4)`. */
export const $4: MatchVar = $(4);
/** `$(5)`. */
export const $5: MatchVar = $(5);
/** `$(6)`. */
export const $6: MatchVar = $(6);
/** `$(7)`. */
export const $7: MatchVar = $(7);
/** `$(8)`. */
export const $8: MatchVar = $(8);
/** `$(9)`. */
export const $9: MatchVar = $(9);

/** The kind of marker `value` is, or `undefined` when it is not a marker. */
export function markerKind(value: unknown): MarkerKind | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const k = (value as { [MARKER]?: unknown })[MARKER];
  return k === 'wildcard' || k === 'var' || k === 'whole' || k === 'all' ? k : undefined;
}

/** True for any of the four markers. */
export function isMarker(value: unknown): value is Wildcard | MatchVar | WholeObject | AllBindings {
  return markerKind(value) !== undefined;
}

/** True for the wildcard `_`. */
export function isWildcard(value: unknown): value is Wildcard {
  return markerKind(value) === 'wildcard';
}

/** True for a numbered variable made by {@link $} (or `new MatchVar`). */
export function isMatchVar(value: unknown): value is MatchVar {
  return markerKind(value) === 'var';
}

/** True for the whole-object marker `$_`. */
export function isWholeObject(value: unknown): value is WholeObject {
  return markerKind(value) === 'whole';
}

/** True for the all-bindings marker `$$`. */
export function isAllBindings(value: unknown): value is AllBindings {
  return markerKind(value) === 'all';
}
