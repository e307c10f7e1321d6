/**
 * Pattern compilation: a pattern tree becomes a tree of closures once, so
 * matching an object walks no pattern data. Internal; the public entry
 * points are in `match.ts`.
 */

import { badSpec, describeValue, isBytes, isPlainObject, keyPath, MAX_DEPTH } from './match-internal.js';
import { isValidVarIndex, markerKind } from './match-markers.js';
import type { Term, TermObject, Tuple } from './terms.js';
import { termsEqual } from './terms.js';

/**
 * A compiled (sub)pattern: true when `x` matches, writing first occurrences
 * of variables into `b` (indexed by slot) and comparing later occurrences.
 */
export type Matcher = (x: Term, b: Term[]) => boolean;

/** What the analysis of a pattern learns. */
export interface PatternPlan {
  /** Distinct variable numbers, ascending; slot `i` holds `vars[i]`. */
  readonly vars: readonly number[];
  /** Variable number → slot. */
  readonly slotOf: ReadonlyMap<number, number>;
  /** Variable number → number of occurrences in the pattern. */
  readonly counts: ReadonlyMap<number, number>;
}

/**
 * Validates a pattern and collects its variables.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` naming the bad part.
 */
export function planPattern(pattern: unknown, path: string): PatternPlan {
  const counts = new Map<number, number>();
  walk(pattern, path, 0, counts);
  const vars = [...counts.keys()].sort((a, b) => a - b);
  const slotOf = new Map<number, number>();
  for (let i = 0; i < vars.length; i++) slotOf.set(vars[i]!, i);
  return { vars, slotOf, counts };
}

function walk(p: unknown, path: string, depth: number, counts: Map<number, number>): void {
  switch (typeof p) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return;
    case 'object':
      break;
    default:
      throw badSpec(path, `${describeValue(p)} is not a term or a marker`);
  }
  if (p === null) return;
  if (depth > MAX_DEPTH) throw badSpec(path, `nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
  switch (markerKind(p)) {
    case 'wildcard':
      return;
    case 'var': {
      const n = (p as { index?: unknown }).index;
      if (!isValidVarIndex(n)) throw badSpec(path, `invalid match variable number ${String(n)}`);
      counts.set(n, (counts.get(n) ?? 0) + 1);
      return;
    }
    case 'whole':
      throw badSpec(path, "'$_' (the whole object) is only valid in a guard or body, not in a pattern");
    case 'all':
      throw badSpec(path, "'$$' (all bindings) is only valid in a guard or body, not in a pattern");
    default:
      break;
  }
  if (p instanceof Uint8Array) {
    if (!isBytes(p)) throw badSpec(path, `${describeValue(p)} is not a term`);
    return;
  }
  if (Array.isArray(p)) {
    for (let i = 0; i < p.length; i++) {
      if (!(i in p)) throw badSpec(`${path}[${i}]`, 'a sparse array hole is not a term');
      walk(p[i], `${path}[${i}]`, depth + 1, counts);
    }
    return;
  }
  if (!isPlainObject(p)) throw badSpec(path, `${describeValue(p)} is not a term (only plain objects)`);
  if (Object.getOwnPropertySymbols(p).length > 0)
    throw badSpec(path, 'an object with symbol keys is not a term');
  for (const k of Object.keys(p))
    walk((p as Record<string, unknown>)[k], keyPath(path, k), depth + 1, counts);
}

/**
 * True when `p` (already validated) is a term that matches exactly the terms
 * equal to it: no markers and no objects (an object pattern also matches
 * objects with more keys, so it is not exact).
 */
export function isExact(p: unknown): p is Term {
  switch (typeof p) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return true;
    default:
      break;
  }
  if (p === null || p instanceof Uint8Array) return true;
  if (Array.isArray(p)) {
    for (const x of p) if (!isExact(x)) return false;
    return true;
  }
  return false;
}

/**
 * The exactly-bound key of a head/pattern, when the pattern is an array
 * whose element at `keyPos` is exact (see {@link isExact}).
 */
export function exactKeyOf(pattern: unknown, keyPos: number): { key: Term } | undefined {
  if (!Array.isArray(pattern) || markerKind(pattern) !== undefined || keyPos >= pattern.length)
    return undefined;
  const k: unknown = pattern[keyPos];
  return isExact(k) ? { key: k } : undefined;
}

interface BuildState {
  readonly slotOf: ReadonlyMap<number, number>;
  /** Whether the first occurrence of variable `n` must store its value. */
  readonly bind: (n: number) => boolean;
  /** Variables already met, in execution order. */
  readonly seen: Set<number>;
}

interface Built {
  /** `null` when the subpattern accepts anything and binds nothing. */
  readonly fn: Matcher | null;
  /** True when it neither binds nor reads a variable (so it may run first). */
  readonly pure: boolean;
}

const ANY: Built = { fn: null, pure: true };

/**
 * Compiles a validated pattern. `bind(n)` says which variables the caller
 * reads; a variable that occurs more than once is always bound so later
 * occurrences can be compared. Returns `null` for a pattern that accepts
 * every term.
 */
export function buildMatcher(
  pattern: unknown,
  plan: PatternPlan,
  bind: (n: number) => boolean,
): Matcher | null {
  const st: BuildState = {
    slotOf: plan.slotOf,
    bind: (n) => (plan.counts.get(n) ?? 0) > 1 || bind(n),
    seen: new Set(),
  };
  return build(pattern, st).fn;
}

function build(p: unknown, st: BuildState): Built {
  if (typeof p !== 'object' || p === null) return { fn: literal(p as Term), pure: true };
  switch (markerKind(p)) {
    case 'wildcard':
      return ANY;
    case 'var': {
      const n = (p as { index: number }).index;
      const slot = st.slotOf.get(n) as number;
      if (st.seen.has(n)) return { fn: (x, b) => termsEqual(b[slot] as Term, x), pure: false };
      st.seen.add(n);
      if (!st.bind(n)) return ANY;
      return {
        fn: (x, b) => {
          b[slot] = x;
          return true;
        },
        pure: false,
      };
    }
    default:
      break;
  }
  if (isExact(p)) return { fn: literal(p), pure: true };
  if (Array.isArray(p)) return buildArray(p, st);
  return buildObject(p as Record<string, unknown>, st);
}

function literal(p: Term): Matcher {
  if (typeof p === 'number' && Number.isNaN(p)) return (x) => typeof x === 'number' && Number.isNaN(x);
  // `===` is term equality for every other primitive (-0 === 0, 1 !== 1n).
  if (typeof p !== 'object' || p === null) return (x) => x === p;
  return (x) => termsEqual(p, x);
}

function buildArray(p: readonly unknown[], st: BuildState): Built {
  // Checks that bind or read nothing go first: they are cheap and reject
  // early, and moving them cannot change which occurrence binds a variable.
  const first: [number, Matcher][] = [];
  const rest: [number, Matcher][] = [];
  for (let i = 0; i < p.length; i++) {
    const c = build(p[i], st);
    if (c.fn !== null) (c.pure ? first : rest).push([i, c.fn]);
  }
  const all = first.concat(rest);
  const idx = all.map((e) => e[0]);
  const fns = all.map((e) => e[1]);
  return { fn: arrayMatcher(p.length, idx, fns), pure: rest.length === 0 };
}

function arrayMatcher(n: number, idx: number[], fns: Matcher[]): Matcher {
  const m = fns.length;
  switch (m) {
    case 0:
      return (x) => Array.isArray(x) && x.length === n;
    case 1: {
      const i0 = idx[0]!;
      const f0 = fns[0]!;
      return (x, b) => Array.isArray(x) && x.length === n && f0((x as Tuple)[i0] as Term, b);
    }
    case 2: {
      const i0 = idx[0]!;
      const f0 = fns[0]!;
      const i1 = idx[1]!;
      const f1 = fns[1]!;
      return (x, b) =>
        Array.isArray(x) &&
        x.length === n &&
        f0((x as Tuple)[i0] as Term, b) &&
        f1((x as Tuple)[i1] as Term, b);
    }
    default:
      return (x, b) => {
        if (!Array.isArray(x) || x.length !== n) return false;
        const a = x as Tuple;
        for (let k = 0; k < m; k++) if (!fns[k]!(a[idx[k]!] as Term, b)) return false;
        return true;
      };
  }
}

function isObjectTerm(x: Term): x is TermObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function buildObject(p: Record<string, unknown>, st: BuildState): Built {
  const first: [string, Matcher | null][] = [];
  const rest: [string, Matcher | null][] = [];
  for (const k of Object.keys(p)) {
    const c = build(p[k], st);
    (c.pure ? first : rest).push([k, c.fn]);
  }
  const all = first.concat(rest);
  const keys = all.map((e) => e[0]);
  const fns = all.map((e) => e[1]);
  const m = keys.length;
  const fn: Matcher = (x, b) => {
    if (!isObjectTerm(x)) return false;
    for (let k = 0; k < m; k++) {
      const key = keys[k]!;
      // Own keys only: 'toString' must not match through the prototype.
      if (!Object.hasOwn(x, key)) return false;
      const f = fns[k] as Matcher | null;
      if (f !== null && !f(x[key] as Term, b)) return false;
    }
    return true;
  };
  return { fn, pure: rest.length === 0 };
}
