/**
 * The asynchronous table API over any backend: single-key operations go to
 * the owner of their partition, fan-out operations reach every node and are
 * merged, and paging walks server-side cursors one page at a time.
 */

import {
  assertTuple,
  type CounterOp,
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
import { fanoutValues } from './builtin.js';
import type { CursorKind } from './shard-set.js';

/** Options of a single-key operation. */
export interface KeyOptions extends RouteOptions {
  /**
   * Partition data, when it differs from the key (SuperCache's
   * `partitionPos`). @defaultValue the key itself
   */
  partition?: Term;
}

/** Options of a write. */
export interface WriteOptions extends RouteOptions {
  /** Time to live in ms for the written objects (0 = none). */
  ttl?: number;
}

/** A paging continuation: pass it back alone for the next page. */
export class TableCursor {
  /** @internal */
  constructor(
    readonly kind: CursorKind,
    readonly limit: number,
    /** @internal */ readonly inner: BackendCursor,
  ) {}
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

/** The routed, asynchronous table. */
export class TableRouter {
  readonly backend: Backend;
  readonly type: TableType;
  readonly keyPos: number;
  readonly partitionPos: number;

  constructor(backend: Backend, options: TableRouterOptions = {}) {
    this.backend = backend;
    this.type = backend.type;
    this.keyPos = backend.keyPos;
    this.partitionPos = options.partitionPos ?? backend.keyPos;
  }

  #pd(key: Term, options: KeyOptions | undefined): Term {
    return options?.partition !== undefined ? options.partition : key;
  }

  #tuple(obj: unknown): Tuple {
    return assertTuple(obj, this.keyPos, this.partitionPos);
  }

  /** Groups tuples by partition data, validating each. */
  #group(objs: readonly unknown[]): Map<unknown, { pd: Term; objs: Tuple[] }> {
    if (!Array.isArray(objs)) throw new SuperCacheError('SC_ERR_BAD_ARG', 'expected an array of tuples');
    const groups = new Map<unknown, { pd: Term; objs: Tuple[] }>();
    const shardOf = this.backend.local.shardOf;
    for (const o of objs) {
      const t = this.#tuple(o);
      const pd = t[this.partitionPos] as Term;
      const shard = shardOf(pd);
      let g = groups.get(shard);
      if (g === undefined) groups.set(shard, (g = { pd, objs: [] }));
      g.objs.push(t);
    }
    return groups;
  }

  // ---- writes -----------------------------------------------------------

  /** Inserts one tuple. */
  async insert(obj: Tuple, options?: WriteOptions): Promise<true> {
    const t = this.#tuple(obj);
    await this.backend.exec(t[this.partitionPos] as Term, 'insert', [[t], options?.ttl], options);
    return true;
  }

  /** Inserts many tuples; each partition's share lands in one step. */
  async insertMany(objs: readonly Tuple[], options?: WriteOptions): Promise<true> {
    const groups = this.#group(objs);
    await Promise.all(
      [...groups.values()].map((g) => this.backend.exec(g.pd, 'insert', [g.objs, options?.ttl], options)),
    );
    return true;
  }

  /** Inserts unless the key exists; false when it does. */
  async insertNew(obj: Tuple, options?: WriteOptions): Promise<boolean> {
    const t = this.#tuple(obj);
    return (await this.backend.exec(
      t[this.partitionPos] as Term,
      'insertNew',
      [t, options?.ttl],
      options,
    )) as boolean;
  }

  /**
   * Inserts all tuples only if none of their keys exists (and the list has
   * no repeated key); otherwise writes nothing and returns false. Atomic in
   * one process; across nodes see `docs/guides/distributed.md`.
   */
  async insertNewMany(objs: readonly Tuple[], options?: WriteOptions): Promise<boolean> {
    const groups = this.#group(objs);
    const seen = new Set<MapKey>();
    for (const g of groups.values()) for (const o of g.objs) seen.add(keyOf(o[this.keyPos] as Term));
    if (seen.size !== objs.length && this.type !== 'bag' && this.type !== 'duplicate_bag') {
      // A repeated key in the list is refused for sets, as insertNew would refuse the second.
      return false;
    }
    const list = [...groups.values()];
    if (list.length <= 1) {
      const g = list[0];
      if (g === undefined) return true;
      return (await this.backend.exec(g.pd, 'insertNewMany', [g.objs, options?.ttl], options)) as boolean;
    }
    // Several partitions: check every key first, then write each share with
    // insertNewMany; if a key appeared in between, undo the shares written.
    const present = await Promise.all(
      list.map((g) =>
        this.backend.exec(g.pd, 'anyMember', [g.objs.map((o) => o[this.keyPos] as Term)], options),
      ),
    );
    if (present.some((p) => p === true)) return false;
    const done: typeof list = [];
    for (const g of list) {
      const ok = (await this.backend.exec(g.pd, 'insertNewMany', [g.objs, options?.ttl], options)) as boolean;
      if (!ok) {
        await Promise.all(done.map((d) => this.backend.exec(d.pd, 'deleteObjects', [d.objs], options)));
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
    return (await this.backend.exec(
      this.#pd(key, options),
      'updateCounter',
      [key, op, defaultObj ?? null],
      options,
    )) as number | number[];
  }

  /** Replaces elements of the object at `key`; false when there is none. */
  async updateElement(
    key: Term,
    update: readonly [number, Term] | ReadonlyArray<readonly [number, Term]>,
    options?: KeyOptions,
  ): Promise<boolean> {
    return (await this.backend.exec(
      this.#pd(key, options),
      'updateElement',
      [key, update],
      options,
    )) as boolean;
  }

  /** Removes and returns the objects at `key`. */
  async take(key: Term, options?: KeyOptions): Promise<Tuple[]> {
    return (await this.backend.exec(this.#pd(key, options), 'take', [key], options)) as Tuple[];
  }

  /** Deletes every object at `key`. */
  async delete(key: Term, options?: KeyOptions): Promise<true> {
    await this.backend.exec(this.#pd(key, options), 'delete', [key], options);
    return true;
  }

  /** Deletes exactly this object. */
  async deleteObject(obj: Tuple, options?: RouteOptions): Promise<true> {
    const t = this.#tuple(obj);
    await this.backend.exec(t[this.partitionPos] as Term, 'deleteObject', [t], options);
    return true;
  }

  /** Deletes everything; resolves with the number of objects removed. */
  async deleteAllObjects(options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('deleteAllObjects', [], options)) as number;
  }

  // ---- reads ------------------------------------------------------------

  /** The objects at `key` (`[]` when none). */
  async lookup(key: Term, options?: KeyOptions): Promise<Tuple[]> {
    return (await this.backend.exec(this.#pd(key, options), 'lookup', [key], options)) as Tuple[];
  }

  /** Element `pos` of the object at `key` (a list for bags). */
  async lookupElement(key: Term, pos: number, options?: KeyOptions): Promise<Term> {
    return (await this.backend.exec(this.#pd(key, options), 'lookupElement', [key, pos], options)) as Term;
  }

  /** True when `key` has an object. */
  async member(key: Term, options?: KeyOptions): Promise<boolean> {
    return (await this.backend.exec(this.#pd(key, options), 'member', [key], options)) as boolean;
  }

  /** Every object (ordered_set: in key order). Prefer paging for big tables. */
  async tab2list(options?: RouteOptions): Promise<Tuple[]> {
    return this.#values('tab2list', [], options) as Promise<Tuple[]>;
  }

  /** Number of objects on every node. */
  async size(options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('size', [], options)) as number;
  }

  /** Estimated bytes on every node. */
  async memory(options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('memory', [], options)) as number;
  }

  /** Summed storage counters of every node. */
  async stats(options?: RouteOptions): Promise<TableStats> {
    return (await this.backend.broadcast('stats', [], options)) as TableStats;
  }

  async #values(name: string, args: readonly unknown[], options?: RouteOptions): Promise<unknown[]> {
    return fanoutValues(await this.backend.broadcast(name, args, options), this.type);
  }

  // ---- patterns and match specs ------------------------------------------

  /** Bindings of `$1..$n` for each matching object. */
  async match(pattern: Pattern, options?: RouteOptions): Promise<Term[][]> {
    return this.#values('match', [pattern], options) as Promise<Term[][]>;
  }

  /** Every matching object. */
  async matchObject(pattern: Pattern, options?: RouteOptions): Promise<Tuple[]> {
    return this.#values('matchObject', [pattern], options) as Promise<Tuple[]>;
  }

  /** Deletes matching objects; resolves with how many. */
  async matchDelete(pattern: Pattern, options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('matchDelete', [pattern], options)) as number;
  }

  /** Body results of a match spec. */
  async select(spec: MatchSpec, options?: RouteOptions): Promise<Term[]> {
    return this.#values('select', [spec], options) as Promise<Term[]>;
  }

  /** `select` in reverse order (meaningful for ordered_set). */
  async selectReverse(spec: MatchSpec, options?: RouteOptions): Promise<Term[]> {
    return this.#values('selectReverse', [spec], options) as Promise<Term[]>;
  }

  /** Number of objects for which the spec returns `true`. */
  async selectCount(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('selectCount', [spec], options)) as number;
  }

  /** Deletes objects for which the spec returns `true`; resolves with how many. */
  async selectDelete(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('selectDelete', [spec], options)) as number;
  }

  /** Replaces matched objects with the body result (same key); resolves with how many. */
  async selectReplace(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    return (await this.backend.broadcast('selectReplace', [spec], options)) as number;
  }

  // ---- paging -----------------------------------------------------------

  async #page(
    kind: CursorKind,
    first: unknown,
    limit: unknown,
    options?: RouteOptions,
  ): Promise<Page<unknown, TableCursor>> {
    let cursor: TableCursor;
    if (first instanceof TableCursor) {
      if (first.kind !== kind) {
        throw new SuperCacheError(
          'SC_ERR_BAD_CONTINUATION',
          `a ${first.kind} continuation passed to ${kind}`,
        );
      }
      cursor = first;
    } else {
      const l = checkLimit(limit);
      cursor = new TableCursor(kind, l, await this.backend.openCursor(kind, first, options));
    }
    const page = await cursor.inner.next(cursor.limit, options);
    const items = page.items.map((p) => p[1]);
    return page.done ? { items } : { items, continuation: cursor };
  }

  /**
   * One page of `select` results; call again with the continuation alone.
   * Holds one page in memory per node, never the whole result.
   */
  selectPage(spec: MatchSpec, limit: number, options?: RouteOptions): Promise<Page<Term, TableCursor>>;
  selectPage(continuation: TableCursor, options?: RouteOptions): Promise<Page<Term, TableCursor>>;
  selectPage(a: MatchSpec | TableCursor, b?: number | RouteOptions, c?: RouteOptions) {
    return a instanceof TableCursor
      ? this.#page('select', a, undefined, b as RouteOptions | undefined)
      : this.#page('select', a, b, c);
  }

  /** One page of `match` bindings. */
  matchPage(pattern: Pattern, limit: number, options?: RouteOptions): Promise<Page<Term[], TableCursor>>;
  matchPage(continuation: TableCursor, options?: RouteOptions): Promise<Page<Term[], TableCursor>>;
  matchPage(a: Pattern | TableCursor, b?: number | RouteOptions, c?: RouteOptions) {
    return a instanceof TableCursor
      ? this.#page('match', a, undefined, b as RouteOptions | undefined)
      : this.#page('match', a, b, c);
  }

  /** One page of `matchObject` results. */
  matchObjectPage(pattern: Pattern, limit: number, options?: RouteOptions): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(continuation: TableCursor, options?: RouteOptions): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(a: Pattern | TableCursor, b?: number | RouteOptions, c?: RouteOptions) {
    return a instanceof TableCursor
      ? this.#page('matchObject', a, undefined, b as RouteOptions | undefined)
      : this.#page('matchObject', a, b, c);
  }

  /** Releases a continuation's server-side cursors without reading on. */
  async closeCursor(continuation: TableCursor): Promise<void> {
    await continuation.inner.close();
  }

  /**
   * Streams every object, one page at a time (ordered_set: in key order).
   * Breaking out of the loop closes the cursors.
   */
  async *stream(options?: RouteOptions & { pageSize?: number }): AsyncGenerator<Tuple> {
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
  async first(options?: RouteOptions): Promise<Term | undefined> {
    const r = (await this.backend.broadcast('first', [], options)) as Term[];
    return r.length === 0 ? undefined : r[0];
  }

  /** Last key (ordered_set: largest), or undefined when empty. */
  async last(options?: RouteOptions): Promise<Term | undefined> {
    const r = (await this.backend.broadcast('last', [], options)) as Term[];
    return r.length === 0 ? undefined : r[0];
  }

  /** Key after `key`, or undefined at the end. */
  async next(key: Term, options?: RouteOptions): Promise<Term | undefined> {
    const r = (await this.backend.broadcast('next', [key], options)) as { n: Term[] };
    return r.n.length === 0 ? undefined : r.n[0];
  }

  /** Key before `key`, or undefined at the start. */
  async prev(key: Term, options?: RouteOptions): Promise<Term | undefined> {
    const r = (await this.backend.broadcast('prev', [key], options)) as { n: Term[] };
    return r.n.length === 0 ? undefined : r.n[0];
  }

  /**
   * Folds `fn(obj, acc)` over every object, streamed page by page to this
   * process (ordered_set: in key order). `fn` runs here, never on peers.
   */
  async foldl<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: RouteOptions): Promise<A> {
    let a = acc;
    for await (const o of this.stream(options)) a = fn(o, a);
    return a;
  }

  /** Like {@link TableRouter.foldl} in reverse order. Loads the objects (no reverse cursor). */
  async foldr<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: RouteOptions): Promise<A> {
    const all: Tuple[] = [];
    for await (const o of this.stream(options)) all.push(o);
    let a = acc;
    for (let i = all.length - 1; i >= 0; i--) a = fn(all[i] as Tuple, a);
    return a;
  }
}
