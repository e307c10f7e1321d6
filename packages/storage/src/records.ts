/**
 * The records a table stores. Kept small and monomorphic: every field is
 * initialised in the constructor, in the same order, so V8 gives all records
 * of a class one hidden class.
 *
 * @internal
 */

import type { Term, Tuple } from './terms.js';

/** A key's record: a {@link Slot} in set tables, a {@link Bucket} in bags. */
export type Rec = Slot | Bucket;

/** Something with an expiry in the heap: a set slot or a bag item. */
export type Item = Slot | BagItem;

/**
 * One key of a `set` / `ordered_set`, holding its single object inline.
 * @internal
 */
export class Slot {
  /** The stored tuple. */
  obj: Tuple;
  /** Version for last-writer-wins, if the writer gave one. */
  ver: string | undefined;
  /** Index in the expiry heap, `-1` when the object never expires. */
  hi: number;
  /** Insertion sequence number; `-seq - 1` once removed. */
  seq: number;
  /** Position of its latest entry in the LRU queue; `-1` when not queued. */
  tick: number;

  constructor(obj: Tuple, ver: string | undefined, seq: number) {
    this.obj = obj;
    this.ver = ver;
    this.hi = -1;
    this.seq = seq;
    this.tick = -1;
  }
}

/**
 * One key of a `bag` / `duplicate_bag`: its objects in insertion order.
 * @internal
 */
export class Bucket {
  /** The key, as first inserted. */
  readonly key: Term;
  /** The objects, oldest first; never empty while the bucket is stored. */
  items: BagItem[];
  /** Cached `items.map(i => i.obj)`; replaced (never mutated) on change. */
  objs: readonly Tuple[] | undefined;
  /** How many items have an expiry. */
  nexp: number;
  seq: number;
  tick: number;

  constructor(key: Term, seq: number) {
    this.key = key;
    this.items = [];
    this.objs = undefined;
    this.nexp = 0;
    this.seq = seq;
    this.tick = -1;
  }
}

/**
 * One object of a bag key.
 * @internal
 */
export class BagItem {
  obj: Tuple;
  ver: string | undefined;
  hi: number;
  readonly b: Bucket;

  constructor(obj: Tuple, ver: string | undefined, b: Bucket) {
    this.obj = obj;
    this.ver = ver;
    this.hi = -1;
    this.b = b;
  }
}
