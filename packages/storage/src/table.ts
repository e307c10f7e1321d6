/**
 * {@link Table}: an ETS-like, synchronous, in-memory table of tuples with
 * TTL, LRU capacity limits and a metadata API for the replication layer.
 */

import { badArg, type ErrorCode, SuperCacheError } from './errors.js';
import { ExpiryHeap } from './expiry-heap.js';
import { flatEqual, flatHash, isFlatTuple } from './flat-key.js';
import {
  type CompiledMatchSpec,
  type CompiledPattern,
  compileMatchSpec,
  compilePattern,
  type MatchSpec,
  NO_MATCH,
  type Pattern,
} from './match.js';
import { assertReplaceKeepsKey } from './match-replace.js';
import { BagItem, Bucket, type Item, type Rec, Slot } from './records.js';
import { SeqIndex, SortedIndex, seqOf } from './sorted-index.js';
import {
  assertTerm,
  assertTuple,
  isTerm,
  keyOf,
  type MapKey,
  type Term,
  type Tuple,
  termBytes,
  termsEqual,
} from './terms.js';
import type {
  Clock,
  CounterOp,
  Entry,
  EntryMeta,
  InsertOptions,
  Page,
  RemovalReason,
  TableInfo,
  TableOptions,
  TableStats,
  TableType,
} from './types.js';

// ---------------------------------------------------------------------------
// Continuations

/** Fields shared by every {@link Continuation}. */
export interface ContinuationPosition {
  /** Page size of the paging that produced it. */
  readonly limit: number;
  /** The key of the last object visited. */
  readonly after: Term;
  /**
   * Objects of `after` already visited, when a page ended inside a bag key;
   * `0` when the key is finished.
   */
  readonly offset: number;
  /**
   * Insertion position of `after` in tables whose order is insertion order
   * (`set`, `bag`, `duplicate_bag`); `ordered_set` resumes by key alone.
   */
  readonly seq: number;
}

/** Continuation of {@link Table.selectPage} and {@link Table.selectReversePage}. */
export interface SelectContinuation extends ContinuationPosition {
  /** `'selectReverse'` for {@link Table.selectReversePage}. */
  readonly kind: 'select' | 'selectReverse';
  /** The match spec being paged. */
  readonly spec: MatchSpec;
}

/** Continuation of {@link Table.matchPage} and {@link Table.matchObjectPage}. */
export interface MatchContinuation extends ContinuationPosition {
  readonly kind: 'match' | 'matchObject';
  /** The pattern being paged. */
  readonly pattern: Pattern;
}

/**
 * Where a paged `select` / `match` / `matchObject` resumes. Plain data (no
 * class, no closure), so it can be stored or shipped to the peer that owns
 * the table and passed back as is. A page resumes after the last key it
 * visited, so a key present during the whole paging is returned exactly
 * once even when other keys are inserted or deleted between pages.
 */
export type Continuation = SelectContinuation | MatchContinuation;

// ---------------------------------------------------------------------------
// Internals

const ESC_CODE = 0xd800;

// Where #find says a key lives.
const IN_MAP = 0;
const IN_CMAP = 1;
const IN_C2 = 2;
const EMPTY: readonly Tuple[] = Object.freeze([]) as readonly Tuple[];
const TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

// Why an object leaves the table (for stats and onRemove).
const DELETE = 0;
const EVICT = 1;
const SILENT = 2;
type Why = typeof DELETE | typeof EVICT | typeof SILENT;

const DEFAULT_CLOCK: Clock = { now: Date.now };

interface PendingRemoval {
  readonly entry: Entry;
  readonly reason: RemovalReason;
}

function err(code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return new SuperCacheError(code, message, details === undefined ? {} : { details });
}

function isNonNegNumber(v: unknown): v is number {
  return typeof v === 'number' && v >= 0;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}

function sumBytes(objs: readonly Tuple[]): number {
  let n = 0;
  for (const o of objs) n += termBytes(o);
  return n;
}

/**
 * An ETS-like in-memory table of tuples (`readonly Term[]`), synchronous and
 * single-threaded.
 *
 * - `set`: one object per key; an insert replaces it.
 * - `ordered_set`: a `set` kept in key order (see `compareTerms`).
 * - `bag`: distinct objects per key (an equal object is not added twice).
 * - `duplicate_bag`: any objects per key, duplicates included.
 *
 * Keys compare by value (`termsEqual`): `['user', 1]` finds what
 * `['user', 1]` inserted, `-0` is `0`, `NaN` is `NaN`, and `1` and `1n` are
 * different keys. The table stores the arrays you pass and returns them from
 * reads; treat both as immutable.
 *
 * Every method that takes a key throws `SC_ERR_INVALID_TERM` when it is not
 * a term.
 *
 * Beyond ETS: per-object TTL (expired objects are invisible at once and
 * reclaimed by an incremental sweep), `maxEntries` / `maxBytes` limits with
 * LRU eviction, hit/miss counters, and entries with metadata (`expiresAt`,
 * `version`) for replication and handoff.
 *
 * @example
 * ```ts
 * const t = new Table({ type: 'set' });
 * t.insert(['user:1', 'Alice', 30]);
 * t.lookup('user:1'); // [['user:1', 'Alice', 30]]
 * t.updateCounter('user:1', [2, 1]); // 31
 * ```
 */
export class Table {
  readonly #type: TableType;
  readonly #kp: number;
  readonly #bag: boolean;
  readonly #dup: boolean;

  // A `set` without TTL, limits or metadata starts "plain": this map holds
  // the tuples themselves (keys that are not arrays only), so a lookup
  // touches no record and an insert allocates none. The first operation that
  // needs records (an expiry, a version, an array key, a positional walk...)
  // converts the table for good: #upgrade, O(n) once.
  #pmap: Map<MapKey, Tuple> | undefined;
  // Sum of termBytes of a plain table's objects; -1 when stale.
  #plainBytes = 0;

  // Where records live, by key shape (a key always goes to the same place):
  // - #map: primitive keys as themselves, other composite keys by keyOf();
  // - #c2: pairs of primitives (['user', 1]) in a two-level map, so a lookup
  //   hashes two primitives and never compares or encodes the key;
  // - #cmap: other flat tuples of primitives by 32-bit hash, a colliding key
  //   stored under its keyOf() string instead (#ccoll counts those).
  readonly #map = new Map<MapKey, Rec>();
  readonly #c2 = new Map<unknown, Map<unknown, Rec>>();
  #c2Count = 0;
  // Set once pairs turn out to have too many distinct first elements (one
  // inner map each): they then move to #cmap for good.
  #c2Off = false;
  readonly #cmap = new Map<number | string, Rec>();
  #ccoll = 0;
  // Scratch output of #find: where a missing key would be linked.
  #mk: MapKey = null;
  #mkB: unknown = null;
  #where: 0 | 1 | 2 = 0;

  // ordered_set: key order. Others: insertion order, built on first walk.
  readonly #sorted: SortedIndex<Slot> | undefined;
  #seqIdx: SeqIndex<Rec> | undefined;
  #seq = 0;

  #count = 0;
  #bytes = 0;

  readonly #heap = new ExpiryHeap<Item>();
  readonly #ttl: number;
  readonly #clock: Clock;

  readonly #lru: boolean;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  // Recency queue, oldest first. A touch appends the record and sets its
  // `tick` to the new position; older entries of the record go stale (their
  // position no longer equals its tick) and are skipped or compacted away.
  // Exact LRU with O(1) sequential writes per touch instead of pointer
  // surgery on neighbours scattered over the heap.
  #lq: Rec[] = [];
  #lqHead = 0;

  #hits = 0;
  #misses = 0;
  #inserts = 0;
  #deletes = 0;
  #expirations = 0;
  #evictions = 0;

  readonly #onRemove: ((entry: Entry, reason: RemovalReason) => void) | undefined;
  readonly #pending: PendingRemoval[] = [];

  readonly #sweepMs: number;
  readonly #sweepBatch: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Creates an empty table.
   *
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when an option is invalid: an
   *   unknown `type`, a `keyPos` that is not a non-negative integer, a
   *   negative or non-numeric `ttl` / `maxEntries` / `maxBytes` /
   *   `sweepIntervalMs`, a `sweepBatch` below 1, a `clock` without `now()`,
   *   or an `onRemove` that is not a function.
   */
  constructor(options: TableOptions = {}) {
    if (typeof options !== 'object' || options === null) throw badArg('table options must be an object');
    const type = options.type ?? 'set';
    if (!TYPES.includes(type)) {
      throw badArg(`type must be one of ${TYPES.join(', ')}, got ${describe(type)}`, { option: 'type' });
    }
    const kp = options.keyPos ?? 0;
    if (!Number.isSafeInteger(kp) || kp < 0) {
      throw badArg(`keyPos must be a non-negative integer, got ${describe(kp)}`, { option: 'keyPos' });
    }
    const ttl = options.ttl ?? 0;
    if (!isNonNegNumber(ttl))
      throw badArg(`ttl must be a non-negative number, got ${describe(ttl)}`, { option: 'ttl' });
    const maxEntries = options.maxEntries ?? 0;
    if (
      !isNonNegNumber(maxEntries) ||
      !(Number.isInteger(maxEntries) || maxEntries === Number.POSITIVE_INFINITY)
    ) {
      throw badArg(`maxEntries must be a non-negative integer, got ${describe(maxEntries)}`, {
        option: 'maxEntries',
      });
    }
    const maxBytes = options.maxBytes ?? 0;
    if (!isNonNegNumber(maxBytes)) {
      throw badArg(`maxBytes must be a non-negative number, got ${describe(maxBytes)}`, {
        option: 'maxBytes',
      });
    }
    const sweepMs = options.sweepIntervalMs ?? 1000;
    if (!isNonNegNumber(sweepMs) || !Number.isFinite(sweepMs)) {
      throw badArg(`sweepIntervalMs must be a non-negative finite number, got ${describe(sweepMs)}`, {
        option: 'sweepIntervalMs',
      });
    }
    const sweepBatch = options.sweepBatch ?? 1000;
    if (!Number.isSafeInteger(sweepBatch) || sweepBatch < 1) {
      throw badArg(`sweepBatch must be a positive integer, got ${describe(sweepBatch)}`, {
        option: 'sweepBatch',
      });
    }
    const clock = options.clock ?? DEFAULT_CLOCK;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw badArg('clock must be an object with a now() method', { option: 'clock' });
    }
    if (options.onRemove !== undefined && typeof options.onRemove !== 'function') {
      throw badArg('onRemove must be a function', { option: 'onRemove' });
    }

    this.#type = type;
    this.#kp = kp;
    this.#bag = type === 'bag' || type === 'duplicate_bag';
    this.#dup = type === 'duplicate_bag';
    this.#ttl = ttl === Number.POSITIVE_INFINITY ? 0 : ttl;
    this.#maxEntries = maxEntries === Number.POSITIVE_INFINITY ? 0 : maxEntries;
    this.#maxBytes = maxBytes === Number.POSITIVE_INFINITY ? 0 : maxBytes;
    this.#lru = this.#maxEntries !== 0 || this.#maxBytes !== 0;
    this.#clock = clock;
    this.#sweepMs = sweepMs;
    this.#sweepBatch = sweepBatch;
    this.#onRemove = options.onRemove;
    this.#sorted = type === 'ordered_set' ? new SortedIndex<Slot>() : undefined;
    this.#pmap = type === 'set' && !this.#lru && this.#ttl === 0 ? new Map() : undefined;
  }

  // =========================================================================
  // Properties

  /** The table type. */
  get type(): TableType {
    return this.#type;
  }

  /** The 0-based key position. */
  get keyPos(): number {
    return this.#kp;
  }

  /** Number of live objects (expired ones excluded). O(1) unless objects expired and await the sweep. */
  get size(): number {
    const heap = this.#heap;
    if (heap.size === 0) return this.#count;
    const now = this.#clock.now();
    return heap.minTime() > now ? this.#count : this.#count - heap.countAtMost(now);
  }

  /**
   * Type, key position, live object count and estimated bytes of the live
   * objects. `memory` is computed when read (O(1), except O(n) once after
   * writes to a table without records), so `info().keyPos` costs nothing.
   */
  info(): TableInfo {
    const memory = (): number => this.#memory();
    return {
      type: this.#type,
      keyPos: this.#kp,
      size: this.size,
      get memory(): number {
        return memory();
      },
    };
  }

  /** A snapshot of the counters kept since the table was created. */
  stats(): TableStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      inserts: this.#inserts,
      deletes: this.#deletes,
      expirations: this.#expirations,
      evictions: this.#evictions,
    };
  }

  // =========================================================================
  // Writes

  /**
   * Inserts an object. In a `set` / `ordered_set` it replaces the object with
   * the same key; in a `bag` an equal object is replaced (its TTL renewed),
   * other objects are added; in a `duplicate_bag` it is always added.
   *
   * @param opts - `ttl` overrides the table's default TTL for this object;
   *   `version` (set by the replication layer) is stored beside it, as by
   *   {@link Table.insertEntry}; without one, the object has no version.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `obj` is not an array
   *   of terms, `SC_ERR_TUPLE_TOO_SHORT` when it has no element at `keyPos`,
   *   `SC_ERR_BAD_ARG` for a bad `ttl` or `version`, `SC_ERR_TOO_LARGE` when the key would
   *   alone exceed `maxEntries` / `maxBytes`.
   */
  insert(obj: Tuple, opts?: InsertOptions): true {
    const o = this.#checkObj(obj);
    const exp = this.#expOf(opts);
    const ver = verOf(opts);
    if (this.#pmap !== undefined && this.#plainWrite(o, exp, ver)) return true;
    if (this.#lru) this.#checkFit([o]);
    const r = this.#bag ? this.#writeBag(o, exp, ver) : this.#writeSet(o, exp, ver);
    if (this.#lru) this.#enforce(r);
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  /**
   * Inserts several objects, in order, as if by {@link Table.insert}. Every
   * object is validated first: a rejected call changes nothing.
   *
   * @throws SuperCacheError as {@link Table.insert}; `SC_ERR_BAD_ARG` when
   *   `objs` is not an array.
   */
  insertMany(objs: readonly Tuple[], opts?: InsertOptions): true {
    const list = this.#checkObjs(objs);
    const exp = this.#expOf(opts);
    const ver = verOf(opts);
    if (this.#lru) this.#checkFit(list);
    for (const o of list) {
      if (this.#pmap !== undefined && this.#plainWrite(o, exp, ver)) continue;
      const r = this.#bag ? this.#writeBag(o, exp, ver) : this.#writeSet(o, exp, ver);
      if (this.#lru) this.#enforce(r);
    }
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  /**
   * Inserts `obj` only when no live object has its key.
   * @returns `false` (and writes nothing) when the key exists.
   * @throws SuperCacheError as {@link Table.insert}.
   */
  insertNew(obj: Tuple, opts?: InsertOptions): boolean {
    const o = this.#checkObj(obj);
    const exp = this.#expOf(opts);
    const ver = verOf(opts);
    const pm = this.#pmap;
    if (pm !== undefined) {
      const key = o[this.#kp] as Term;
      if (!Array.isArray(key) && pm.has(primitiveMapKey(key))) return false;
      if (this.#plainWrite(o, exp, ver)) return true;
    }
    const r = this.#getRec(o[this.#kp] as Term);
    if (r !== undefined && this.#isLive(r, this.#nowR())) return false;
    if (this.#lru) this.#checkFit([o]);
    const w = this.#bag ? this.#writeBag(o, exp, ver) : this.#writeSet(o, exp, ver);
    if (this.#lru) this.#enforce(w);
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  /**
   * Inserts all objects or none: returns `false` and writes nothing when a
   * key already has a live object, or (in `set` / `ordered_set`) when two
   * objects of the list share a key. In bags, objects of the list that
   * share a (new) key are all inserted, as in ETS.
   *
   * @throws SuperCacheError as {@link Table.insertMany}.
   */
  insertNewMany(objs: readonly Tuple[], opts?: InsertOptions): boolean {
    this.#upgrade();
    const list = this.#checkObjs(objs);
    const exp = this.#expOf(opts);
    const ver = verOf(opts);
    const now = this.#nowR();
    const seen = this.#bag ? undefined : new Set<MapKey>();
    for (const o of list) {
      const key = o[this.#kp] as Term;
      if (seen !== undefined) {
        const k = keyOf(key);
        if (seen.has(k)) return false;
        seen.add(k);
      }
      const r = this.#getRec(key);
      if (r !== undefined && this.#isLive(r, now)) return false;
    }
    if (this.#lru) this.#checkFit(list);
    for (const o of list) {
      const r = this.#bag ? this.#writeBag(o, exp, ver) : this.#writeSet(o, exp, ver);
      if (this.#lru) this.#enforce(r);
    }
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  /**
   * Stores an object with its metadata, as the replication and handoff
   * layers need: `set` / `bag` semantics as {@link Table.insert}, but the
   * expiry is absolute (`expiresAt`, `0` = never) and `version` is stored
   * beside the tuple. An `expiresAt` in the past stores an already expired
   * (invisible) object.
   *
   * @throws SuperCacheError as {@link Table.insert}; `SC_ERR_BAD_ARG` for a
   *   bad `meta`.
   */
  insertEntry(obj: Tuple, meta: EntryMeta): void {
    this.#upgrade();
    const o = this.#checkObj(obj);
    if (typeof meta !== 'object' || meta === null) throw badArg('meta must be an object');
    let exp = meta.expiresAt ?? 0;
    if (!isNonNegNumber(exp)) throw badArg(`expiresAt must be a non-negative number, got ${describe(exp)}`);
    if (exp === Number.POSITIVE_INFINITY) exp = 0;
    const ver = meta.version;
    if (ver !== undefined && typeof ver !== 'string') throw badArg('version must be a string');
    if (this.#lru) this.#checkFit([o]);
    const r = this.#bag ? this.#writeBag(o, exp, ver) : this.#writeSet(o, exp, ver);
    if (this.#lru) this.#enforce(r);
    if (this.#pending.length !== 0) this.#drain();
  }

  /**
   * Updates counters of the object at `key`, as ETS `update_counter`. An op
   * is `incr` (the element after the key), `[pos, incr]` or
   * `[pos, incr, threshold, setValue]`: past `threshold` in the direction of
   * `incr` (`>` for `incr >= 0`, `<` otherwise) the counter becomes
   * `setValue`. A list of ops (starting with an array element) is applied in
   * order, all or nothing, and returns every result. When the key is
   * missing, `defaultObj` (its key replaced by `key`) is inserted first.
   * The object keeps its TTL and version.
   *
   * @returns the new value, or the list of new values for a list of ops.
   * @throws SuperCacheError `SC_ERR_WRONG_TABLE_TYPE` on a bag,
   *   `SC_ERR_NOT_FOUND` when the key is missing and there is no default,
   *   `SC_ERR_BAD_COUNTER` when a position is the key position, out of range
   *   or holds a non-number, `SC_ERR_BAD_ARG` for a malformed op.
   */
  updateCounter(key: Term, op: CounterOp, defaultObj?: Tuple): number;
  updateCounter(key: Term, ops: readonly CounterOp[], defaultObj?: Tuple): number[];
  updateCounter(key: Term, op: CounterOp | readonly CounterOp[], defaultObj?: Tuple): number | number[];
  updateCounter(key: Term, op: CounterOp | readonly CounterOp[], defaultObj?: Tuple): number | number[] {
    this.#upgrade();
    if (this.#bag)
      throw err('SC_ERR_WRONG_TABLE_TYPE', `updateCounter needs a set or ordered_set, not a ${this.#type}`);
    const kp = this.#kp;
    const isList = Array.isArray(op) && (op.length === 0 || typeof op[0] !== 'number');
    const ops = (isList ? op : [op]) as readonly unknown[];
    const parsed: Array<readonly [number, number, number, number, boolean]> = [];
    for (const o of ops) parsed.push(parseCounterOp(o, kp));
    let def: Tuple | undefined;
    if (defaultObj !== undefined) def = assertTuple(defaultObj, kp);
    const s = this.#getRec(key) as Slot | undefined;
    const live = s !== undefined && (s.hi === -1 || this.#heap.time(s) > this.#clock.now());
    let base: Tuple;
    if (live) base = s.obj;
    else if (def !== undefined) {
      const d = def.slice();
      d[kp] = key;
      base = d;
    } else throw err('SC_ERR_NOT_FOUND', `no object with key ${describe(key)}`, { key: describe(key) });
    const next = base.slice();
    const results: number[] = [];
    for (const [pos, incr, threshold, setValue, hasThreshold] of parsed) {
      if (pos >= next.length) {
        throw err(
          'SC_ERR_BAD_COUNTER',
          `position ${pos} is out of range for a tuple of size ${next.length}`,
          {
            position: pos,
          },
        );
      }
      const cur = next[pos];
      if (typeof cur !== 'number') {
        throw err('SC_ERR_BAD_COUNTER', `element at position ${pos} is not a number: ${describe(cur)}`, {
          position: pos,
        });
      }
      let v = cur + incr;
      if (hasThreshold && (incr >= 0 ? v > threshold : v < threshold)) v = setValue;
      next[pos] = v;
      results.push(v);
    }
    if (this.#maxBytes !== 0) this.#checkFit([next]);
    let w: Rec;
    if (live) {
      this.#replaceObj(s, next);
      this.#inserts++;
      if (this.#lru) this.#lruTouch(s);
      w = s;
    } else {
      w = this.#writeSet(next, this.#expOf(undefined), undefined);
    }
    if (this.#lru) this.#enforce(w);
    if (this.#pending.length !== 0) this.#drain();
    return isList ? results : (results[0] as number);
  }

  /**
   * Replaces elements of the object at `key`: `[pos, value]` or a list of
   * them (applied in order, all or nothing). The object keeps its TTL and
   * version.
   *
   * With `defaultObj` (ETS `update_element/4`), a missing key is first
   * given `defaultObj` with its key element replaced by `key` (and the
   * table's default TTL), then updated; the call then always returns
   * `true`. The default is validated even when the key exists.
   *
   * @returns `false` when no live object has the key and there is no default.
   * @throws SuperCacheError `SC_ERR_WRONG_TABLE_TYPE` on a bag,
   *   `SC_ERR_KEY_UPDATE` when a position is the key position,
   *   `SC_ERR_TUPLE_TOO_SHORT` when it is past the end of the object (or
   *   the default has no key element), `SC_ERR_BAD_ARG` for a malformed
   *   update, `SC_ERR_INVALID_TERM` for a value or default that is not a
   *   term.
   */
  updateElement(
    key: Term,
    update: readonly [pos: number, value: Term] | ReadonlyArray<readonly [pos: number, value: Term]>,
    defaultObj?: Tuple,
  ): boolean {
    this.#upgrade();
    if (this.#bag)
      throw err('SC_ERR_WRONG_TABLE_TYPE', `updateElement needs a set or ordered_set, not a ${this.#type}`);
    if (!Array.isArray(update)) throw badArg('update must be [pos, value] or a list of them');
    const pairs = (typeof update[0] === 'number' ? [update] : update) as readonly unknown[];
    for (const p of pairs) {
      if (!Array.isArray(p) || p.length !== 2) throw badArg('each update must be [pos, value]');
      const pos = p[0];
      if (!Number.isSafeInteger(pos) || (pos as number) < 0) {
        throw badArg(`position must be a non-negative integer, got ${describe(pos)}`);
      }
      if (pos === this.#kp) throw err('SC_ERR_KEY_UPDATE', `position ${pos} is the key position`);
      assertTerm(p[1], 'value');
    }
    const def = defaultObj === undefined ? undefined : assertTuple(defaultObj, this.#kp);
    const s = this.#getRec(key) as Slot | undefined;
    const live = s !== undefined && (s.hi === -1 || this.#heap.time(s) > this.#clock.now());
    if (!live && def === undefined) return false;
    let next: Term[];
    if (live) next = s.obj.slice();
    else {
      checkKey(key);
      next = (def as Tuple).slice();
      next[this.#kp] = key;
    }
    for (const p of pairs as ReadonlyArray<readonly [number, Term]>) {
      if (p[0] >= next.length) {
        throw err(
          'SC_ERR_TUPLE_TOO_SHORT',
          `tuple of size ${next.length} has no element at position ${p[0]}`,
          {
            size: next.length,
            position: p[0],
          },
        );
      }
      next[p[0]] = p[1];
    }
    if (this.#maxBytes !== 0) this.#checkFit([next]);
    if (!live) {
      const w = this.#writeSet(next, this.#expOf(undefined), undefined);
      if (this.#lru) this.#enforce(w);
    } else {
      this.#replaceObj(s, next);
      this.#inserts++;
      if (this.#lru) {
        this.#lruTouch(s);
        this.#enforce(s);
      }
    }
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  /**
   * Removes and returns the live objects of `key` (`[]` when none).
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `key` is not a term.
   */
  take(key: Term): Tuple[] {
    const pm = this.#pmap;
    if (pm !== undefined) {
      const o = this.#plainRemove(pm, key);
      return o === undefined ? [] : [o];
    }
    const r = this.#getRec(key);
    if (r === undefined) return [];
    const objs = this.#live(r, this.#nowR()).slice();
    this.#drop(r, DELETE, -1);
    if (this.#pending.length !== 0) this.#drain();
    return objs;
  }

  /**
   * Removes every object of `key`.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `key` is not a term.
   */
  delete(key: Term): true {
    const pm = this.#pmap;
    if (pm !== undefined) {
      this.#plainRemove(pm, key);
      return true;
    }
    const r = this.#getRec(key);
    if (r !== undefined) {
      this.#drop(r, DELETE, -1);
      if (this.#pending.length !== 0) this.#drain();
    }
    return true;
  }

  /**
   * Removes exactly the objects equal to `obj` (by `termsEqual`): in a
   * `duplicate_bag` every copy.
   * @throws SuperCacheError as {@link Table.insert} for an invalid `obj`.
   */
  deleteObject(obj: Tuple): true {
    this.#upgrade();
    const o = this.#checkObj(obj);
    const r = this.#getRec(o[this.#kp] as Term);
    if (r !== undefined) {
      if (r instanceof Slot) {
        if (termsEqual(r.obj, o)) this.#drop(r, DELETE, -1);
      } else {
        this.#removeItems(r, (x) => termsEqual(x, o), -1);
      }
      if (this.#pending.length !== 0) this.#drain();
    }
    return true;
  }

  /** Removes every object. */
  deleteAllObjects(): true {
    const heap = this.#heap;
    let expired = 0;
    if (heap.size !== 0) {
      const now = this.#clock.now();
      heap.forEachAtMost(now, (it) => {
        expired++;
        this.#emit(it, 'expired');
      });
    }
    this.#expirations += expired;
    this.#deletes += this.#count - expired;
    this.#pmap?.clear();
    this.#plainBytes = 0;
    this.#map.clear();
    this.#cmap.clear();
    this.#ccoll = 0;
    this.#c2.clear();
    this.#c2Count = 0;
    this.#sorted?.clear();
    this.#seqIdx = undefined;
    heap.clear();
    this.#lq = [];
    this.#lqHead = 0;
    this.#count = 0;
    this.#bytes = 0;
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  // =========================================================================
  // Reads

  /**
   * The live objects of `key`: at most one in a set, in insertion order in a
   * bag. Do not mutate the array or the tuples (a bag may return a shared
   * array). Counts a hit or a miss and marks the key recently used.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `key` is not a term.
   */
  lookup(key: Term): readonly Tuple[] {
    const pm = this.#pmap;
    if (pm !== undefined) {
      const o = typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE ? pm.get(key) : plainGet(pm, key);
      if (o !== undefined) {
        this.#hits++;
        return [o];
      }
      this.#misses++;
      return EMPTY;
    }
    const r =
      typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE ? this.#map.get(key) : this.#findSlow(key);
    if (r !== undefined) {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > this.#clock.now()) {
          this.#hits++;
          if (this.#lru) this.#lruTouch(r);
          return [r.obj];
        }
      } else {
        const objs = this.#bucketLive(r, this.#nowR());
        if (objs.length !== 0) {
          this.#hits++;
          if (this.#lru) this.#lruTouch(r);
          return objs;
        }
      }
      if (this.#readExpired(r)) return EMPTY;
    }
    this.#misses++;
    return EMPTY;
  }

  /**
   * The element at `pos` of the object of `key`; in a bag, that element of
   * every object of the key. With `defaultValue` (ETS `lookup_element/4`),
   * a key without a live object answers the default instead of throwing
   * (`undefined` is not a term, so it means "no default"). A missing key
   * counts a miss either way.
   *
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `pos` is not a
   *   non-negative integer, `SC_ERR_NOT_FOUND` when the key has no live
   *   object and there is no default, `SC_ERR_TUPLE_TOO_SHORT` when an
   *   object has no element at `pos`, `SC_ERR_INVALID_TERM` when the
   *   default is not a term.
   */
  lookupElement(key: Term, pos: number): Term | Term[];
  lookupElement<D extends Term>(key: Term, pos: number, defaultValue: D): Term | Term[] | D;
  lookupElement(key: Term, pos: number, defaultValue?: Term): Term | Term[] {
    if (!Number.isSafeInteger(pos) || pos < 0)
      throw badArg(`position must be a non-negative integer, got ${describe(pos)}`, { argument: 'pos' });
    if (defaultValue !== undefined) assertTerm(defaultValue, 'defaultValue');
    const pm = this.#pmap;
    const r = pm === undefined ? this.#getRec(key) : undefined;
    let objs: readonly Tuple[];
    if (pm !== undefined) {
      const o = plainGet(pm, key);
      objs = o === undefined ? EMPTY : [o];
    } else objs = r === undefined ? EMPTY : this.#live(r, this.#nowR());
    if (objs.length === 0) {
      if (!this.#readExpired(r)) this.#misses++;
      if (defaultValue !== undefined) return defaultValue;
      throw err('SC_ERR_NOT_FOUND', `no object with key ${describe(key)}`, { key: describe(key) });
    }
    for (const o of objs) {
      if (pos >= o.length) {
        throw err('SC_ERR_TUPLE_TOO_SHORT', `tuple of size ${o.length} has no element at position ${pos}`, {
          size: o.length,
          position: pos,
        });
      }
    }
    this.#hits++;
    if (this.#lru) this.#lruTouch(r as Rec);
    if (!this.#bag) return (objs[0] as Tuple)[pos] as Term;
    return objs.map((o) => o[pos] as Term);
  }

  /**
   * True when `key` has a live object. Counts a hit or a miss and marks the
   * key recently used.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `key` is not a term.
   */
  member(key: Term): boolean {
    const pm = this.#pmap;
    if (pm !== undefined) {
      const found =
        (typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE ? pm.get(key) : plainGet(pm, key)) !==
        undefined;
      if (found) this.#hits++;
      else this.#misses++;
      return found;
    }
    const r =
      typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE ? this.#map.get(key) : this.#findSlow(key);
    if (r !== undefined) {
      if (this.#isLive(r, this.#nowR())) {
        this.#hits++;
        if (this.#lru) this.#lruTouch(r);
        return true;
      }
      if (this.#readExpired(r)) return false;
    }
    this.#misses++;
    return false;
  }

  /** Every live object, in table order. */
  tab2list(): Tuple[] {
    if (this.#pmap !== undefined) return [...this.#pmap.values()];
    const out: Tuple[] = [];
    const now = this.#nowR();
    for (let r = this.#head(false); r !== undefined; r = this.#step(r, false)) {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > now) out.push(r.obj);
      } else for (const o of this.#bucketLive(r, now)) out.push(o);
    }
    return out;
  }

  // =========================================================================
  // Patterns and match specs

  /**
   * The bindings (`$1`, `$2`, … in order) of every live object matching
   * `pattern`, in table order. A pattern with a fully bound key reads only
   * that key.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed pattern.
   */
  match(pattern: Pattern): Term[][] {
    const c = compilePattern(pattern, this.#kp);
    const out: Term[][] = [];
    this.#scan(c, false, (o) => {
      const b = c.match(o);
      if (b !== undefined) out.push(b);
    });
    return out;
  }

  /**
   * Every live object matching `pattern`, in table order.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed pattern.
   */
  matchObject(pattern: Pattern): Tuple[] {
    const c = compilePattern(pattern, this.#kp);
    const out: Tuple[] = [];
    this.#scan(c, false, (o) => {
      if (c.test(o)) out.push(o);
    });
    return out;
  }

  /**
   * Removes every live object matching `pattern`; returns how many.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed pattern.
   */
  matchDelete(pattern: Pattern): number {
    this.#upgrade();
    const c = compilePattern(pattern, this.#kp);
    return this.#deleteWhere(c, (o) => c.test(o));
  }

  /**
   * The body results of `spec` for every live object it matches, in table
   * order. A spec whose clauses all bind the key to one term reads only it.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed spec.
   */
  select(spec: MatchSpec): Term[] {
    const c = compileMatchSpec(spec, this.#kp);
    const out: Term[] = [];
    this.#scan(c, false, (o) => {
      const v = c.run(o);
      if (v !== NO_MATCH) out.push(v);
    });
    return out;
  }

  /**
   * As {@link Table.select}, in reverse key order on an `ordered_set`. On
   * the other types it returns the same list as `select`, as ETS's
   * `select_reverse` does: their order is not a key order to reverse.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed spec.
   */
  selectReverse(spec: MatchSpec): Term[] {
    if (this.#sorted === undefined) return this.select(spec);
    const c = compileMatchSpec(spec, this.#kp);
    const out: Term[] = [];
    this.#scan(c, true, (o) => {
      const v = c.run(o);
      if (v !== NO_MATCH) out.push(v);
    });
    return out;
  }

  /**
   * Number of live objects for which `spec` returns `true`.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed spec.
   */
  selectCount(spec: MatchSpec): number {
    const c = compileMatchSpec(spec, this.#kp);
    let n = 0;
    this.#scan(c, false, (o) => {
      if (c.run(o) === true) n++;
    });
    return n;
  }

  /**
   * Removes every live object for which `spec` returns `true`; returns how many.
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a malformed spec.
   */
  selectDelete(spec: MatchSpec): number {
    this.#upgrade();
    const c = compileMatchSpec(spec, this.#kp);
    return this.#deleteWhere(c, (o) => c.run(o) === true);
  }

  /**
   * Replaces every live object matched by `spec` with the body result, which
   * must be a tuple with the same key. Objects keep their TTL and version; in
   * a `bag`, a replacement equal to another object of the key merges with it.
   *
   * As ETS, the spec is checked before any object is read: every clause's
   * body must return `$_` or a tuple whose key element is provably the
   * matched key (the head's key variable, an equal constant, or the key
   * rebuilt part by part). A body that could change the key
   * (`['+', $1, 0]` in the key position) is refused even when no object
   * matches.
   *
   * @returns the number of objects matched (and replaced).
   * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` for a body that can
   *   change the key, or when a result is not a tuple — then nothing
   *   changes; `SC_ERR_TOO_LARGE` when a key would exceed `maxBytes`.
   */
  selectReplace(spec: MatchSpec): number {
    this.#upgrade();
    const c = compileMatchSpec(spec, this.#kp);
    const kp = this.#kp;
    assertReplaceKeepsKey(spec, kp);
    const items: Item[] = [];
    const repl: Tuple[] = [];
    const now = this.#nowR();
    const check = (item: Item, o: Tuple): void => {
      const v = c.run(o);
      if (v === NO_MATCH) return;
      if (!Array.isArray(v) || v.length <= kp || !isTerm(v)) {
        throw err(
          'SC_ERR_BAD_MATCH_SPEC',
          `selectReplace: the body must return a tuple with a key, got ${describe(v)}`,
        );
      }
      if (!termsEqual(v[kp] as Term, o[kp] as Term)) {
        throw err('SC_ERR_BAD_MATCH_SPEC', 'selectReplace: the body must not change the key', {
          key: describe(o[kp]),
        });
      }
      items.push(item);
      repl.push(v as Tuple);
    };
    const visitRec = (r: Rec): void => {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > now) check(r, r.obj);
      } else {
        for (const it of r.items) if (it.hi === -1 || this.#heap.time(it) > now) check(it, it.obj);
      }
    };
    if (c.keyBound) {
      const r = this.#getRec(c.key as Term);
      if (r !== undefined) visitRec(r);
    } else {
      for (let r = this.#head(false); r !== undefined; r = this.#step(r, false)) visitRec(r);
    }
    if (items.length === 0) return 0;
    if (this.#maxBytes !== 0) this.#checkReplaceFit(items, repl);
    const touched: Bucket[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as Item;
      const v = repl[i] as Tuple;
      if (it instanceof Slot) this.#replaceObj(it, v);
      else {
        this.#bytes += termBytes(v) - termBytes(it.obj);
        it.obj = v;
        it.b.objs = undefined;
        if (!this.#dup && touched[touched.length - 1] !== it.b) touched.push(it.b);
      }
      this.#inserts++;
    }
    for (const b of touched) this.#dedupe(b);
    if (this.#lru) this.#enforce(undefined);
    if (this.#pending.length !== 0) this.#drain();
    return items.length;
  }

  // =========================================================================
  // Paging

  /**
   * One page of {@link Table.select}: at most `limit` results and, unless it
   * is the last page, a continuation. Pass the continuation alone to get the
   * next page. The last page may be empty.
   *
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `limit` is not an integer
   *   ≥ 1, `SC_ERR_BAD_CONTINUATION` for a malformed continuation.
   */
  selectPage(spec: MatchSpec, limit: number): Page<Term, Continuation>;
  selectPage(continuation: Continuation): Page<Term, Continuation>;
  selectPage(a: MatchSpec | Continuation, limit?: number): Page<Term, Continuation> {
    return this.#selectPaging(a, limit, 'select');
  }

  /**
   * One page of {@link Table.selectReverse} (ETS `select_reverse/3`): an
   * `ordered_set` is paged from its largest key down; the other types page
   * in the order of {@link Table.selectPage}, as `selectReverse` returns
   * the same list as `select` on them. Pass the continuation alone for the
   * next page.
   *
   * @throws SuperCacheError as {@link Table.selectPage}.
   */
  selectReversePage(spec: MatchSpec, limit: number): Page<Term, Continuation>;
  selectReversePage(continuation: Continuation): Page<Term, Continuation>;
  selectReversePage(a: MatchSpec | Continuation, limit?: number): Page<Term, Continuation> {
    return this.#selectPaging(a, limit, 'selectReverse');
  }

  #selectPaging(
    a: MatchSpec | Continuation,
    limit: number | undefined,
    kind: 'select' | 'selectReverse',
  ): Page<Term, Continuation> {
    this.#upgrade();
    let spec: MatchSpec;
    let lim: number;
    let start: ContinuationPosition | undefined;
    let c: CompiledMatchSpec;
    if (limit === undefined) {
      const cont = parseContinuation(a, kind) as SelectContinuation;
      spec = cont.spec;
      lim = cont.limit;
      start = cont;
      c = resumeCompile(() => compileMatchSpec(spec, this.#kp));
    } else {
      checkLimit(limit);
      spec = a as MatchSpec;
      lim = limit;
      c = compileMatchSpec(spec, this.#kp);
    }
    return this.#page<Term>(
      (o) => c.run(o),
      c,
      lim,
      start,
      (after, seq, offset) => ({ kind, spec, limit: lim, after, seq, offset }),
      kind === 'selectReverse' && this.#sorted !== undefined,
    );
  }

  /**
   * One page of {@link Table.match}; see {@link Table.selectPage}.
   * @throws SuperCacheError as {@link Table.selectPage}.
   */
  matchPage(pattern: Pattern, limit: number): Page<Term[], Continuation>;
  matchPage(continuation: Continuation): Page<Term[], Continuation>;
  matchPage(a: Pattern | Continuation, limit?: number): Page<Term[], Continuation> {
    this.#upgrade();
    const { pattern, lim, start, c } = this.#patternPaging(a, limit, 'match');
    return this.#page<Term[]>(
      (o) => c.match(o) ?? NO_MATCH,
      c,
      lim,
      start,
      (after, seq, offset) => ({ kind: 'match', pattern, limit: lim, after, seq, offset }),
    );
  }

  /**
   * One page of {@link Table.matchObject}; see {@link Table.selectPage}.
   * @throws SuperCacheError as {@link Table.selectPage}.
   */
  matchObjectPage(pattern: Pattern, limit: number): Page<Tuple, Continuation>;
  matchObjectPage(continuation: Continuation): Page<Tuple, Continuation>;
  matchObjectPage(a: Pattern | Continuation, limit?: number): Page<Tuple, Continuation> {
    this.#upgrade();
    const { pattern, lim, start, c } = this.#patternPaging(a, limit, 'matchObject');
    return this.#page<Tuple>(
      (o) => (c.test(o) ? o : NO_MATCH),
      c,
      lim,
      start,
      (after, seq, offset) => ({ kind: 'matchObject', pattern, limit: lim, after, seq, offset }),
    );
  }

  // =========================================================================
  // Iteration

  /**
   * The first key in table order: the smallest key of an `ordered_set`, the
   * oldest key of the other types (insertion order). `undefined` when empty.
   */
  first(): Term | undefined {
    this.#upgrade();
    return this.#liveKey(this.#head(false), false);
  }

  /** The last key in table order, `undefined` when empty. */
  last(): Term | undefined {
    this.#upgrade();
    return this.#liveKey(this.#head(true), true);
  }

  /**
   * The key after `key` in table order, `undefined` at the end. In an
   * `ordered_set`, `key` need not be present (the next greater key is
   * returned). In the other types `key` must be stored (an expired key that
   * neither the sweep nor a read has reclaimed still counts), as in ETS without
   * `safe_fixtable`; a walk that deletes keys should use paging or
   * {@link Table.entries}.
   *
   * @throws SuperCacheError `SC_ERR_BAD_ARG` (not `ordered_set`) when `key`
   *   is not in the table.
   */
  next(key: Term): Term | undefined {
    this.#upgrade();
    const sorted = this.#sorted;
    // Nothing can have expired: the index answers without touching records.
    if (sorted !== undefined && this.#heap.size === 0) return sorted.keyAfter(checkKey(key));
    return this.#liveKey(this.#stepFromKey(key, false), false);
  }

  /** The key before `key`; see {@link Table.next}. @throws SuperCacheError as {@link Table.next}. */
  prev(key: Term): Term | undefined {
    this.#upgrade();
    const sorted = this.#sorted;
    if (sorted !== undefined && this.#heap.size === 0) return sorted.keyBefore(checkKey(key));
    return this.#liveKey(this.#stepFromKey(key, true), true);
  }

  /**
   * Folds `fn` over the live objects in table order. `fn` may modify the
   * table: every key present for the whole fold is visited exactly once.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `fn` is not a function.
   */
  foldl<A>(fn: (obj: Tuple, acc: A) => A, acc: A): A {
    this.#upgrade();
    if (typeof fn !== 'function')
      throw badArg(`fn must be a function, got ${describe(fn)}`, { argument: 'fn' });
    for (let r = this.#head(false); r !== undefined; r = this.#step(r, false)) {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > this.#clock.now()) acc = fn(r.obj, acc);
        continue;
      }
      const objs = this.#bucketLive(r, this.#nowR());
      for (let i = 0; i < objs.length; i++) acc = fn(objs[i] as Tuple, acc);
    }
    return acc;
  }

  /**
   * As {@link Table.foldl}, in reverse table order.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `fn` is not a function.
   */
  foldr<A>(fn: (obj: Tuple, acc: A) => A, acc: A): A {
    this.#upgrade();
    if (typeof fn !== 'function')
      throw badArg(`fn must be a function, got ${describe(fn)}`, { argument: 'fn' });
    for (let r = this.#head(true); r !== undefined; r = this.#step(r, true)) {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > this.#clock.now()) acc = fn(r.obj, acc);
        continue;
      }
      const objs = this.#bucketLive(r, this.#nowR());
      for (let i = objs.length - 1; i >= 0; i--) acc = fn(objs[i] as Tuple, acc);
    }
    return acc;
  }

  // =========================================================================
  // Metadata API

  /**
   * The live objects of `key` with their metadata; no hit/miss count, no LRU
   * touch.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `key` is not a term.
   */
  lookupEntries(key: Term): readonly Entry[] {
    const pm = this.#pmap;
    if (pm !== undefined) {
      const o = plainGet(pm, key);
      return o === undefined ? [] : [{ obj: o, expiresAt: 0, version: undefined }];
    }
    const r = this.#getRec(key);
    return r === undefined ? [] : this.#entries(r, this.#nowR());
  }

  /**
   * Every live entry in table order, lazily. Safe under modification between
   * steps: every key present for the whole iteration is visited exactly once
   * (the objects of a bag key are read when the key is reached).
   */
  *entries(): IterableIterator<Entry> {
    this.#upgrade();
    for (let r = this.#head(false); r !== undefined; r = this.#step(r, false)) {
      if (r.seq < 0) continue;
      yield* this.#entries(r, this.#nowR());
    }
  }

  // =========================================================================
  // TTL and lifecycle

  /**
   * Reclaims up to `maxWork` expired objects now (the timer does the same
   * every `sweepIntervalMs`). Work is bounded: objects are taken from an
   * expiry heap, so only expired ones are examined.
   *
   * @returns the number of objects reclaimed.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `maxWork` is not a positive integer.
   */
  sweep(maxWork: number = this.#sweepBatch): number {
    if (!(Number.isSafeInteger(maxWork) || maxWork === Number.POSITIVE_INFINITY) || maxWork < 1) {
      throw badArg(`maxWork must be a positive integer, got ${describe(maxWork)}`);
    }
    const heap = this.#heap;
    let n = 0;
    if (heap.size !== 0) {
      const now = this.#clock.now();
      while (n < maxWork && heap.minTime() <= now) {
        this.#expireMin(now);
        n++;
      }
    }
    if (this.#pending.length !== 0) this.#drain();
    return n;
  }

  /**
   * Stops the sweep timer. Idempotent. The table stays usable: expired
   * objects stay invisible and `sweep()` still reclaims them, but no timer
   * is started again.
   */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  // =========================================================================
  // Private: keys and records

  // Writes to a plain table; false (after converting it) when the write
  // needs records.
  #plainWrite(o: Tuple, exp: number, ver: string | undefined): boolean {
    const key = o[this.#kp] as Term;
    if (exp !== 0 || ver !== undefined || Array.isArray(key)) {
      this.#upgrade();
      return false;
    }
    const pm = this.#pmap as Map<MapKey, Tuple>;
    const mk = typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE ? key : primitiveMapKey(key);
    // One hash operation: a new key is told by the size. Bytes are not
    // tracked here (that would need the old value); #memory() sums them.
    const n = pm.size;
    pm.set(mk, o);
    if (pm.size !== n) this.#count++;
    this.#plainBytes = -1;
    this.#inserts++;
    return true;
  }

  #plainRemove(pm: Map<MapKey, Tuple>, key: Term): Tuple | undefined {
    if (Array.isArray(key)) {
      assertTerm(key, 'key');
      return undefined;
    }
    const mk = primitiveMapKey(key);
    const o = pm.get(mk);
    if (o !== undefined) {
      pm.delete(mk);
      this.#count--;
      this.#plainBytes = -1;
      this.#deletes++;
    }
    return o;
  }

  // Converts a plain table to records, keeping the insertion order.
  #upgrade(): void {
    const pm = this.#pmap;
    if (pm === undefined) return;
    this.#pmap = undefined;
    const map = this.#map;
    let bytes = 0;
    for (const [mk, o] of pm) {
      map.set(mk, new Slot(o, undefined, this.#seq++));
      bytes += termBytes(o);
    }
    this.#bytes = bytes;
  }

  // Validates a tuple; flat tuples of primitives skip the deep walk.
  #checkObj(obj: unknown): Tuple {
    if (Array.isArray(obj) && obj.length > this.#kp && isFlatTuple(obj)) return obj as Tuple;
    return assertTuple(obj, this.#kp);
  }

  #checkObjs(objs: readonly Tuple[]): Tuple[] {
    if (!Array.isArray(objs)) throw badArg('objects must be an array of tuples');
    const out: Tuple[] = [];
    for (const o of objs) out.push(this.#checkObj(o));
    return out;
  }

  #expOf(opts: InsertOptions | undefined): number {
    let ttl = this.#ttl;
    if (opts !== undefined) {
      if (typeof opts !== 'object' || opts === null) throw badArg('insert options must be an object');
      const t = opts.ttl;
      if (t !== undefined) {
        if (!isNonNegNumber(t)) throw badArg(`ttl must be a non-negative number, got ${describe(t)}`);
        ttl = t === Number.POSITIVE_INFINITY ? 0 : t;
      }
    }
    return ttl === 0 ? 0 : this.#clock.now() + ttl;
  }

  // Clock time for liveness checks; no clock call when nothing can expire.
  #nowR(): number {
    return this.#heap.size === 0 ? 0 : this.#clock.now();
  }

  #recKey(r: Rec): Term {
    return r instanceof Slot ? (r.obj[this.#kp] as Term) : r.key;
  }

  /** The record of `key` (no scratch needed by readers). */
  #getRec(key: Term): Rec | undefined {
    return typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE
      ? this.#map.get(key)
      : this.#findSlow(key);
  }

  /** The record of `key`, leaving in #mk/#where where to link a new one. */
  #find(key: Term): Rec | undefined {
    if (typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE) {
      this.#where = IN_MAP;
      this.#mk = key;
      return this.#map.get(key);
    }
    return this.#findSlow(key);
  }

  #findSlow(key: Term): Rec | undefined {
    if (Array.isArray(key)) {
      if (key.length === 2 && !this.#c2Off) {
        const a = key[0];
        const b = key[1];
        if (isPrimitive(a) && isPrimitive(b)) {
          this.#where = IN_C2;
          this.#mk = a;
          this.#mkB = b;
          return this.#c2.get(a)?.get(b);
        }
      }
      const h = flatHash(key);
      if (h !== undefined) {
        this.#where = IN_CMAP;
        const cm = this.#cmap;
        const r = cm.get(h);
        if (r !== undefined && flatEqual(this.#recKey(r) as readonly unknown[], key)) {
          this.#mk = h;
          return r;
        }
        if (this.#ccoll === 0) {
          this.#mk = r === undefined ? h : keyOf(key);
          return undefined;
        }
        const s = keyOf(key) as string;
        const r2 = cm.get(s);
        this.#mk = r2 !== undefined || r !== undefined ? s : h;
        return r2;
      }
    }
    this.#where = IN_MAP;
    const mk = primitiveMapKey(key);
    this.#mk = mk;
    return this.#map.get(mk);
  }

  // Links a new record where the last #find said.
  #link(r: Rec): void {
    this.#linkMap(r);
    if (this.#sorted !== undefined) this.#sorted.insert(this.#recKey(r), r as Slot);
    else if (this.#seqIdx !== undefined) this.#seqIdx.add(r);
    if (this.#lru) this.#lruTouch(r);
  }

  #linkMap(r: Rec): void {
    const where = this.#where;
    if (where === IN_MAP) this.#map.set(this.#mk, r);
    else if (where === IN_CMAP) {
      const mk = this.#mk as number | string;
      this.#cmap.set(mk, r);
      if (typeof mk === 'string') this.#ccoll++;
    } else {
      let inner = this.#c2.get(this.#mk);
      if (inner === undefined) {
        inner = new Map();
        this.#c2.set(this.#mk, inner);
      }
      inner.set(this.#mkB, r);
      this.#c2Count++;
      // Mostly tiny inner maps: pairs keyed by id first ([id, 'field']).
      if (this.#c2.size > 1024 && this.#c2.size * 8 > this.#c2Count) this.#c2Migrate();
    }
  }

  #c2Migrate(): void {
    this.#c2Off = true;
    const inner = [...this.#c2.values()];
    this.#c2.clear();
    this.#c2Count = 0;
    for (const m of inner) {
      for (const r of m.values()) {
        this.#findSlow(this.#recKey(r));
        this.#linkMap(r);
      }
    }
  }

  #unlinkMap(r: Rec): void {
    const key = this.#recKey(r);
    if (typeof key === 'string' && key.charCodeAt(0) !== ESC_CODE) {
      this.#map.delete(key);
      return;
    }
    if (Array.isArray(key)) {
      if (key.length === 2 && !this.#c2Off) {
        const a = key[0];
        const b = key[1];
        if (isPrimitive(a) && isPrimitive(b)) {
          const inner = this.#c2.get(a);
          if (inner?.delete(b) === true) {
            this.#c2Count--;
            if (inner.size === 0) this.#c2.delete(a);
          }
          return;
        }
      }
      const h = flatHash(key);
      if (h !== undefined) {
        if (this.#cmap.get(h) === r) this.#cmap.delete(h);
        else {
          this.#cmap.delete(keyOf(key) as string);
          this.#ccoll--;
        }
        return;
      }
    }
    this.#map.delete(keyOf(key));
  }

  // =========================================================================
  // Private: writing

  #writeSet(obj: Tuple, exp: number, ver: string | undefined): Slot {
    const key = obj[this.#kp] as Term;
    let s = this.#find(key) as Slot | undefined;
    if (s !== undefined && s.hi !== -1) {
      const now = this.#clock.now();
      if (this.#heap.time(s) <= now) {
        // An expired object is gone: the key starts afresh (new position).
        this.#drop(s, SILENT, now);
        s = this.#find(key) as Slot | undefined;
      }
    }
    if (s === undefined) {
      s = new Slot(obj, ver, this.#seq++);
      this.#link(s);
      this.#count++;
    } else {
      this.#bytes -= termBytes(s.obj);
      s.obj = obj;
      s.ver = ver;
      if (this.#lru) this.#lruTouch(s);
    }
    this.#bytes += termBytes(obj);
    if (exp !== 0) this.#setExp(s, exp);
    else if (s.hi !== -1) this.#clearExp(s);
    this.#inserts++;
    return s;
  }

  #writeBag(obj: Tuple, exp: number, ver: string | undefined): Bucket {
    const key = obj[this.#kp] as Term;
    let b = this.#find(key) as Bucket | undefined;
    if (b !== undefined && b.nexp !== 0 && !this.#purge(b, this.#clock.now()))
      b = this.#find(key) as undefined;
    let it: BagItem | undefined;
    if (b === undefined) {
      b = new Bucket(key, this.#seq++);
      this.#link(b);
    } else {
      if (!this.#dup) {
        for (const x of b.items) {
          if (termsEqual(x.obj, obj)) {
            it = x;
            break;
          }
        }
      }
      if (this.#lru) this.#lruTouch(b);
    }
    if (it === undefined) {
      it = new BagItem(obj, ver, b);
      b.items.push(it);
      this.#count++;
    } else {
      this.#bytes -= termBytes(it.obj);
      it.obj = obj;
      it.ver = ver;
    }
    b.objs = undefined;
    this.#bytes += termBytes(obj);
    if (exp !== 0) this.#setExp(it, exp);
    else if (it.hi !== -1) this.#clearExp(it);
    this.#inserts++;
    return b;
  }

  #replaceObj(s: Slot, next: Tuple): void {
    this.#bytes += termBytes(next) - termBytes(s.obj);
    s.obj = next;
  }

  // A bag must not hold two equal objects: keeps the first of each.
  #dedupe(b: Bucket): void {
    const items = b.items;
    for (let i = 1; i < items.length; i++) {
      const o = (items[i] as BagItem).obj;
      for (let j = 0; j < i; j++) {
        if (termsEqual((items[j] as BagItem).obj, o)) {
          const it = items[i] as BagItem;
          items.splice(i, 1);
          i--;
          this.#gone(it, SILENT, -1);
          break;
        }
      }
    }
    b.objs = undefined;
  }

  #setExp(item: Item, exp: number): void {
    if (item.hi === -1 && item instanceof BagItem) item.b.nexp++;
    this.#heap.set(item, exp);
    if (this.#timer === undefined && this.#sweepMs !== 0 && !this.#closed) {
      const t = setInterval(() => this.#tick(), this.#sweepMs);
      t.unref();
      this.#timer = t;
    }
  }

  #clearExp(item: Item): void {
    if (item.hi === -1) return;
    this.#heap.remove(item);
    if (item instanceof BagItem) item.b.nexp--;
  }

  #tick(): void {
    if (this.#heap.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.sweep(this.#sweepBatch);
  }

  // =========================================================================
  // Private: removal

  /**
   * Removes a whole key. Objects that had expired are counted (and reported)
   * as expirations whatever `why` says. Returns the live objects removed.
   */
  #drop(r: Rec, why: Why, now: number): number {
    this.#unlinkMap(r);
    r.seq = -r.seq - 1;
    if (this.#sorted !== undefined) this.#sorted.remove(this.#recKey(r));
    else if (this.#seqIdx !== undefined) this.#seqIdx.killed();
    if (this.#lru) this.#lruUnlink(r);
    if (r instanceof Slot) return this.#gone(r, why, now) ? 1 : 0;
    let live = 0;
    for (const it of r.items) if (this.#gone(it, why, now)) live++;
    return live;
  }

  /** Accounts for one object leaving; true when it was live. */
  #gone(it: Item, why: Why, now: number): boolean {
    this.#count--;
    this.#bytes -= termBytes(it.obj);
    if (it.hi !== -1) {
      const t = this.#heap.time(it);
      if (now < 0) now = this.#clock.now();
      const expired = t <= now;
      if (expired && this.#onRemove !== undefined) this.#emit(it, 'expired');
      this.#clearExp(it);
      if (expired) {
        this.#expirations++;
        return false;
      }
    }
    if (why === DELETE) this.#deletes++;
    else if (why === EVICT) {
      this.#evictions++;
      if (this.#onRemove !== undefined) this.#emit(it, 'evicted');
    }
    return true;
  }

  // Removes the live objects of a bucket for which `pred` holds; returns how many.
  #removeItems(b: Bucket, pred: (o: Tuple) => boolean, now: number): number {
    const keep: BagItem[] = [];
    const gone: BagItem[] = [];
    if (now < 0) now = this.#nowR();
    for (const it of b.items) {
      if ((it.hi === -1 || this.#heap.time(it) > now) && pred(it.obj)) gone.push(it);
      else keep.push(it);
    }
    if (gone.length === 0) return 0;
    b.items = keep;
    b.objs = undefined;
    for (const it of gone) this.#gone(it, DELETE, now);
    if (keep.length === 0) this.#drop(b, DELETE, now);
    return gone.length;
  }

  // Removes the expired objects of a bucket; false when the bucket is gone.
  #purge(b: Bucket, now: number): boolean {
    const heap = this.#heap;
    const expired = b.items.filter((it) => it.hi !== -1 && heap.time(it) <= now);
    if (expired.length === 0) return true;
    b.items = b.items.filter((it) => it.hi === -1 || heap.time(it) > now);
    b.objs = undefined;
    for (const it of expired) this.#gone(it, SILENT, now);
    if (b.items.length === 0) {
      this.#drop(b, SILENT, now);
      return false;
    }
    return true;
  }

  // Reclaims the object at the top of the expiry heap.
  #expireMin(now: number): void {
    const it = this.#heap.min() as Item;
    if (it instanceof Slot) {
      this.#drop(it, SILENT, now);
      return;
    }
    const b = it.b;
    const i = b.items.indexOf(it);
    if (i !== -1) b.items.splice(i, 1);
    b.objs = undefined;
    this.#gone(it, SILENT, now);
    if (b.items.length === 0) this.#drop(b, SILENT, now);
  }

  #deleteWhere(
    c: { readonly keyBound: boolean; readonly key: Term | undefined },
    pred: (o: Tuple) => boolean,
  ): number {
    let n = 0;
    const del = (r: Rec): void => {
      const now = this.#nowR();
      if (r instanceof Slot) {
        if ((r.hi === -1 || this.#heap.time(r) > now) && pred(r.obj)) n += this.#drop(r, DELETE, now);
      } else n += this.#removeItems(r, pred, now);
    };
    if (c.keyBound) {
      const r = this.#getRec(c.key as Term);
      if (r !== undefined) del(r);
    } else {
      for (let r = this.#head(false); r !== undefined; r = this.#step(r, false)) del(r);
    }
    if (this.#pending.length !== 0) this.#drain();
    return n;
  }

  #emit(it: Item, reason: RemovalReason): void {
    this.#pending.push({ entry: this.#entryOf(it), reason });
  }

  // Delivers pending onRemove calls once the table is consistent. A throwing
  // callback does not stop the others; the first error is rethrown.
  #drain(): void {
    const cb = this.#onRemove;
    const pending = this.#pending;
    if (cb === undefined) {
      pending.length = 0;
      return;
    }
    let failed = false;
    let first: unknown;
    while (pending.length !== 0) {
      const p = pending.shift() as PendingRemoval;
      try {
        cb(p.entry, p.reason);
      } catch (e) {
        if (!failed) {
          failed = true;
          first = e;
        }
      }
    }
    if (failed) throw first;
  }

  // =========================================================================
  // Private: capacity

  // Throws SC_ERR_TOO_LARGE when a key would alone exceed a limit after the
  // write of `objs` (so eviction never has to evict the key being written).
  #checkFit(objs: readonly Tuple[]): void {
    const me = this.#maxEntries;
    const mb = this.#maxBytes;
    if (!this.#bag) {
      if (mb === 0) return;
      for (const o of objs) {
        const n = termBytes(o);
        if (n > mb) throw tooLarge(`an object of ~${n} bytes exceeds maxBytes ${mb}`);
      }
      return;
    }
    const groups = new Map<MapKey, Tuple[]>();
    const now = this.#nowR();
    for (const o of objs) {
      const key = o[this.#kp] as Term;
      const k = keyOf(key);
      let list = groups.get(k);
      if (list === undefined) {
        const r = this.#getRec(key);
        list = r === undefined ? [] : this.#live(r, now).slice();
        groups.set(k, list);
      }
      if (!this.#dup && list.some((x) => termsEqual(x, o))) continue;
      list.push(o);
      if (me !== 0 && list.length > me)
        throw tooLarge(`a key would hold ${list.length} objects, over maxEntries ${me}`);
    }
    if (mb !== 0) {
      for (const list of groups.values()) {
        const n = sumBytes(list);
        if (n > mb) throw tooLarge(`a key would hold ~${n} bytes, over maxBytes ${mb}`);
      }
    }
  }

  #checkReplaceFit(items: readonly Item[], repl: readonly Tuple[]): void {
    const mb = this.#maxBytes;
    const perRec = new Map<Rec, number>();
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as Item;
      const r: Rec = it instanceof Slot ? it : it.b;
      let n = perRec.get(r);
      if (n === undefined) n = r instanceof Slot ? termBytes(r.obj) : sumBytes(r.items.map((x) => x.obj));
      n += termBytes(repl[i] as Tuple) - termBytes(it.obj);
      perRec.set(r, n);
    }
    for (const n of perRec.values())
      if (n > mb) throw tooLarge(`a key would hold ~${n} bytes, over maxBytes ${mb}`);
  }

  // Evicts least recently used keys (expired objects first) until within
  // the limits; never evicts `protect`.
  #enforce(protect: Rec | undefined): void {
    const me = this.#maxEntries;
    const mb = this.#maxBytes;
    const heap = this.#heap;
    while ((me !== 0 && this.#count > me) || (mb !== 0 && this.#bytes > mb)) {
      if (heap.size !== 0) {
        const now = this.#clock.now();
        if (heap.minTime() <= now) {
          this.#expireMin(now);
          continue;
        }
      }
      const v = this.#lruVictim(protect);
      if (v === undefined) break;
      this.#drop(v, EVICT, -1);
    }
  }

  // Marks a record most recently used.
  #lruTouch(r: Rec): void {
    const q = this.#lq;
    const last = q.length - 1;
    if (r.tick === last && last >= this.#lqHead) return;
    r.tick = q.length;
    q.push(r);
    if (q.length > 2 * this.#count + 1024) this.#lruCompact();
  }

  #lruUnlink(r: Rec): void {
    r.tick = -1;
  }

  // The least recently used record other than `protect`.
  #lruVictim(protect: Rec | undefined): Rec | undefined {
    const q = this.#lq;
    let i = this.#lqHead;
    while (i < q.length && (q[i] as Rec).tick !== i) i++;
    this.#lqHead = i;
    for (; i < q.length; i++) {
      const r = q[i] as Rec;
      if (r.tick === i && r !== protect) return r;
    }
    return undefined;
  }

  #lruCompact(): void {
    const q = this.#lq;
    const out: Rec[] = [];
    for (let i = this.#lqHead; i < q.length; i++) {
      const r = q[i] as Rec;
      if (r.tick === i) {
        r.tick = out.length;
        out.push(r);
      }
    }
    this.#lq = out;
    this.#lqHead = 0;
  }

  // =========================================================================
  // Private: reading and walking

  // A counted read (lookup, member, lookupElement) found `r` with no live
  // object: it expired before the sweep reached it. Reclaims it now, so it
  // counts as an expiration (once) instead of a miss. True when it did.
  #readExpired(r: Rec | undefined): boolean {
    if (r === undefined) return false;
    this.#drop(r, SILENT, this.#clock.now());
    if (this.#pending.length !== 0) this.#drain();
    return true;
  }

  #isLive(r: Rec, now: number): boolean {
    if (r instanceof Slot) return r.hi === -1 || this.#heap.time(r) > now;
    if (r.nexp === 0) return r.items.length !== 0;
    for (const it of r.items) if (it.hi === -1 || this.#heap.time(it) > now) return true;
    return false;
  }

  // Live objects of a record; shared arrays, never mutated in place.
  #live(r: Rec, now: number): readonly Tuple[] {
    if (r instanceof Slot) {
      if (r.hi !== -1 && this.#heap.time(r) <= now) return EMPTY;
      return [r.obj];
    }
    return this.#bucketLive(r, now);
  }

  #bucketLive(b: Bucket, now: number): readonly Tuple[] {
    if (b.nexp !== 0) {
      const heap = this.#heap;
      const items = b.items;
      let out: Tuple[] | undefined;
      for (let i = 0; i < items.length; i++) {
        const it = items[i] as BagItem;
        if (it.hi !== -1 && heap.time(it) <= now) {
          if (out === undefined) {
            out = [];
            for (let j = 0; j < i; j++) out.push((items[j] as BagItem).obj);
          }
        } else if (out !== undefined) out.push(it.obj);
      }
      if (out !== undefined) return out;
    }
    return b.objs ?? (b.objs = b.items.map((it) => it.obj));
  }

  #entryOf(it: Item): Entry {
    return { obj: it.obj, expiresAt: it.hi === -1 ? 0 : this.#heap.time(it), version: it.ver };
  }

  #entries(r: Rec, now: number): Entry[] {
    const heap = this.#heap;
    if (r instanceof Slot) return r.hi === -1 || heap.time(r) > now ? [this.#entryOf(r)] : [];
    const out: Entry[] = [];
    for (const it of r.items) if (it.hi === -1 || heap.time(it) > now) out.push(this.#entryOf(it));
    return out;
  }

  #memory(): number {
    const pm = this.#pmap;
    if (pm !== undefined) {
      if (this.#plainBytes < 0) {
        let n = 0;
        for (const o of pm.values()) n += termBytes(o);
        this.#plainBytes = n;
      }
      return this.#plainBytes;
    }
    const heap = this.#heap;
    let n = this.#bytes;
    if (heap.size !== 0) heap.forEachAtMost(this.#clock.now(), (it) => (n -= termBytes(it.obj)));
    return n;
  }

  #seqIndex(): SeqIndex<Rec> {
    let idx = this.#seqIdx;
    if (idx === undefined) {
      let all = [...this.#map.values()];
      // #map alone is already in insertion order (ascending seq).
      if (this.#cmap.size !== 0 || this.#c2.size !== 0) {
        for (const r of this.#cmap.values()) all.push(r);
        for (const m of this.#c2.values()) for (const r of m.values()) all.push(r);
        all = all.sort((x, y) => x.seq - y.seq);
      }
      idx = new SeqIndex<Rec>(all);
      this.#seqIdx = idx;
    }
    return idx;
  }

  #head(rev: boolean): Rec | undefined {
    const sorted = this.#sorted;
    if (sorted !== undefined) return rev ? sorted.last() : sorted.first();
    const idx = this.#seqIndex();
    return rev ? idx.last() : idx.first();
  }

  // The record after `r` (which may have been removed meanwhile).
  #step(r: Rec, rev: boolean): Rec | undefined {
    const sorted = this.#sorted;
    if (sorted !== undefined) {
      const k = (r as Slot).obj[this.#kp] as Term;
      return rev ? sorted.before(k) : sorted.after(k);
    }
    const idx = this.#seqIndex();
    return rev ? idx.before(r) : idx.after(r);
  }

  #stepFromKey(key: Term, rev: boolean): Rec | undefined {
    const sorted = this.#sorted;
    if (sorted !== undefined) {
      if (typeof key === 'object' && key !== null) assertTerm(key, 'key');
      else if (key === undefined || typeof key === 'function' || typeof key === 'symbol')
        assertTerm(key, 'key');
      return rev ? sorted.before(key) : sorted.after(key);
    }
    const r = this.#getRec(key);
    if (r === undefined) {
      throw badArg(`${rev ? 'prev' : 'next'}: key ${describe(key)} is not in the ${this.#type} table`, {
        key: describe(key),
      });
    }
    return this.#step(r, rev);
  }

  // The key of the first live record from `r` on.
  #liveKey(r: Rec | undefined, rev: boolean): Term | undefined {
    const now = this.#nowR();
    while (r !== undefined && !this.#isLive(r, now)) r = this.#step(r, rev);
    return r === undefined ? undefined : this.#recKey(r);
  }

  #scan(
    c: { readonly keyBound: boolean; readonly key: Term | undefined },
    rev: boolean,
    visit: (o: Tuple) => void,
  ): void {
    const pm = this.#pmap;
    if (pm !== undefined) {
      if (c.keyBound) {
        const o = plainGet(pm, c.key as Term);
        if (o !== undefined) visit(o);
      } else if (rev) {
        const all = [...pm.values()];
        for (let i = all.length - 1; i >= 0; i--) visit(all[i] as Tuple);
      } else for (const o of pm.values()) visit(o);
      return;
    }
    const now = this.#nowR();
    if (c.keyBound) {
      const r = this.#getRec(c.key as Term);
      if (r === undefined) return;
      const objs = this.#live(r, now);
      if (rev) for (let i = objs.length - 1; i >= 0; i--) visit(objs[i] as Tuple);
      else for (const o of objs) visit(o);
      return;
    }
    for (let r = this.#head(rev); r !== undefined; r = this.#step(r, rev)) {
      if (r instanceof Slot) {
        if (r.hi === -1 || this.#heap.time(r) > now) visit(r.obj);
        continue;
      }
      const objs = this.#bucketLive(r, now);
      if (rev) for (let i = objs.length - 1; i >= 0; i--) visit(objs[i] as Tuple);
      else for (const o of objs) visit(o);
    }
  }

  #patternPaging(
    a: Pattern | Continuation,
    limit: number | undefined,
    kind: 'match' | 'matchObject',
  ): { pattern: Pattern; lim: number; start: ContinuationPosition | undefined; c: CompiledPattern } {
    if (limit === undefined) {
      const cont = parseContinuation(a, kind) as MatchContinuation;
      const pattern = cont.pattern;
      return {
        pattern,
        lim: cont.limit,
        start: cont,
        c: resumeCompile(() => compilePattern(pattern, this.#kp)),
      };
    }
    checkLimit(limit);
    return { pattern: a as Pattern, lim: limit, start: undefined, c: compilePattern(a as Pattern, this.#kp) };
  }

  #page<T>(
    produce: (o: Tuple) => T | typeof NO_MATCH,
    c: { readonly keyBound: boolean; readonly key: Term | undefined },
    limit: number,
    start: ContinuationPosition | undefined,
    cont: (after: Term, seq: number, offset: number) => Continuation,
    rev = false,
  ): Page<T, Continuation> {
    const items: T[] = [];
    const now = this.#nowR();
    let r: Rec | undefined;
    let offset = 0;
    if (c.keyBound) {
      // Only one key can match; a continuation can only point inside it.
      if (start !== undefined && start.offset === 0) return { items };
      r = this.#getRec(c.key as Term);
      if (r === undefined) return { items };
      offset = start === undefined ? 0 : start.offset;
      const objs = this.#live(r, now);
      for (let i = offset; i < objs.length; i++) {
        const v = produce(objs[i] as Tuple);
        if (v === NO_MATCH) continue;
        items.push(v);
        if (items.length === limit && i + 1 < objs.length) {
          return { items, continuation: cont(this.#recKey(r), seqOf(r), i + 1) };
        }
      }
      return { items };
    }
    if (start === undefined) r = this.#head(rev);
    else if (rev) {
      // Only an ordered_set pages backwards: one object per key, no offset.
      r = (this.#sorted as SortedIndex<Slot>).before(start.after);
    } else {
      if (start.offset > 0) {
        const inside = this.#getRec(start.after);
        if (inside !== undefined && (this.#sorted !== undefined || inside.seq === start.seq)) {
          r = inside;
          offset = start.offset;
        }
      }
      if (r === undefined) {
        r =
          this.#sorted !== undefined ? this.#sorted.after(start.after) : this.#seqIndex().afterSeq(start.seq);
      }
    }
    for (; r !== undefined; r = this.#step(r, rev)) {
      const objs = this.#live(r, now);
      for (let i = offset; i < objs.length; i++) {
        const v = produce(objs[i] as Tuple);
        if (v === NO_MATCH) continue;
        items.push(v);
        if (items.length === limit) {
          if (i + 1 < objs.length) return { items, continuation: cont(this.#recKey(r), seqOf(r), i + 1) };
          let nx = this.#step(r, rev);
          while (nx !== undefined && !this.#isLive(nx, now)) nx = this.#step(nx, rev);
          if (nx === undefined) return { items };
          return { items, continuation: cont(this.#recKey(r), seqOf(r), 0) };
        }
      }
      offset = 0;
    }
    return { items };
  }
}

// ---------------------------------------------------------------------------
// Helpers

// Validates a key given to a read that does not go through a map lookup.
function checkKey(key: Term): Term {
  const t = typeof key;
  if (t === 'string' || t === 'number') return key;
  return assertTerm(key, 'key');
}

// The version of insert options; validated (#expOf checked the object).
function verOf(opts: InsertOptions | undefined): string | undefined {
  const v = opts?.version;
  if (v !== undefined && typeof v !== 'string') throw badArg(`version must be a string, got ${describe(v)}`);
  return v;
}

function isPrimitive(v: unknown): boolean {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint' || v === null;
}

// A plain table's object of a key; array keys are never stored there.
function plainGet(pm: Map<MapKey, Tuple>, key: Term): Tuple | undefined {
  if (Array.isArray(key)) {
    assertTerm(key, 'key');
    return undefined;
  }
  return pm.get(primitiveMapKey(key));
}

// The #map key of a key that is not a flat tuple; validates it.
function primitiveMapKey(key: Term): MapKey {
  switch (typeof key) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return key;
    case 'string':
      return keyOf(key);
    default:
      if (key === null) return null;
      assertTerm(key, 'key');
      return keyOf(key);
  }
}

function tooLarge(message: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_TOO_LARGE', message);
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw badArg(`limit must be an integer >= 1, got ${describe(limit)}`);
}

// [pos, incr, threshold, setValue, hasThreshold]
function parseCounterOp(op: unknown, kp: number): readonly [number, number, number, number, boolean] {
  let pos: unknown;
  let incr: unknown;
  let threshold: unknown = 0;
  let setValue: unknown = 0;
  let has = false;
  if (typeof op === 'number') {
    pos = kp + 1;
    incr = op;
  } else if (Array.isArray(op) && (op.length === 2 || op.length === 4)) {
    pos = op[0];
    incr = op[1];
    if (op.length === 4) {
      threshold = op[2];
      setValue = op[3];
      has = true;
    }
  } else {
    throw badArg('a counter op must be incr, [pos, incr] or [pos, incr, threshold, setValue]');
  }
  if (!Number.isSafeInteger(pos) || (pos as number) < 0) {
    throw err('SC_ERR_BAD_COUNTER', `counter position must be a non-negative integer, got ${describe(pos)}`);
  }
  if (pos === kp)
    throw err('SC_ERR_BAD_COUNTER', `counter position ${kp} is the key position`, { position: kp });
  for (const v of [incr, threshold, setValue]) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw badArg(`counter increment, threshold and value must be finite numbers, got ${describe(v)}`);
    }
  }
  return [pos as number, incr as number, threshold as number, setValue as number, has];
}

function badCont(message: string, cause?: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_CONTINUATION', message, cause === undefined ? {} : { cause });
}

function parseContinuation(c: unknown, kind: Continuation['kind']): Continuation {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw badCont('not a continuation');
  const o = c as Record<string, unknown>;
  if (o.kind !== kind) throw badCont(`expected a ${kind} continuation, got kind ${describe(o.kind)}`);
  if (!Number.isSafeInteger(o.limit) || (o.limit as number) < 1)
    throw badCont('continuation has a bad limit');
  if (!Number.isSafeInteger(o.offset) || (o.offset as number) < 0)
    throw badCont('continuation has a bad offset');
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0) throw badCont('continuation has a bad seq');
  if (!('after' in o) || !isTerm(o.after)) throw badCont('continuation has a bad after key');
  if (kind === 'select' || kind === 'selectReverse') {
    if (!Array.isArray(o.spec)) throw badCont('continuation has no match spec');
  } else if (!('pattern' in o) || o.pattern === undefined) throw badCont('continuation has no pattern');
  return c as Continuation;
}

function resumeCompile<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw badCont('continuation holds an invalid pattern or match spec', e);
  }
}
