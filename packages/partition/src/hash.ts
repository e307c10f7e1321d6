/**
 * The stable term hash: MurmurHash3 x86_32 (seed 0) over the UTF-16LE code
 * units of `canonicalString(term)`.
 *
 * `hashTerm` never builds the canonical string: it streams the same code
 * units straight into the hash, so it is equal to
 * `hashUtf16(canonicalString(term))` by construction (and a property test
 * holds it to that). If storage ever changes its canonical encoding, that
 * test fails before any two processes disagree.
 */

import { badArg, SuperCacheError, type Term } from '@supercache/storage';
import { finish, mixBlock, mixTail, murmur3Bytes, murmur3Utf16 } from './murmur3.js';
import { checkSeed, show } from './validate.js';

/**
 * MurmurHash3 x86_32 of a byte string; the same function as the reference C
 * `MurmurHash3_x86_32` (it passes the published vectors and SMHasher's
 * verification value `0xB0F57EE3`).
 *
 * @param bytes - the message.
 * @param seed - an unsigned 32-bit seed. @defaultValue 0
 * @returns an unsigned 32-bit integer.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `bytes` is not a
 *   `Uint8Array` or `seed` is not an integer in `[0, 2^32)`.
 */
export function hashBytes(bytes: Uint8Array, seed = 0): number {
  if (!(bytes instanceof Uint8Array)) throw badArg(`bytes must be a Uint8Array, got ${show(bytes)}`);
  return murmur3Bytes(bytes, checkSeed(seed));
}

/**
 * MurmurHash3 x86_32 of the UTF-16LE bytes of `text`: each code unit `c`
 * contributes the bytes `c & 0xff, c >>> 8`, lone surrogates included. Equal
 * to `hashBytes(Buffer.from(text, 'utf16le'), seed)`, without the buffer.
 *
 * @param text - any string.
 * @param seed - an unsigned 32-bit seed. @defaultValue 0
 * @returns an unsigned 32-bit integer.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `text` is not a string or
 *   `seed` is not an integer in `[0, 2^32)`.
 */
export function hashUtf16(text: string, seed = 0): number {
  if (typeof text !== 'string') throw badArg(`text must be a string, got ${show(text)}`);
  return murmur3Utf16(text, checkSeed(seed));
}

// ---------------------------------------------------------------------------
// Fast paths: a short prefix of code units (at most 19) followed by a string.

const S = 0x73; // 's'
const D = 0x64; // 'd'
const COLON = 0x3a;
const SEMI = 0x3b;
const MINUS = 0x2d;
const ZERO = 0x30;

// Filled and consumed inside one synchronous call that runs no user code.
const SCRATCH = new Uint16Array(24);

/** Writes the decimal digits of a safe non-negative integer at `pos`; returns the end. */
function writeDigits(buf: Uint16Array, pos: number, v: number): number {
  const start = pos;
  do {
    const r = v % 10;
    buf[pos++] = ZERO + r;
    v = (v - r) / 10;
  } while (v > 0);
  for (let a = start, b = pos - 1; a < b; a++, b--) {
    const t = buf[a] as number;
    buf[a] = buf[b] as number;
    buf[b] = t;
  }
  return pos;
}

/** Hashes `SCRATCH[0..p)` followed by the code units of `s`. */
function hashPrefixed(p: number, s: string): number {
  let h = 0;
  let i = 0;
  const pairs = p & ~1;
  for (; i < pairs; i += 2) h = mixBlock(h, (SCRATCH[i] as number) | ((SCRATCH[i + 1] as number) << 16));
  const n = s.length;
  let j = 0;
  if (i < p) {
    // An odd prefix: its last unit shares a block with the string's first.
    if (n === 0) return finish(mixTail(h, SCRATCH[i] as number), 2 * p);
    h = mixBlock(h, (SCRATCH[i] as number) | (s.charCodeAt(0) << 16));
    j = 1;
  }
  const end = j + ((n - j) & ~1);
  for (; j < end; j += 2) h = mixBlock(h, s.charCodeAt(j) | (s.charCodeAt(j + 1) << 16));
  if (j < n) h = mixTail(h, s.charCodeAt(j));
  return finish(h, 2 * (p + n));
}

/** `hashUtf16('s' + s.length + ':' + s)` without the concatenation. */
function hashStringKey(s: string): number {
  SCRATCH[0] = S;
  const p = writeDigits(SCRATCH, 1, s.length);
  SCRATCH[p] = COLON;
  return hashPrefixed(p + 1, s);
}

/** `hashUtf16('d' + String(n) + ';')` for a safe integer `n`. */
function hashSafeInteger(n: number): number {
  SCRATCH[0] = D;
  let p = 1;
  if (n < 0) {
    SCRATCH[p++] = MINUS;
    n = -n;
  }
  p = writeDigits(SCRATCH, p, n);
  SCRATCH[p++] = SEMI;
  return hashPrefixed(p, '');
}

// ---------------------------------------------------------------------------
// The general path: stream the canonical encoding of any term.

interface Stream {
  h: number;
  /** A code unit waiting for its partner to make a block, or -1. */
  carry: number;
  units: number;
}

const DIGITS = new Uint16Array(16);

function unit(st: Stream, c: number): void {
  if (st.carry < 0) st.carry = c;
  else {
    st.h = mixBlock(st.h, st.carry | (c << 16));
    st.carry = -1;
  }
  st.units++;
}

function text(st: Stream, s: string): void {
  const n = s.length;
  if (n === 0) return;
  let h = st.h;
  let i = 0;
  if (st.carry >= 0) {
    h = mixBlock(h, st.carry | (s.charCodeAt(0) << 16));
    i = 1;
  }
  const end = i + ((n - i) & ~1);
  for (; i < end; i += 2) h = mixBlock(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  st.carry = i < n ? s.charCodeAt(i) : -1;
  st.h = h;
  st.units += n;
}

function uint(st: Stream, v: number): void {
  const end = writeDigits(DIGITS, 0, v);
  for (let i = 0; i < end; i++) unit(st, DIGITS[i] as number);
}

const MAX_DEPTH = 512;

function invalid(what: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_INVALID_TERM', `cannot hash a non-term: ${what}`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Mirrors storage's encodeInto() code unit for code unit.
function encode(st: Stream, t: Term, depth: number): void {
  switch (typeof t) {
    case 'string':
      unit(st, S);
      uint(st, t.length);
      unit(st, COLON);
      text(st, t);
      return;
    case 'number':
      unit(st, D);
      if (t === 0) unit(st, ZERO);
      else if (Number.isSafeInteger(t)) {
        if (t < 0) {
          unit(st, MINUS);
          uint(st, -t);
        } else uint(st, t);
      } else text(st, String(t));
      unit(st, SEMI);
      return;
    case 'bigint':
      unit(st, 0x69); // 'i'
      text(st, t.toString());
      unit(st, SEMI);
      return;
    case 'boolean':
      unit(st, t ? 0x74 : 0x66); // 't' | 'f'
      return;
    case 'object':
      break;
    default:
      throw invalid(`${typeof t} is not a term`);
  }
  if (t === null) {
    unit(st, 0x6e); // 'n'
    return;
  }
  if (depth > MAX_DEPTH) throw invalid(`nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
  if (t instanceof Uint8Array) {
    unit(st, 0x62); // 'b'
    uint(st, t.length);
    unit(st, COLON);
    for (let i = 0; i < t.length; i++) unit(st, t[i] as number);
    return;
  }
  if (Array.isArray(t)) {
    const arr = t as readonly Term[];
    unit(st, 0x61); // 'a'
    uint(st, arr.length);
    unit(st, COLON);
    for (let i = 0; i < arr.length; i++) encode(st, arr[i] as Term, depth + 1);
    return;
  }
  if (!isPlainObject(t)) throw invalid('only plain objects, arrays and Uint8Array are composite terms');
  const o = t as { readonly [k: string]: Term };
  // The default sort compares UTF-16 code units, exactly like storage's order.
  const keys = Object.keys(o).sort();
  unit(st, 0x6f); // 'o'
  uint(st, keys.length);
  unit(st, COLON);
  for (const k of keys) {
    uint(st, k.length);
    unit(st, COLON);
    text(st, k);
    encode(st, o[k] as Term, depth + 1);
  }
}

/**
 * The stable 32-bit hash of a term, identical in every process, on every
 * machine and every Node version:
 *
 * `hashTerm(t) = MurmurHash3_x86_32(utf16le(canonicalString(t)), seed 0)`
 *
 * Equal terms (by `termsEqual`) hash equally: `-0` and `0`, objects whatever
 * their key insertion order, fresh arrays with equal elements. `1` and `1n`
 * are different terms and hash differently. String keys and safe integers
 * take an allocation-free fast path that yields the same value.
 *
 * @param term - any term.
 * @returns an unsigned 32-bit integer.
 * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `term` contains a value
 *   that is not a term (`undefined`, a function, a class instance, a `Map`,
 *   an array hole) or nests deeper than 512 levels (a cycle).
 */
export function hashTerm(term: Term): number {
  if (typeof term === 'string') return hashStringKey(term);
  if (typeof term === 'number' && Number.isSafeInteger(term)) {
    // -0 is a safe integer; its canonical form is "d0;", like 0.
    return hashSafeInteger(term === 0 ? 0 : term);
  }
  const st: Stream = { h: 0, carry: -1, units: 0 };
  encode(st, term, 0);
  let h = st.h;
  if (st.carry >= 0) h = mixTail(h, st.carry);
  return finish(h, 2 * st.units);
}
