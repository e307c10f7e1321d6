/**
 * Guard and body expressions of match specs: validation, compilation to
 * closures, constant folding, and the table of operations. Internal; the
 * syntax is documented in `docs/guides/match-specs.md`.
 *
 * An expression evaluates to a term or to {@link FAIL}. `FAIL` stands for
 * what Erlang would raise (`badarg`, `badarith`, …): it propagates through
 * every operation, makes a guard false and a clause not match. Using a
 * sentinel rather than an exception keeps a failing guard as cheap as a
 * passing one.
 */

import {
  badSpec,
  describeValue,
  isBytes,
  isPlainObject,
  keyPath,
  MAX_DEPTH,
  setOwn,
} from './match-internal.js';
import { isValidVarIndex, markerKind } from './match-markers.js';
import type { Term, TermObject, Tuple } from './terms.js';
import { assertTerm, compareTerms } from './terms.js';

/** The result of an expression that failed (a type error, a missing element…). */
export const FAIL: unique symbol = Symbol('supercache.match.fail');

/** What an expression evaluates to. */
export type Value = Term | typeof FAIL;

/** A compiled expression: reads the bindings `b` (by slot) and the object `o`. */
export type Ev = (b: Term[], o: Tuple) => Value;

/** What an expression may refer to, and what it did refer to. */
export interface ExprScope {
  /** Variables bound by the head: number → slot. */
  readonly slotOf: ReadonlyMap<number, number>;
  /** Variables the expressions read (filled in by compilation). */
  readonly used: Set<number>;
  /** Set when an expression reads `$$` (filled in by compilation). */
  usesAll: boolean;
}

/** A compiled expression and, when it reads nothing, its folded value. */
export interface CompiledExpr {
  readonly ev: Ev;
  /** True when the value does not depend on the object or bindings. */
  readonly constant: boolean;
  /** The value, when `constant`. */
  readonly value: Value;
}

interface OpDef {
  readonly min: number;
  readonly max: number;
  readonly make: (args: readonly Ev[]) => Ev;
}

const NO_BINDINGS: Term[] = [];
const NO_OBJECT: Tuple = [];

function constant(value: Value): CompiledExpr {
  return { ev: () => value, constant: true, value };
}

function dynamic(ev: Ev): CompiledExpr {
  return { ev, constant: false, value: FAIL };
}

function fold(ev: Ev): Value {
  try {
    return ev(NO_BINDINGS, NO_OBJECT);
  } catch {
    return FAIL;
  }
}

// ---------------------------------------------------------------------------
// Operation builders

function unaryEv(f: (x: Term) => Value, args: readonly Ev[]): Ev {
  const a0 = args[0]!;
  return (b, o) => {
    const x = a0(b, o);
    return x === FAIL ? FAIL : f(x);
  };
}

function binaryEv(f: (x: Term, y: Term) => Value, args: readonly Ev[]): Ev {
  const a0 = args[0]!;
  const a1 = args[1]!;
  return (b, o) => {
    const x = a0(b, o);
    if (x === FAIL) return FAIL;
    const y = a1(b, o);
    return y === FAIL ? FAIL : f(x, y);
  };
}

function unary(f: (x: Term) => Value): OpDef {
  return { min: 1, max: 1, make: (args) => unaryEv(f, args) };
}

function binary(f: (x: Term, y: Term) => Value): OpDef {
  return { min: 2, max: 2, make: (args) => binaryEv(f, args) };
}

/** Both numbers or both bigints; any other mix fails. */
function numeric(
  fnum: (x: number, y: number) => Value,
  fbig: (x: bigint, y: bigint) => Value,
): (x: Term, y: Term) => Value {
  return (x, y) => {
    if (typeof x === 'number') return typeof y === 'number' ? fnum(x, y) : FAIL;
    if (typeof x === 'bigint') return typeof y === 'bigint' ? fbig(x, y) : FAIL;
    return FAIL;
  };
}

function isList(x: Term): x is Tuple {
  return Array.isArray(x);
}

function isObjectTerm(x: Term): x is TermObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function isInt(x: number): boolean {
  return Number.isInteger(x);
}

function compare(pred: (c: number) => boolean): OpDef {
  return binary((x, y) => pred(compareTerms(x, y)));
}

function boolVariadic(mode: 'and' | 'or' | 'andalso' | 'orelse'): OpDef {
  const make = (args: readonly Ev[]): Ev => {
    const n = args.length;
    switch (mode) {
      case 'and':
      case 'or': {
        // Strict: every argument is evaluated and must be a boolean.
        const unit = mode === 'and';
        return (b, o) => {
          let r = unit;
          for (let i = 0; i < n; i++) {
            const v = args[i]!(b, o);
            if (v !== true && v !== false) return FAIL;
            if (v !== unit) r = !unit;
          }
          return r;
        };
      }
      default: {
        // Short-circuit: stops at the first argument that decides.
        const stop = mode === 'orelse';
        return (b, o) => {
          for (let i = 0; i < n; i++) {
            const v = args[i]!(b, o);
            if (v === stop) return stop;
            if (v !== !stop) return FAIL;
          }
          return !stop;
        };
      }
    }
  };
  return { min: 1, max: Number.POSITIVE_INFINITY, make };
}

function minMax(sign: 1 | -1): OpDef {
  return {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    make: (args) => (b, o) => {
      let best: Value = FAIL;
      for (const a of args) {
        const v = a(b, o);
        if (typeof v !== 'number' && typeof v !== 'bigint') return FAIL;
        if (best === FAIL) best = v;
        else if (typeof v !== typeof best) return FAIL;
        else if (compareTerms(v, best) * sign < 0) best = v;
      }
      return best;
    },
  };
}

function stringTest(f: (s: string, t: string) => boolean): OpDef {
  return binary((s, t) => (typeof s === 'string' && typeof t === 'string' ? f(s, t) : FAIL));
}

const add = numeric(
  (x, y) => x + y,
  (x, y) => x + y,
);
const sub = numeric(
  (x, y) => x - y,
  (x, y) => x - y,
);

const plus: OpDef = {
  min: 1,
  max: 2,
  make: (args) =>
    args.length === 1
      ? unaryEv((x) => (typeof x === 'number' || typeof x === 'bigint' ? x : FAIL), args)
      : binaryEv(add, args),
};

const minus: OpDef = {
  min: 1,
  max: 2,
  make: (args) =>
    args.length === 1
      ? unaryEv((x) => (typeof x === 'number' ? 0 - x : typeof x === 'bigint' ? -x : FAIL), args)
      : binaryEv(sub, args),
};

const eq = compare((c) => c === 0);
const ne = compare((c) => c !== 0);
const le = compare((c) => c <= 0);
const ge = compare((c) => c >= 0);
const size = unary((x) => {
  if (typeof x === 'string' || isList(x)) return x.length;
  if (x instanceof Uint8Array) return x.byteLength;
  if (isObjectTerm(x)) return Object.keys(x).length;
  return FAIL;
});
const isNumber = unary((x) => typeof x === 'number');
const isList1 = unary((x) => Array.isArray(x));
const isObject1 = unary((x) => isObjectTerm(x));

const variadicTuple: OpDef = {
  min: 0,
  max: Number.POSITIVE_INFINITY,
  make: (args) => {
    const n = args.length;
    return (b, o) => {
      const out: Term[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = args[i]!(b, o);
        if (v === FAIL) return FAIL;
        out[i] = v;
      }
      return out;
    };
  },
};

// A Map, not an object literal: 'constructor' or '__proto__' must not resolve.
const OPS: ReadonlyMap<string, OpDef> = new Map<string, OpDef>([
  // Comparisons: exact term equality and the total order of compareTerms.
  ['==', eq],
  ['=:=', eq],
  ['===', eq],
  ['/=', ne],
  ['=/=', ne],
  ['!=', ne],
  ['!==', ne],
  ['<', compare((c) => c < 0)],
  ['=<', le],
  ['<=', le],
  ['>', compare((c) => c > 0)],
  ['>=', ge],
  // Booleans.
  ['and', boolVariadic('and')],
  ['or', boolVariadic('or')],
  ['andalso', boolVariadic('andalso')],
  ['orelse', boolVariadic('orelse')],
  ['not', unary((x) => (x === true ? false : x === false ? true : FAIL))],
  ['xor', binary((x, y) => (typeof x === 'boolean' && typeof y === 'boolean' ? x !== y : FAIL))],
  // Arithmetic on two numbers or two bigints.
  ['+', plus],
  ['-', minus],
  [
    '*',
    binary(
      numeric(
        (x, y) => x * y,
        (x, y) => x * y,
      ),
    ),
  ],
  [
    '/',
    binary(
      numeric(
        (x, y) => (y === 0 ? FAIL : x / y),
        () => FAIL,
      ),
    ),
  ],
  [
    'div',
    binary(
      numeric(
        // x - x % y is an exact multiple of y, so the division is exact.
        (x, y) => (!isInt(x) || !isInt(y) || y === 0 ? FAIL : (x - (x % y)) / y + 0),
        (x, y) => (y === 0n ? FAIL : x / y),
      ),
    ),
  ],
  [
    'rem',
    binary(
      numeric(
        (x, y) => (!isInt(x) || !isInt(y) || y === 0 ? FAIL : (x % y) + 0),
        (x, y) => (y === 0n ? FAIL : x % y),
      ),
    ),
  ],
  [
    'abs',
    unary((x) => (typeof x === 'number' ? Math.abs(x) : typeof x === 'bigint' ? (x < 0n ? -x : x) : FAIL)),
  ],
  ['min', minMax(1)],
  ['max', minMax(-1)],
  // Type tests: never fail, always a boolean.
  ['is_integer', unary((x) => typeof x === 'number' && isInt(x))],
  ['is_float', isNumber],
  ['is_number', isNumber],
  ['is_bigint', unary((x) => typeof x === 'bigint')],
  ['is_string', unary((x) => typeof x === 'string')],
  ['is_binary', unary((x) => x instanceof Uint8Array)],
  ['is_boolean', unary((x) => typeof x === 'boolean')],
  ['is_null', unary((x) => x === null)],
  ['is_list', isList1],
  ['is_array', isList1],
  ['is_tuple', isList1],
  ['is_map', isObject1],
  ['is_object', isObject1],
  // Accessors.
  [
    'element',
    binary((n, t) =>
      typeof n === 'number' && isInt(n) && isList(t) && n >= 1 && n <= t.length ? (t[n - 1] as Term) : FAIL,
    ),
  ],
  [
    'at',
    binary((i, t) => {
      if (typeof i !== 'number' || !isInt(i) || !isList(t)) return FAIL;
      const j = i < 0 ? t.length + i : i;
      return j >= 0 && j < t.length ? (t[j] as Term) : FAIL;
    }),
  ],
  ['size', size],
  ['length', size],
  [
    'map_get',
    binary((k, m) =>
      typeof k === 'string' && isObjectTerm(m) && Object.hasOwn(m, k) ? (m[k] as Term) : FAIL,
    ),
  ],
  ['is_map_key', binary((k, m) => (isObjectTerm(m) ? typeof k === 'string' && Object.hasOwn(m, k) : FAIL))],
  ['hd', unary((x) => (isList(x) && x.length > 0 ? (x[0] as Term) : FAIL))],
  ['tl', unary((x) => (isList(x) && x.length > 0 ? x.slice(1) : FAIL))],
  // Strings.
  ['starts_with', stringTest((s, t) => s.startsWith(t))],
  ['ends_with', stringTest((s, t) => s.endsWith(t))],
  ['contains', stringTest((s, t) => s.includes(t))],
  // Construction.
  ['tuple', variadicTuple],
]);

/** Every operation name a guard or body call may use, sorted. */
export const MATCH_OPS: readonly string[] = Object.freeze([...OPS.keys(), 'const'].sort());

function arityText(def: OpDef): string {
  const s = (n: number): string => `${n} argument${n === 1 ? '' : 's'}`;
  if (def.min === def.max) return s(def.min);
  if (def.max === Number.POSITIVE_INFINITY) return `at least ${s(def.min)}`;
  return `${def.min} to ${s(def.max)}`;
}

// ---------------------------------------------------------------------------
// Compilation

/**
 * Validates and compiles one guard or body expression.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` naming the bad part.
 */
export function compileExpr(e: unknown, path: string, depth: number, scope: ExprScope): CompiledExpr {
  switch (typeof e) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return constant(e);
    case 'object':
      break;
    default:
      throw badSpec(path, `${describeValue(e)} is not a term, a marker or a call`);
  }
  if (e === null) return constant(null);
  if (depth > MAX_DEPTH) throw badSpec(path, `nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
  switch (markerKind(e)) {
    case 'wildcard':
      throw badSpec(path, "'_' is only valid in a pattern (the head); a guard or body must use a variable");
    case 'var': {
      const n = (e as { index?: unknown }).index;
      if (!isValidVarIndex(n)) throw badSpec(path, `invalid match variable number ${String(n)}`);
      const slot = scope.slotOf.get(n);
      if (slot === undefined) throw badSpec(path, `variable $${n} is not bound in the head`);
      scope.used.add(n);
      return dynamic((b) => b[slot] as Term);
    }
    case 'whole':
      return dynamic((_b, o) => o);
    case 'all':
      scope.usesAll = true;
      // The clause's scratch array has exactly one slot per head variable.
      return dynamic((b) => b.slice());
    default:
      break;
  }
  if (e instanceof Uint8Array) {
    if (!isBytes(e)) throw badSpec(path, `${describeValue(e)} is not a term`);
    return constant(e);
  }
  if (Array.isArray(e)) return compileCall(e, path, depth, scope);
  if (!isPlainObject(e)) throw badSpec(path, `${describeValue(e)} is not a term (only plain objects)`);
  if (Object.getOwnPropertySymbols(e).length > 0)
    throw badSpec(path, 'an object with symbol keys is not a term');
  return compileObject(e as Record<string, unknown>, path, depth, scope);
}

function compileCall(e: readonly unknown[], path: string, depth: number, scope: ExprScope): CompiledExpr {
  if (e.length === 0) {
    throw badSpec(
      path,
      "an empty array is not an expression; write ['const', []] (or ['tuple']) for an empty array",
    );
  }
  for (let i = 0; i < e.length; i++) if (!(i in e)) throw badSpec(`${path}[${i}]`, 'a sparse array hole');
  const op = e[0];
  if (typeof op !== 'string') {
    throw badSpec(
      `${path}[0]`,
      `an array in a guard or body is a call [op, ...args] and must start with an operation name, got ${describeValue(op)}; write ['const', [...]] for a literal array`,
    );
  }
  if (op === 'const') {
    if (e.length !== 2) throw badSpec(path, `'const' takes 1 argument, got ${e.length - 1}`);
    try {
      return constant(assertTerm(e[1], `${path}[1]`));
    } catch (err) {
      throw badSpec(
        `${path}[1]`,
        `the argument of 'const' must be a plain term, markers are not evaluated inside it (${(err as Error).message})`,
      );
    }
  }
  const def = OPS.get(op);
  if (def === undefined) {
    throw badSpec(
      `${path}[0]`,
      `unknown operation ${JSON.stringify(op)}; every array in a guard or body is a call [op, ...args] (write ['const', [...]] for a literal array)`,
    );
  }
  const argc = e.length - 1;
  if (argc < def.min || argc > def.max) throw badSpec(path, `'${op}' takes ${arityText(def)}, got ${argc}`);
  const args: CompiledExpr[] = [];
  for (let i = 1; i < e.length; i++) args.push(compileExpr(e[i], `${path}[${i}]`, depth + 1, scope));
  const ev = def.make(args.map((a) => a.ev));
  return args.every((a) => a.constant) ? constant(fold(ev)) : dynamic(ev);
}

function compileObject(
  e: Record<string, unknown>,
  path: string,
  depth: number,
  scope: ExprScope,
): CompiledExpr {
  const keys = Object.keys(e);
  const parts = keys.map((k) => compileExpr(e[k], keyPath(path, k), depth + 1, scope));
  const evs = parts.map((p) => p.ev);
  const n = keys.length;
  const ev: Ev = (b, o) => {
    const out: Record<string, Term> = {};
    for (let i = 0; i < n; i++) {
      const v = evs[i]!(b, o);
      if (v === FAIL) return FAIL;
      setOwn(out, keys[i]!, v);
    }
    return out;
  };
  return parts.every((p) => p.constant) ? constant(fold(ev)) : dynamic(ev);
}

/** The operations whose truth means "both sides are the same term". */
export const EQUALITY_OPS: ReadonlySet<string> = new Set(['==', '=:=', '===']);
