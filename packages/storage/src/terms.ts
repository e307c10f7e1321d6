/**
 * The term model: what a table may store, how terms compare, and how a term
 * becomes a `Map` key.
 *
 * A term is `null | boolean | number | bigint | string | Uint8Array |
 * Term[] | { [k: string]: Term }`. A record (tuple) is a readonly array of
 * terms. Anything else is rejected with `SC_ERR_INVALID_TERM`.
 *
 * ## Total order
 *
 * `null < boolean < number|bigint < string < Uint8Array < array < object`.
 *
 * - booleans: `false < true`;
 * - numbers and bigints compare by numeric value; `1` and `1n` are
 *   *different* terms (distinct keys in every table type), ordered
 *   `1 < 1n` when their values are equal;
 * - `-0` equals `0` (same key, like `Map`'s SameValueZero);
 * - `NaN` equals itself and sorts after `+Infinity`;
 * - strings compare by UTF-16 code units (JavaScript's `<`);
 * - byte arrays compare bytewise, a prefix first;
 * - arrays compare element by element, a prefix first;
 * - objects compare by their sorted key lists first (as arrays of strings),
 *   then by their values in sorted-key order.
 *
 * Two terms are equal exactly when {@link compareTerms} returns 0, and then
 * they have the same {@link keyOf} and the same {@link canonicalString}.
 */

import { SuperCacheError } from './errors.js';

/** A plain object term. Keys are strings; values are terms. */
export interface TermObject {
  readonly [key: string]: Term;
}

/** Any value a table can store. */
export type Term = null | boolean | number | bigint | string | Uint8Array | readonly Term[] | TermObject;

/** A record: a readonly array of terms, addressed by 0-based positions. */
export type Tuple = readonly Term[];

/**
 * What {@link keyOf} returns: a primitive that `Map` compares by value.
 * Composite terms become strings that can never collide with a user string.
 */
export type MapKey = null | boolean | number | bigint | string;

// A lone high surrogate starts every encoded composite key. A user string that
// happens to start with it is escaped, so the mapping stays injective while an
// ordinary string key is used as-is (the common, fast case).
const ESC = '\uD800';
const ESC_CODE = 0xd800;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function invalid(path: string, what: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_INVALID_TERM', `invalid term at ${path}: ${what}`, {
    details: { path },
  });
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined is not a term';
  if (typeof value === 'function') return 'a function is not a term';
  if (typeof value === 'symbol') return 'a symbol is not a term';
  if (value instanceof Map) return 'a Map is not a term (use a plain object)';
  if (value instanceof Date) return 'a Date is not a term (store its getTime() or ISO string)';
  if (typeof value === 'object' && value !== null) {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    return `an instance of ${ctor} is not a term (only plain objects, arrays and Uint8Array)`;
  }
  return `${typeof value} is not a term`;
}

function validateAt(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return;
    case 'object': {
      if (value === null) return;
      if (depth > 512) throw invalid(path, 'nested deeper than 512 levels');
      if (value instanceof Uint8Array) {
        if (value.constructor !== Uint8Array && !isBufferLike(value)) {
          throw invalid(path, describe(value));
        }
        return;
      }
      if (seen.has(value)) throw invalid(path, 'a cyclic structure is not a term');
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw invalid(`${path}[${i}]`, 'a sparse array hole is not a term');
          validateAt(value[i], `${path}[${i}]`, depth + 1, seen);
        }
      } else if (isPlainObject(value)) {
        if (Object.getOwnPropertySymbols(value).length > 0) {
          throw invalid(path, 'an object with symbol keys is not a term');
        }
        for (const k of Object.keys(value)) {
          validateAt((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, seen);
        }
      } else {
        throw invalid(path, describe(value));
      }
      seen.delete(value);
      return;
    }
    default:
      throw invalid(path, describe(value));
  }
}

/**
 * True when `value` is a term: the common case of {@link validateAt}, with
 * no path strings and no ancestor set. A cycle shows here as nesting past
 * the depth limit; every false answer is re-checked by `validateAt`, which
 * names the problem and its path.
 */
function quickValid(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return true;
    case 'object': {
      if (value === null) return true;
      if (depth > 512) return false;
      if (value instanceof Uint8Array) return value.constructor === Uint8Array || isBufferLike(value);
      if (Array.isArray(value)) {
        // A hole reads as undefined, which is not a term either.
        for (let i = 0; i < value.length; i++) if (!quickValid(value[i], depth + 1)) return false;
        return true;
      }
      if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const k of Object.keys(value)) {
        if (!quickValid((value as Record<string, unknown>)[k], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Throws the precise refusal for a value that is not a term; returns for one that is. */
function validate(value: unknown, path: string): void {
  if (!quickValid(value, 0)) validateAt(value, path, 0, new Set());
}

function isBufferLike(value: Uint8Array): boolean {
  // Node's Buffer is a Uint8Array subclass; accept it, it compares as bytes.
  return typeof Buffer !== 'undefined' && Buffer.isBuffer(value);
}

/**
 * Checks that `value` is a term; returns it typed.
 *
 * @throws SuperCacheError `SC_ERR_INVALID_TERM` naming the offending path.
 */
export function assertTerm(value: unknown, path = 'term'): Term {
  validate(value, path);
  return value as Term;
}

/** True when `value` is a term (never throws). */
export function isTerm(value: unknown): value is Term {
  if (quickValid(value, 0)) return true;
  try {
    validateAt(value, 'term', 0, new Set());
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that `value` is a tuple with an element at every position in
 * `positions` (0-based).
 *
 * @throws SuperCacheError `SC_ERR_INVALID_TERM` when it is not an array of
 *   terms, `SC_ERR_TUPLE_TOO_SHORT` when it has no element at a position.
 */
export function assertTuple(value: unknown, ...positions: number[]): Tuple {
  if (!Array.isArray(value)) {
    throw new SuperCacheError(
      'SC_ERR_INVALID_TERM',
      `a record must be an array (tuple), got ${describeShort(value)}`,
    );
  }
  for (const pos of positions) {
    if (value.length <= pos) {
      throw new SuperCacheError(
        'SC_ERR_TUPLE_TOO_SHORT',
        `tuple of size ${value.length} has no element at position ${pos}`,
        { details: { size: value.length, position: pos } },
      );
    }
  }
  validate(value, 'tuple');
  return value as Tuple;
}

function describeShort(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

// ---------------------------------------------------------------------------
// Order and equality

function typeRank(t: Term): number {
  switch (typeof t) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'object':
      if (t === null) return 0;
      if (t instanceof Uint8Array) return 4;
      if (Array.isArray(t)) return 5;
      return 6;
    default:
      return 7;
  }
}

function compareNumeric(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
    // At least one NaN: NaN sorts after everything and equals itself.
    const an = Number.isNaN(a);
    const bn = Number.isNaN(b);
    return an === bn ? 0 : an ? 1 : -1;
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  // Mixed number / bigint.
  if (typeof a === 'number' && Number.isNaN(a)) return 1;
  if (typeof b === 'number' && Number.isNaN(b)) return -1;
  // Relational operators compare number and bigint mathematically.
  if (a < b) return -1;
  if (a > b) return 1;
  // Numerically equal: the number sorts first, so 1 !== 1n as terms.
  return typeof a === 'number' ? -1 : 1;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function sortedKeys(o: TermObject): string[] {
  return Object.keys(o).sort(compareStrings);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two terms in the documented total order.
 * @returns a negative number, 0 or a positive number.
 */
export function compareTerms(a: Term, b: Term): number {
  if (a === b) return 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : 1;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a === false ? -1 : 1;
    case 2:
      return compareNumeric(a as number | bigint, b as number | bigint);
    case 4:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case 5: {
      const xa = a as readonly Term[];
      const xb = b as readonly Term[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareTerms(xa[i] as Term, xb[i] as Term);
        if (c !== 0) return c;
      }
      return xa.length === xb.length ? 0 : xa.length < xb.length ? -1 : 1;
    }
    case 6: {
      const oa = a as TermObject;
      const ob = b as TermObject;
      const ka = sortedKeys(oa);
      const kb = sortedKeys(ob);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const c = compareStrings(ka[i] as string, kb[i] as string);
        if (c !== 0) return c;
      }
      if (ka.length !== kb.length) return ka.length < kb.length ? -1 : 1;
      for (const k of ka) {
        const c = compareTerms(oa[k] as Term, ob[k] as Term);
        if (c !== 0) return c;
      }
      return 0;
    }
    default:
      return 0;
  }
}

/** True when two terms are equal (compare by value, `-0` equals `0`). */
export function termsEqual(a: Term, b: Term): boolean {
  if (a === b) return true;
  const t = typeof a;
  if (t !== 'object' || a === null || typeof b !== 'object' || b === null) {
    // Primitives that are not === : only NaN/NaN is still equal.
    return t === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  return compareTerms(a, b) === 0;
}

// ---------------------------------------------------------------------------
// Canonical encoding and Map keys

function encodeInto(t: Term, out: string[]): void {
  switch (typeof t) {
    case 'string':
      out.push('s', String(t.length), ':', t);
      return;
    case 'number':
      // String() is injective on numbers except -0, which equals 0 here.
      out.push('d', t === 0 ? '0' : String(t), ';');
      return;
    case 'bigint':
      out.push('i', t.toString(), ';');
      return;
    case 'boolean':
      out.push(t ? 't' : 'f');
      return;
    default:
      break;
  }
  if (t === null) {
    out.push('n');
    return;
  }
  if (t instanceof Uint8Array) {
    out.push('b', String(t.length), ':');
    let s = '';
    for (let i = 0; i < t.length; i++) s += String.fromCharCode(t[i] as number);
    out.push(s);
    return;
  }
  if (Array.isArray(t)) {
    const arr = t as readonly Term[];
    out.push('a', String(arr.length), ':');
    for (const x of arr) encodeInto(x, out);
    return;
  }
  const o = t as TermObject;
  const keys = sortedKeys(o);
  out.push('o', String(keys.length), ':');
  for (const k of keys) {
    out.push(String(k.length), ':', k);
    encodeInto(o[k] as Term, out);
  }
}

/**
 * A canonical, injective string encoding of a term: equal terms (by
 * {@link termsEqual}) give the same string, different terms different
 * strings. Stable across processes and Node versions; the partition layer
 * hashes it.
 */
export function canonicalString(t: Term): string {
  const out: string[] = [];
  encodeInto(t, out);
  return out.join('');
}

/**
 * The `Map` key of a term. Primitives map to themselves (so ordinary string
 * and number keys cost nothing); composite terms map to an escaped canonical
 * string that cannot collide with any user string.
 */
export function keyOf(t: Term): MapKey {
  switch (typeof t) {
    case 'string':
      return t.length > 0 && t.charCodeAt(0) === ESC_CODE ? `${ESC}s${t}` : t;
    case 'number':
    case 'boolean':
    case 'bigint':
      // Map's SameValueZero already makes -0 equal 0 and NaN equal NaN.
      return t;
    default:
      if (t === null) return null;
      return `${ESC}c${canonicalString(t)}`;
  }
}

// ---------------------------------------------------------------------------
// Size estimate (for maxBytes)

/**
 * An estimate, in bytes, of the heap a term occupies. It counts 16 bytes of
 * header per heap object, 8 per number or array slot, 2 per string code
 * unit; good enough to bound memory, not an exact figure.
 */
export function termBytes(t: Term): number {
  switch (typeof t) {
    case 'string':
      return 16 + 2 * t.length;
    case 'number':
    case 'boolean':
      return 8;
    case 'bigint':
      return 16 + Math.ceil(t.toString(16).length / 2);
    default:
      break;
  }
  if (t === null) return 8;
  if (t instanceof Uint8Array) return 64 + t.length;
  if (Array.isArray(t)) {
    let n = 16 + 8 * t.length;
    for (const x of t as readonly Term[])
      if (typeof x === 'object' || typeof x === 'string') n += termBytes(x);
    return n;
  }
  let n = 32;
  const o = t as TermObject;
  for (const k of Object.keys(o)) n += 8 + 2 * k.length + termBytes(o[k] as Term);
  return n;
}
