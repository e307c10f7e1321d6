/**
 * Order indexes of a table: {@link SortedIndex} keeps an `ordered_set` in
 * term order, {@link SeqIndex} keeps the other types in insertion order.
 * Both support walks that survive modification between steps: a step is
 * "the first element after this position", never "index + 1" alone.
 *
 * @internal
 */

import { compareTerms, type Term } from './terms.js';

// compareTerms with the common cases inline: two strings, two plain numbers.
function cmp(a: Term, b: Term): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') {
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
  }
  return compareTerms(a, b);
}

// 256 per chunk (measured best of 128-1024 for 1M random string keys): a
// shift moves at most 2 KB, and the chunk list of a million keys (~5-8k
// chunks) is binary searched in ~13 steps.
const MAX_CHUNK = 256;
const MERGE_BELOW = 32;

/**
 * A sorted sequence of values with distinct keys, stored as chunks of
 * parallel key and value arrays: O(log n) search, O(chunk) insert and
 * remove, O(1) amortized successor during a walk (a cached cursor). Keys
 * live in the index itself so a search reads contiguous arrays instead of
 * chasing every record.
 *
 * @internal
 */
export class SortedIndex<T> {
  #keys: Term[][] = [];
  #vals: T[][] = [];
  #size = 0;
  // Bumped whenever positions shift; the cursor is trusted only if unchanged.
  #version = 0;
  #cc = 0;
  #ci = -1;
  #cver = -1;

  /** Number of values. */
  get size(): number {
    return this.#size;
  }

  /** Removes every value. */
  clear(): void {
    this.#keys = [];
    this.#vals = [];
    this.#size = 0;
    this.#version++;
  }

  /** The value with the smallest key. */
  first(): T | undefined {
    return this.#vals[0]?.[0];
  }

  /** The value with the greatest key. */
  last(): T | undefined {
    const c = this.#vals[this.#vals.length - 1];
    return c === undefined ? undefined : c[c.length - 1];
  }

  /** Inserts a value under a key that is not present. */
  insert(key: Term, v: T): void {
    const keys = this.#keys;
    this.#version++;
    this.#size++;
    if (keys.length === 0) {
      keys.push([key]);
      this.#vals.push([v]);
      return;
    }
    const lastC = keys.length - 1;
    const tail = keys[lastC] as Term[];
    // Appending in key order is the common bulk-load case: no search.
    if (cmp(key, tail[tail.length - 1] as Term) > 0) {
      tail.push(key);
      (this.#vals[lastC] as T[]).push(v);
      if (tail.length > MAX_CHUNK) this.#split(lastC);
      return;
    }
    const c = this.#chunkFor(key);
    const ks = keys[c] as Term[];
    const vs = this.#vals[c] as T[];
    const i = lower(ks, key);
    // A manual shift: splice() with insertion takes a slow generic path.
    for (let j = ks.length; j > i; j--) {
      ks[j] = ks[j - 1] as Term;
      vs[j] = vs[j - 1] as T;
    }
    ks[i] = key;
    vs[i] = v;
    if (ks.length > MAX_CHUNK) this.#split(c);
  }

  /** Removes the value under `key`; returns it, or `undefined` when absent. */
  remove(key: Term): T | undefined {
    const keys = this.#keys;
    if (keys.length === 0) return undefined;
    const c = this.#chunkFor(key);
    const ks = keys[c] as Term[];
    const i = lower(ks, key);
    if (i >= ks.length || cmp(ks[i] as Term, key) !== 0) return undefined;
    const vs = this.#vals[c] as T[];
    const v = vs[i] as T;
    this.#version++;
    this.#size--;
    ks.splice(i, 1);
    vs.splice(i, 1);
    if (ks.length === 0) {
      keys.splice(c, 1);
      this.#vals.splice(c, 1);
    } else if (ks.length < MERGE_BELOW) this.#maybeMerge(c);
    return v;
  }

  /** The first value whose key is strictly greater than `key`. */
  after(key: Term): T | undefined {
    const keys = this.#keys;
    let c: number;
    let i: number;
    const cur = this.#cver === this.#version ? keys[this.#cc]?.[this.#ci] : undefined;
    if (cur !== undefined && (cur === key || cmp(cur, key) === 0)) {
      c = this.#cc;
      i = this.#ci + 1;
    } else {
      if (keys.length === 0) return undefined;
      c = this.#chunkFor(key);
      i = upper(keys[c] as Term[], key);
    }
    let ks = keys[c];
    if (ks !== undefined && i >= ks.length) {
      c++;
      i = 0;
      ks = keys[c];
    }
    if (ks === undefined) return undefined;
    this.#cc = c;
    this.#ci = i;
    this.#cver = this.#version;
    return (this.#vals[c] as T[])[i];
  }

  /** The key strictly after `key`, without touching the values. */
  keyAfter(key: Term): Term | undefined {
    return this.after(key) === undefined ? undefined : (this.#keys[this.#cc] as Term[])[this.#ci];
  }

  /** The last value whose key is strictly less than `key`. */
  before(key: Term): T | undefined {
    const keys = this.#keys;
    let c: number;
    let i: number;
    const cur = this.#cver === this.#version ? keys[this.#cc]?.[this.#ci] : undefined;
    if (cur !== undefined && (cur === key || cmp(cur, key) === 0)) {
      c = this.#cc;
      i = this.#ci - 1;
    } else {
      if (keys.length === 0) return undefined;
      c = this.#chunkFor(key);
      i = lower(keys[c] as Term[], key) - 1;
    }
    if (i < 0) {
      c--;
      if (c < 0) return undefined;
      i = (keys[c] as Term[]).length - 1;
    }
    this.#cc = c;
    this.#ci = i;
    this.#cver = this.#version;
    return (this.#vals[c] as T[])[i];
  }

  /** The key strictly before `key`, without touching the values. */
  keyBefore(key: Term): Term | undefined {
    return this.before(key) === undefined ? undefined : (this.#keys[this.#cc] as Term[])[this.#ci];
  }

  // Last chunk whose first key is <= key (0 when key is below everything).
  #chunkFor(key: Term): number {
    const keys = this.#keys;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cmp((keys[mid] as Term[])[0] as Term, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #split(c: number): void {
    const ks = this.#keys[c] as Term[];
    const half = ks.length >> 1;
    this.#keys.splice(c + 1, 0, ks.splice(half));
    this.#vals.splice(c + 1, 0, (this.#vals[c] as T[]).splice(half));
  }

  #maybeMerge(c: number): void {
    const keys = this.#keys;
    const vals = this.#vals;
    const ks = keys[c] as Term[];
    const next = keys[c + 1];
    if (next !== undefined && ks.length + next.length <= MAX_CHUNK >> 1) {
      const vs = vals[c] as T[];
      for (const k of next) ks.push(k);
      for (const v of vals[c + 1] as T[]) vs.push(v);
      keys.splice(c + 1, 1);
      vals.splice(c + 1, 1);
      return;
    }
    const prev = keys[c - 1];
    if (prev !== undefined && ks.length + prev.length <= MAX_CHUNK >> 1) {
      const pv = vals[c - 1] as T[];
      for (const k of ks) prev.push(k);
      for (const v of vals[c] as T[]) pv.push(v);
      keys.splice(c, 1);
      vals.splice(c, 1);
    }
  }
}

// First index whose key is >= key.
function lower(ks: readonly Term[], key: Term): number {
  let lo = 0;
  let hi = ks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(ks[mid] as Term, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// First index whose key is > key.
function upper(ks: readonly Term[], key: Term): number {
  let lo = 0;
  let hi = ks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(ks[mid] as Term, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A value with an insertion sequence number; negative (`-seq - 1`) once removed. */
export interface Sequenced {
  seq: number;
}

/** The original sequence number of a value, removed or not. */
export function seqOf(v: Sequenced): number {
  return v.seq < 0 ? -v.seq - 1 : v.seq;
}

/**
 * Values in insertion order (ascending `seq`), for table types whose order
 * is insertion order. Removed values are marked (negative `seq`) and
 * compacted away in bulk, so a removal is O(1) and a removed value still
 * works as a walk position.
 *
 * @internal
 */
export class SeqIndex<T extends Sequenced> {
  #a: T[];
  #dead = 0;
  #ci = -1;

  /** `values` must be in ascending `seq` order. */
  constructor(values: T[]) {
    this.#a = values;
  }

  /** Appends a value with a `seq` greater than every other. */
  add(v: T): void {
    this.#a.push(v);
  }

  /** Records that one value was marked removed. */
  killed(): void {
    this.#dead++;
    if (this.#dead > 1024 && this.#dead * 2 > this.#a.length) {
      this.#a = this.#a.filter((v) => v.seq >= 0);
      this.#dead = 0;
      this.#ci = -1;
    }
  }

  /** The first live value. */
  first(): T | undefined {
    return this.#forward(0);
  }

  /** The last live value. */
  last(): T | undefined {
    return this.#backward(this.#a.length - 1);
  }

  /** The first live value inserted after `v` (which may have been removed). */
  after(v: T): T | undefined {
    const i = this.#a[this.#ci] === v ? this.#ci + 1 : this.#upper(seqOf(v));
    return this.#forward(i);
  }

  /** The first live value whose sequence number is greater than `seq`. */
  afterSeq(seq: number): T | undefined {
    return this.#forward(this.#upper(seq));
  }

  /** The last live value inserted before `v` (which may have been removed). */
  before(v: T): T | undefined {
    const i = this.#a[this.#ci] === v ? this.#ci - 1 : this.#lower(seqOf(v)) - 1;
    return this.#backward(i);
  }

  #forward(i: number): T | undefined {
    const a = this.#a;
    while (i < a.length) {
      const v = a[i] as T;
      if (v.seq >= 0) {
        this.#ci = i;
        return v;
      }
      i++;
    }
    return undefined;
  }

  #backward(i: number): T | undefined {
    const a = this.#a;
    while (i >= 0) {
      const v = a[i] as T;
      if (v.seq >= 0) {
        this.#ci = i;
        return v;
      }
      i--;
    }
    return undefined;
  }

  // First index whose seq is > seq.
  #upper(seq: number): number {
    const a = this.#a;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqOf(a[mid] as T) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // First index whose seq is >= seq.
  #lower(seq: number): number {
    const a = this.#a;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqOf(a[mid] as T) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
