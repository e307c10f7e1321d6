/**
 * `cache.local`: synchronous reads of this node's copy, straight from the
 * storage tables — the hot path, with no promise and no command dispatch.
 */

import {
  checkCallOptions,
  checkPartition,
  cursorIterator,
  fanoutValues,
  optionShape,
  type ShardSet,
} from '@supercache/router';
import type { Pattern, Table, Term, Tuple } from '@supercache/storage';
import { notStarted } from './errors.js';
import { badProbe } from './probe.js';

/** Options of the partition-scoped local reads. */
export interface LocalScopeOptions {
  /** Partition data: read only the partition it maps to. @defaultValue every partition */
  partition?: Term;
}

/** The one option of the partition-scoped local reads. */
const SCOPE_SHAPE = optionShape({ partition: checkPartition });

/** What the view reads while the cache is started. @internal */
export interface LocalViewSource {
  readonly shards: ShardSet;
  readonly shardOf: (partitionData: Term) => number;
}

/**
 * Synchronous reads of this node's shards of a {@link SuperCache}.
 *
 * In local mode this is the whole cache. In distributed mode it is this
 * node's copy, which may be stale or miss partitions owned elsewhere (the
 * `'local'` read mode).
 *
 * Every method throws `SC_ERR_NOT_STARTED` while the cache is stopped.
 */
export class LocalView {
  readonly #keyPos: number;
  readonly #partitionPos: number;
  readonly #maxPos: number;
  readonly #what: string;
  #tables: readonly Table[] | undefined;
  #shards: ShardSet | undefined;
  #shardOf: (partitionData: Term) => number = () => 0;
  #single = true;

  /** @internal */
  constructor(keyPos: number, partitionPos: number, what = 'SuperCache') {
    this.#keyPos = keyPos;
    this.#partitionPos = partitionPos;
    this.#maxPos = Math.max(keyPos, partitionPos);
    this.#what = what;
  }

  /** @internal Points the view at freshly started shards. */
  attach(source: LocalViewSource): void {
    this.#shards = source.shards;
    this.#tables = source.shards.tables;
    this.#shardOf = source.shardOf;
    this.#single = source.shards.tables.length === 1;
  }

  /** @internal Detaches on stop: every read then fails with `SC_ERR_NOT_STARTED`. */
  detach(): void {
    this.#shards = undefined;
    this.#tables = undefined;
  }

  #table(partitionData: Term, tables: readonly Table[]): Table {
    return tables[this.#single ? 0 : this.#shardOf(partitionData)] as Table;
  }

  #started(op: string): readonly Table[] {
    const t = this.#tables;
    if (t === undefined) throw notStarted(this.#what, `local.${op}`);
    return t;
  }

  /**
   * The tuples whose key equals `probe[keyPos]` in the partition of
   * `probe[partitionPos]` (`[]` when none). Other elements of `probe` are
   * ignored. The array is shared with the table: do not mutate it.
   * @throws SuperCacheError `SC_ERR_TUPLE_TOO_SHORT` when `probe` has no
   *   element at `keyPos` or `partitionPos`; `SC_ERR_NOT_STARTED`.
   */
  get(probe: Tuple): readonly Tuple[] {
    const tables = this.#tables;
    if (tables === undefined) throw notStarted(this.#what, 'local.get');
    if (!Array.isArray(probe) || probe.length <= this.#maxPos)
      throw badProbe(probe, this.#keyPos, this.#partitionPos);
    return this.#table(probe[this.#partitionPos] as Term, tables).lookup(probe[this.#keyPos] as Term);
  }

  /** The tuples at `key` in the partition of `partitionData`. */
  getByKeyPartition(key: Term, partitionData: Term): readonly Tuple[] {
    const tables = this.#started('getByKeyPartition');
    return this.#table(partitionData, tables).lookup(key);
  }

  /** The tuples at `key`, with `key` as the partition data too. */
  getSameKeyPartition(key: Term): readonly Tuple[] {
    const tables = this.#tables;
    if (tables === undefined) throw notStarted(this.#what, 'local.getSameKeyPartition');
    return this.#table(key, tables).lookup(key);
  }

  /** True when a tuple has the probe's key in the probe's partition. */
  has(probe: Tuple): boolean {
    const tables = this.#started('has');
    if (!Array.isArray(probe) || probe.length <= this.#maxPos)
      throw badProbe(probe, this.#keyPos, this.#partitionPos);
    return this.#table(probe[this.#partitionPos] as Term, tables).member(probe[this.#keyPos] as Term);
  }

  #fanOut(
    op: string,
    name: string,
    args: readonly unknown[],
    options: LocalScopeOptions | undefined,
  ): unknown[] {
    this.#started(op);
    if (options !== undefined) checkCallOptions(`local.${op}`, options, SCOPE_SHAPE);
    const shards = this.#shards as ShardSet;
    const subset = options?.partition === undefined ? undefined : [this.#shardOf(options.partition)];
    return fanoutValues(shards.runNode(name, args, undefined, subset), shards.type);
  }

  /**
   * Bindings of `$1..$n` for every tuple matching `pattern`, in this node's
   * copy (one partition when `options.partition` is given).
   */
  getByMatch(pattern: Pattern, options?: LocalScopeOptions): Term[][] {
    return this.#fanOut('getByMatch', 'match', [pattern], options) as Term[][];
  }

  /** Every tuple matching `pattern` (one partition when `options.partition` is given). */
  getByMatchObject(pattern: Pattern, options?: LocalScopeOptions): Tuple[] {
    return this.#fanOut('getByMatchObject', 'matchObject', [pattern], options) as Tuple[];
  }

  /**
   * Folds `fn(tuple, acc)` over every tuple of this node's copy (ordered
   * tables: in key order), or of one partition.
   */
  scan<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: LocalScopeOptions): A {
    const tables = this.#started('scan');
    if (options !== undefined) checkCallOptions('local.scan', options, SCOPE_SHAPE);
    const shards = this.#shards as ShardSet;
    const subset = options?.partition === undefined ? tables : [this.#table(options.partition, tables)];
    let a = acc;
    for (const [, o] of cursorIterator(subset, shards.type, shards.keyPos, 'objects', null))
      a = fn(o as Tuple, a);
    return a;
  }

  /** Number of tuples in this node's copy. */
  get size(): number {
    const tables = this.#started('size');
    let n = 0;
    for (const t of tables) n += t.size;
    return n;
  }

  /** Number of tuples in the partition of `partitionData`. */
  partitionSize(partitionData: Term): number {
    const tables = this.#started('partitionSize');
    return this.#table(partitionData, tables).size;
  }
}
