/**
 * The asynchronous table API over any backend: single-key operations go to
 * the owner of their partition, fan-out operations reach every node and are
 * merged, and paging walks server-side cursors one page at a time.
 */

import {
  assertTuple,
  type CounterOp,
  isFlatTuple,
  isTerm,
  keyOf,
  type MapKey,
  type MatchSpec,
  type Page,
  type Pattern,
  SuperCacheError,
  type TableStats,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';
import type { Backend, BackendCursor, RouteOptions } from './backend.js';
import {
  checkCallOptions,
  extendShape,
  KEY_READ_SHAPE,
  KEY_WRITE_SHAPE,
  READ_SHAPE,
  type ReadMode,
  ROUTE_SHAPE,
  STREAM_SHAPE,
  WRITE_SHAPE,
} from './call-options.js';
import {
  type FanoutItem,
  type FanoutResult,
  fanoutItems,
  type NodeArgs,
  type NodeResult,
  type ShardArgs,
  type TypedBackend,
  typedBackend,
} from './command-map.js';
import type { CursorKind } from './shard-set.js';

/** Options of a read. */
export interface ReadOptions extends RouteOptions {
  /**
   * Which copy answers in distributed mode (see {@link ReadMode}); in one
   * process every mode reads the one copy. @defaultValue 'local'
   */
  readMode?: ReadMode;
}

/** Options of a single-key write. */
export interface KeyOptions extends RouteOptions {
  /**
   * Partition data, when it differs from the key (SuperCache's
   * `partitionPos`). @defaultValue the key itself
   */
  partition?: Term;
}

/** Options of a single-key read. */
export interface KeyReadOptions extends KeyOptions, ReadOptions {}

/** Options of {@link TableRouter.lookupElement}. */
export interface LookupElementOptions extends KeyReadOptions {
  /**
   * Answered when the key has no object, instead of `SC_ERR_NOT_FOUND`
   * (ETS `lookup_element/4`). Any term. @defaultValue none: a missing key throws
   */
  default?: Term;
}

/** Options of a write. */
export interface WriteOptions extends RouteOptions {
  /** Time to live in ms for the written objects: a finite number ≥ 0 (0 = none). */
  ttl?: number;
}

/** Options of a stream or a fold. */
export interface StreamOptions extends ReadOptions {
  /** Objects fetched per page from each node. @defaultValue 1000 */
  pageSize?: number;
}

/**
 * A paging continuation: pass it back alone for the next page. One object
 * stands for the whole paging; once the last page was read, or
 * `closeCursor` released it, it is refused with `SC_ERR_BAD_CONTINUATION`.
 */
export class TableCursor {
  /** @internal Why the paging is over, once it is. */
  ended: 'finished' | 'closed' | undefined;
  /** @internal */
  constructor(
    readonly kind: CursorKind,
    readonly limit: number,
    /** @internal */ readonly inner: BackendCursor,
  ) {
    this.ended = undefined;
  }
}

const LOOKUP_ELEMENT_SHAPE = extendShape(KEY_READ_SHAPE, {
  default: (v) => (isTerm(v) ? undefined : 'a term'),
});

function checkFn(op: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `${op}: fn must be a function, got ${typeof fn}`, {
      details: { op, argument: 'fn' },
    });
  }
}

function notACursor(op: string, value: unknown): SuperCacheError {
  const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new SuperCacheError(
    'SC_ERR_BAD_ARG',
    `${op}: continuation must be the continuation of a page, got ${what}`,
    { details: { op, argument: 'continuation' } },
  );
}

/** Options of {@link TableRouter}. */
export interface TableRouterOptions {
  /** Position of the partition data in a tuple. @defaultValue the backend's keyPos */
  partitionPos?: number;
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `limit must be a positive integer, got ${String(limit)}`);
  }
  return limit;
}

/** The fan-out reads whose results are lists of items. */
type FanoutRead = 'select' | 'selectReverse' | 'match' | 'matchObject' | 'tab2list';

/** One partition's share of a batch: the partition data of its first tuple routes it. */
interface Group {
  readonly pd: Term;
  readonly objs: Tuple[];
}

/**
 * The routed, asynchronous table. Every method checks its options bag
 * (`SC_ERR_BAD_ARG` naming an unknown or mistyped option) before it routes.
 */
export class TableRouter {
  readonly backend: Backend;
  readonly type: TableType;
  readonly keyPos: number;
  readonly partitionPos: number;
  readonly #b: TypedBackend;
  readonly #maxPos: number;

  constructor(backend: Backend, options: TableRouterOptions = {}) {
    this.backend = backend;
    this.#b = typedBackend(backend);
    this.type = backend.type;
    this.keyPos = backend.keyPos;
    this.partitionPos = options.partitionPos ?? backend.keyPos;
    this.#maxPos = Math.max(this.keyPos, this.partitionPos);
  }

  #pd(key: Term, options: KeyOptions | undefined): Term {
    return options?.partition !== undefined ? options.partition : key;
  }

  /**
   * Validates a tuple to store. A flat tuple of primitives (the common case)
   * is checked in one pass without allocating; anything else takes the full
   * term walk.
   */
  #tuple(obj: unknown): Tuple {
    if (Array.isArray(obj) && obj.length > this.#maxPos && isFlatTuple(obj)) return obj as Tuple;
    return assertTuple(obj, this.keyPos, this.partitionPos);
  }

  /**
   * Validates every tuple, then groups them by the shard their partition
   * data routes to, in input order within each group. The one grouping path
   * of every batch write (SuperCache's `putBatch` and `lazyPut` included).
   */
  #group(objs: readonly unknown[]): Group[] {
    if (!Array.isArray(objs)) throw new SuperCacheError('SC_ERR_BAD_ARG', 'expected an array of tuples');
    const n = objs.length;
    const checked = new Array<Tuple>(n);
    for (let i = 0; i < n; i++) checked[i] = this.#tuple(objs[i]);
    if (n === 0) return [];
    const pp = this.partitionPos;
    const local = this.backend.local;
    if (local.shards.shardCount === 1) return [{ pd: (checked[0] as Tuple)[pp] as Term, objs: checked }];
    const shardOf = local.shardOf;
    const byShard: Array<Group | undefined> = new Array(local.shards.shardCount);
    const groups: Group[] = [];
    for (let i = 0; i < n; i++) {
      const t = checked[i] as Tuple;
      const pd = t[pp] as Term;
      const shard = shardOf(pd);
      const g = byShard[shard];
      if (g === undefined) {
        const created = { pd, objs: [t] };
        byShard[shard] = created;
        groups.push(created);
      } else g.objs.push(t);
    }
    return groups;
  }

  // ---- writes -----------------------------------------------------------

  /** Inserts one tuple. */
  async insert(obj: Tuple, options?: WriteOptions): Promise<true> {
    checkCallOptions('insert', options, WRITE_SHAPE);
    const t = this.#tuple(obj);
    return this.#b.exec(t[this.partitionPos] as Term, 'insert', [[t], options?.ttl], options);
  }

  /**
   * Inserts many tuples; each partition's share lands in one step, in input
   * order. Every tuple is validated before anything is written.
   */
  async insertMany(objs: readonly Tuple[], options?: WriteOptions): Promise<true> {
    checkCallOptions('insertMany', options, WRITE_SHAPE);
    const groups = this.#group(objs);
    const ttl = options?.ttl;
    if (groups.length === 1) {
      const g = groups[0] as Group;
      return this.#b.exec(g.pd, 'insert', [g.objs, ttl], options);
    }
    await Promise.all(groups.map((g) => this.#b.exec(g.pd, 'insert', [g.objs, ttl], options)));
    return true;
  }

  /** Inserts unless the key exists; false when it does. */
  async insertNew(obj: Tuple, options?: WriteOptions): Promise<boolean> {
    checkCallOptions('insertNew', options, WRITE_SHAPE);
    const t = this.#tuple(obj);
    return this.#b.exec(t[this.partitionPos] as Term, 'insertNew', [t, options?.ttl], options);
  }

  /**
   * Inserts all tuples only if none of their keys exists (and the list has
   * no repeated key); otherwise writes nothing and returns false. Atomic in
   * one process; across nodes see `docs/guides/distributed.md`.
   */
  async insertNewMany(objs: readonly Tuple[], options?: WriteOptions): Promise<boolean> {
    checkCallOptions('insertNewMany', options, WRITE_SHAPE);
    const list = this.#group(objs);
    const seen = new Set<MapKey>();
    for (const g of list) for (const o of g.objs) seen.add(keyOf(o[this.keyPos] as Term));
    if (seen.size !== objs.length && this.type !== 'bag' && this.type !== 'duplicate_bag') {
      // A repeated key in the list is refused for sets, as insertNew would refuse the second.
      return false;
    }
    const ttl = options?.ttl;
    if (list.length <= 1) {
      const g = list[0];
      if (g === undefined) return true;
      return this.#b.exec(g.pd, 'insertNewMany', [g.objs, ttl], options);
    }
    // Several partitions: check every key first, then write each share with
    // insertNewMany; if a key appeared in between, undo the shares written.
    const present = await Promise.all(
      list.map((g) => this.#b.exec(g.pd, 'anyMember', [g.objs.map((o) => o[this.keyPos] as Term)], options)),
    );
    if (present.some((p) => p)) return false;
    const done: Group[] = [];
    for (const g of list) {
      const ok = await this.#b.exec(g.pd, 'insertNewMany', [g.objs, ttl], options);
      if (!ok) {
        await Promise.all(done.map((d) => this.#b.exec(d.pd, 'deleteObjects', [d.objs], options)));
        return false;
      }
      done.push(g);
    }
    return true;
  }

  /** Applies a counter operation (see storage `updateCounter`). */
  async updateCounter(
    key: Term,
    op: CounterOp | CounterOp[],
    defaultObj?: Tuple,
    options?: KeyOptions,
  ): Promise<number | number[]> {
    checkCallOptions('updateCounter', options, KEY_WRITE_SHAPE);
    return this.#b.exec(this.#pd(key, options), 'updateCounter', [key, op, defaultObj ?? null], options);
  }

  /**
   * Replaces elements of the object at `key`; false when there is none.
   * With `defaultObj` (ETS `update_element/4`), a missing key first gets
   * `defaultObj` (its key element replaced by `key`), then the update, and
   * the call resolves with true. `defaultObj` may be left out: a
   * non-array third argument is the options.
   */
  async updateElement(
    key: Term,
    update: readonly [number, Term] | ReadonlyArray<readonly [number, Term]>,
    defaultObj?: Tuple | KeyOptions,
    options?: KeyOptions,
  ): Promise<boolean> {
    let def: Tuple | undefined;
    let opts: KeyOptions | undefined = options;
    if (Array.isArray(defaultObj)) def = defaultObj as Tuple;
    else if (defaultObj !== undefined && options === undefined) opts = defaultObj as KeyOptions;
    else if (defaultObj !== undefined) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'updateElement: defaultObj must be a tuple (an array)', {
        details: { op: 'updateElement', argument: 'defaultObj' },
      });
    }
    checkCallOptions('updateElement', opts, KEY_WRITE_SHAPE);
    const args: ShardArgs<'updateElement'> = def === undefined ? [key, update] : [key, update, def];
    return this.#b.exec(this.#pd(key, opts), 'updateElement', args, opts);
  }

  /** Removes and returns the objects at `key`. */
  async take(key: Term, options?: KeyOptions): Promise<Tuple[]> {
    checkCallOptions('take', options, KEY_WRITE_SHAPE);
    return this.#b.exec(this.#pd(key, options), 'take', [key], options);
  }

  /** Deletes every object at `key`. */
  async delete(key: Term, options?: KeyOptions): Promise<true> {
    checkCallOptions('delete', options, KEY_WRITE_SHAPE);
    return this.#b.exec(this.#pd(key, options), 'delete', [key], options);
  }

  /** Deletes exactly this object. */
  async deleteObject(obj: Tuple, options?: RouteOptions): Promise<true> {
    checkCallOptions('deleteObject', options, ROUTE_SHAPE);
    const t = this.#tuple(obj);
    return this.#b.exec(t[this.partitionPos] as Term, 'deleteObject', [t], options);
  }

  /** Deletes everything; resolves with the number of objects removed. */
  async deleteAllObjects(options?: RouteOptions): Promise<number> {
    checkCallOptions('deleteAllObjects', options, ROUTE_SHAPE);
    return this.#b.broadcast('deleteAllObjects', [], options);
  }

  // ---- reads ------------------------------------------------------------

  /** The objects at `key` (`[]` when none). */
  async lookup(key: Term, options?: KeyReadOptions): Promise<Tuple[]> {
    checkCallOptions('lookup', options, KEY_READ_SHAPE);
    return this.#b.exec(this.#pd(key, options), 'lookup', [key], options);
  }

  /**
   * Element `pos` of the object at `key` (a list for bags); `options.default`
   * when the key has no object and a default is given.
   */
  async lookupElement(key: Term, pos: number, options?: LookupElementOptions): Promise<Term> {
    checkCallOptions('lookupElement', options, LOOKUP_ELEMENT_SHAPE);
    const d = options?.default;
    const args: ShardArgs<'lookupElement'> = d === undefined ? [key, pos] : [key, pos, d];
    return this.#b.exec(this.#pd(key, options), 'lookupElement', args, options);
  }

  /** True when `key` has an object. */
  async member(key: Term, options?: KeyReadOptions): Promise<boolean> {
    checkCallOptions('member', options, KEY_READ_SHAPE);
    return this.#b.exec(this.#pd(key, options), 'member', [key], options);
  }

  /** Every object (ordered_set: in key order). Prefer paging for big tables. */
  async tab2list(options?: ReadOptions): Promise<Tuple[]> {
    checkCallOptions('tab2list', options, READ_SHAPE);
    return this.#values('tab2list', [], options);
  }

  /** Number of objects on every node. */
  async size(options?: ReadOptions): Promise<number> {
    checkCallOptions('size', options, READ_SHAPE);
    return this.#b.broadcast('size', [], options);
  }

  /** Estimated bytes on every node. */
  async memory(options?: ReadOptions): Promise<number> {
    checkCallOptions('memory', options, READ_SHAPE);
    return this.#b.broadcast('memory', [], options);
  }

  /** Summed storage counters of every node. */
  async stats(options?: ReadOptions): Promise<TableStats> {
    checkCallOptions('stats', options, READ_SHAPE);
    return this.#b.broadcast('stats', [], options);
  }

  /** The items of a fan-out read. */
  async #values<N extends FanoutRead>(
    name: N,
    args: NodeArgs<N>,
    options: ReadOptions | undefined,
  ): Promise<FanoutItem<NodeResult<N>>[]> {
    // The map types each read's result; TypeScript cannot follow it through a generic name.
    const r = (await this.#b.broadcast(name, args, options)) as FanoutResult<FanoutItem<NodeResult<N>>>;
    return fanoutItems(r, this.type);
  }

  // ---- patterns and match specs ------------------------------------------

  /** Bindings of `$1..$n` for each matching object. */
  async match(pattern: Pattern, options?: ReadOptions): Promise<Term[][]> {
    checkCallOptions('match', options, READ_SHAPE);
    return this.#values('match', [pattern], options);
  }

  /** Every matching object. */
  async matchObject(pattern: Pattern, options?: ReadOptions): Promise<Tuple[]> {
    checkCallOptions('matchObject', options, READ_SHAPE);
    return this.#values('matchObject', [pattern], options);
  }

  /** Deletes matching objects; resolves with how many. */
  async matchDelete(pattern: Pattern, options?: RouteOptions): Promise<number> {
    checkCallOptions('matchDelete', options, ROUTE_SHAPE);
    return this.#b.broadcast('matchDelete', [pattern], options);
  }

  /** Body results of a match spec. */
  async select(spec: MatchSpec, options?: ReadOptions): Promise<Term[]> {
    checkCallOptions('select', options, READ_SHAPE);
    return this.#values('select', [spec], options);
  }

  /**
   * `select` in reverse key order on an ordered_set; on the other types the
   * same list as `select` (as ETS `select_reverse`).
   */
  async selectReverse(spec: MatchSpec, options?: ReadOptions): Promise<Term[]> {
    checkCallOptions('selectReverse', options, READ_SHAPE);
    return this.#values('selectReverse', [spec], options);
  }

  /** Number of objects for which the spec returns `true`. */
  async selectCount(spec: MatchSpec, options?: ReadOptions): Promise<number> {
    checkCallOptions('selectCount', options, READ_SHAPE);
    return this.#b.broadcast('selectCount', [spec], options);
  }

  /** Deletes objects for which the spec returns `true`; resolves with how many. */
  async selectDelete(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    checkCallOptions('selectDelete', options, ROUTE_SHAPE);
    return this.#b.broadcast('selectDelete', [spec], options);
  }

  /** Replaces matched objects with the body result (same key); resolves with how many. */
  async selectReplace(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    checkCallOptions('selectReplace', options, ROUTE_SHAPE);
    return this.#b.broadcast('selectReplace', [spec], options);
  }

  // ---- paging -----------------------------------------------------------

  async #page(
    kind: CursorKind,
    first: unknown,
    limit: unknown,
    options: ReadOptions | undefined,
  ): Promise<Page<unknown, TableCursor>> {
    const op = `${kind}Page`;
    checkCallOptions(op, options, READ_SHAPE);
    let cursor: TableCursor;
    if (first instanceof TableCursor) {
      if (first.kind !== kind) {
        throw new SuperCacheError(
          'SC_ERR_BAD_CONTINUATION',
          `a ${first.kind} continuation passed to ${kind}`,
        );
      }
      if (first.ended !== undefined) {
        throw new SuperCacheError(
          'SC_ERR_BAD_CONTINUATION',
          `${op}: this continuation is ${first.ended === 'closed' ? 'closed' : 'finished (its last page was read)'}`,
          { details: { op, argument: 'continuation', ended: first.ended } },
        );
      }
      cursor = first;
    } else {
      // A lone argument is a continuation; anything but one is refused as such.
      if (limit === undefined) throw notACursor(op, first);
      const l = checkLimit(limit);
      cursor = new TableCursor(kind, l, await this.backend.openCursor(kind, first, options));
    }
    const page = await cursor.inner.next(cursor.limit, options);
    const items = page.items.map((p) => p[1]);
    if (page.done) cursor.ended = 'finished';
    return page.done ? { items } : { items, continuation: cursor };
  }

  /**
   * One page of `select` results; call again with the continuation alone.
   * Holds one page in memory per node, never the whole result.
   */
  selectPage(spec: MatchSpec, limit: number, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectPage(a: MatchSpec | TableCursor, b?: number | ReadOptions, c?: ReadOptions) {
    return a instanceof TableCursor
      ? this.#page('select', a, undefined, b as ReadOptions | undefined)
      : this.#page('select', a, b, c);
  }

  /**
   * One page of `selectReverse` results: an ordered_set from its largest
   * key down, the other types in `selectPage` order (ETS `select_reverse/3`).
   */
  selectReversePage(spec: MatchSpec, limit: number, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectReversePage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectReversePage(a: MatchSpec | TableCursor, b?: number | ReadOptions, c?: ReadOptions) {
    return a instanceof TableCursor
      ? this.#page('selectReverse', a, undefined, b as ReadOptions | undefined)
      : this.#page('selectReverse', a, b, c);
  }

  /** One page of `match` bindings. */
  matchPage(pattern: Pattern, limit: number, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  matchPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  matchPage(a: Pattern | TableCursor, b?: number | ReadOptions, c?: ReadOptions) {
    return a instanceof TableCursor
      ? this.#page('match', a, undefined, b as ReadOptions | undefined)
      : this.#page('match', a, b, c);
  }

  /** One page of `matchObject` results. */
  matchObjectPage(pattern: Pattern, limit: number, options?: ReadOptions): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(a: Pattern | TableCursor, b?: number | ReadOptions, c?: ReadOptions) {
    return a instanceof TableCursor
      ? this.#page('matchObject', a, undefined, b as ReadOptions | undefined)
      : this.#page('matchObject', a, b, c);
  }

  /**
   * Releases a continuation's server-side cursors without reading on; the
   * continuation is refused afterwards. Idempotent.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `continuation` is not one.
   */
  async closeCursor(continuation: TableCursor): Promise<void> {
    if (!(continuation instanceof TableCursor)) throw notACursor('closeCursor', continuation);
    if (continuation.ended === undefined) continuation.ended = 'closed';
    await continuation.inner.close();
  }

  /**
   * Streams every object, one page at a time (ordered_set: in key order).
   * Breaking out of the loop closes the cursors.
   */
  async *stream(options?: StreamOptions): AsyncGenerator<Tuple> {
    checkCallOptions('stream', options, STREAM_SHAPE);
    yield* this.#stream(options);
  }

  async *#stream(options: StreamOptions | undefined): AsyncGenerator<Tuple> {
    const cursor = await this.backend.openCursor('objects', null, options);
    const size = options?.pageSize ?? 1000;
    try {
      for (;;) {
        const page = await cursor.next(size, options);
        for (const [, o] of page.items) yield o as Tuple;
        if (page.done) return;
      }
    } finally {
      await cursor.close();
    }
  }

  // ---- iteration ----------------------------------------------------------

  /** First key (ordered_set: smallest), or undefined when empty. */
  async first(options?: ReadOptions): Promise<Term | undefined> {
    checkCallOptions('first', options, READ_SHAPE);
    const r = await this.#b.broadcast('first', [], options);
    return r.length === 0 ? undefined : r[0];
  }

  /** Last key (ordered_set: largest), or undefined when empty. */
  async last(options?: ReadOptions): Promise<Term | undefined> {
    checkCallOptions('last', options, READ_SHAPE);
    const r = await this.#b.broadcast('last', [], options);
    return r.length === 0 ? undefined : r[0];
  }

  /** Key after `key`, or undefined at the end. */
  async next(key: Term, options?: ReadOptions): Promise<Term | undefined> {
    checkCallOptions('next', options, READ_SHAPE);
    const r = await this.#b.broadcast('next', [key], options);
    return r.n.length === 0 ? undefined : r.n[0];
  }

  /** Key before `key`, or undefined at the start. */
  async prev(key: Term, options?: ReadOptions): Promise<Term | undefined> {
    checkCallOptions('prev', options, READ_SHAPE);
    const r = await this.#b.broadcast('prev', [key], options);
    return r.n.length === 0 ? undefined : r.n[0];
  }

  /**
   * Folds `fn(obj, acc)` over every object, streamed page by page to this
   * process (ordered_set: in key order). `fn` runs here, never on peers.
   */
  async foldl<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: StreamOptions): Promise<A> {
    checkCallOptions('foldl', options, STREAM_SHAPE);
    checkFn('foldl', fn);
    let a = acc;
    for await (const o of this.#stream(options)) a = fn(o, a);
    return a;
  }

  /** Like {@link TableRouter.foldl} in reverse order. Loads the objects (no reverse cursor). */
  async foldr<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: StreamOptions): Promise<A> {
    checkCallOptions('foldr', options, STREAM_SHAPE);
    checkFn('foldr', fn);
    const all: Tuple[] = [];
    for await (const o of this.#stream(options)) all.push(o);
    let a = acc;
    for (let i = all.length - 1; i >= 0; i--) a = fn(all[i] as Tuple, a);
    return a;
  }
}
