/**
 * KeyValue: named key-value namespaces on one routed table. A namespace's
 * records are `[[name, key], value]`, spread over every partition by their
 * key, so namespaces never see each other's keys and one busy namespace
 * does not pile onto one shard.
 */

import type { ReadOptions, TableCursor, TableRouter } from '@supercache/router';
import {
  _,
  $,
  $$,
  assertTerm,
  isTerm,
  keyOf,
  type MapKey,
  type MatchSpec,
  type Page,
  SuperCacheError,
  type Term,
  type Tuple,
} from '@supercache/storage';
import { checkName, checkRouter } from './internal.js';
import { isBagType, kvKey } from './layout.js';
import {
  checkRead,
  checkTtlWrite,
  checkWrite,
  type StructureReadOptions,
  type StructureWriteOptions,
} from './options.js';

/**
 * An `SC_ERR_INVALID_TERM` about a record (`tuple[0][1]`) rethrown in the
 * caller's terms: the first pair whose key or value is not a term, named
 * `key` / `value` (or `pairs[i][0]` / `pairs[i][1]` for a batch). Runs only
 * when a write already failed. Any other error is returned as it is.
 */
function inCallerTerms(
  e: unknown,
  pairs: ReadonlyArray<readonly [unknown, unknown]>,
  batch: boolean,
): unknown {
  if (!SuperCacheError.is(e) || e.code !== 'SC_ERR_INVALID_TERM') return e;
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i] as readonly [unknown, unknown];
    for (const j of [0, 1] as const) {
      if (isTerm(p[j])) continue;
      const name = j === 0 ? 'key' : 'value';
      try {
        assertTerm(p[j], batch ? `pairs[${i}][${j}] (the ${name})` : name);
      } catch (named) {
        return named;
      }
    }
  }
  return e;
}

/** Attempts of `update(key, default, fn)` before it gives up with `SC_ERR_CONFLICT`. */
const MAX_UPDATE_ATTEMPTS = 100;

/** Options of a KeyValue write that stores a value with a TTL (`add`, `replace`, `addBatch`). */
export interface KeyValueWriteOptions extends StructureWriteOptions {
  /**
   * Time to live of the written value in milliseconds; `0` or `Infinity`
   * means never. @defaultValue the table's default TTL
   */
  ttl?: number;
}

/**
 * A named key-value namespace over a routed table of any type. The table
 * type decides what a key holds: `set` / `ordered_set` one value (a write
 * replaces it), `bag` a set of distinct values, `duplicate_bag` every value
 * written (duplicates kept).
 *
 * Every method is one command or one fan-out; `increment`, `update` and
 * `replace` read and write in one synchronous step on the key's owner, so
 * concurrent calls never lose an update. `update(key, default, fn)` runs
 * `fn` here and writes with a compare-and-set on the owner, retried until
 * no other write came in between.
 *
 * Reads (`get`, `getAll`, `has`, `keys`, `values`, `count`, `toList`) take
 * `{ signal, readMode }`; writes take `{ signal }` (and `ttl` where they
 * store a value). Any other option is refused with `SC_ERR_BAD_ARG`.
 *
 * @typeParam K - key type.
 * @typeParam V - value type.
 *
 * @example
 * ```ts
 * const sessions = new KeyValue<string, { name: string }>(router, 'session');
 * await sessions.add('user_1', { name: 'Alice' });
 * await sessions.get('user_1'); // { name: 'Alice' }
 * ```
 */
export class KeyValue<K extends Term = Term, V extends Term = Term> {
  /** The routed table holding every namespace. */
  readonly router: TableRouter;
  /** This namespace's name. */
  readonly name: Term;
  readonly #bag: boolean;
  readonly #keysSpec: MatchSpec;
  readonly #valuesSpec: MatchSpec;
  readonly #pairsSpec: MatchSpec;
  readonly #allSpec: MatchSpec;

  /**
   * Opens a namespace (nothing is written until the first `add`).
   * @param router - a router over a table with keyPos 0 (partitioned by the
   *   key) whose registry has the structures' commands.
   * @param name - the namespace: any term.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `name` is not a term;
   *   `SC_ERR_BAD_CONFIG` for a router keyed or partitioned elsewhere than
   *   position 0, or without the structures' commands.
   */
  constructor(router: TableRouter, name: Term) {
    checkRouter(router, 'KeyValue', 'kv.get', false);
    this.router = router;
    this.name = checkName(name);
    this.#bag = isBagType(router.type);
    // The name is bound in every head, so a fan-out only returns this
    // namespace's records; other namespaces are filtered on the owner.
    this.#keysSpec = [[[[this.name, $(1)], _], [], [$(1)]]];
    this.#valuesSpec = [[[[this.name, _], $(1)], [], [$(1)]]];
    this.#pairsSpec = [[[[this.name, $(1)], $(2)], [], [$$]]];
    this.#allSpec = [[[[this.name, _], _], [], [true]]];
  }

  #key(key: K): Tuple {
    return kvKey(this.name, assertTerm(key, 'key'));
  }

  #exec(
    key: Tuple,
    command: string,
    args: readonly unknown[],
    options: StructureReadOptions | StructureWriteOptions | undefined,
  ) {
    return this.router.backend.exec(key, command, args, options);
  }

  /**
   * Writes a value: replaces the key's value in a set, adds it to the
   * key's values in a bag (unless equal to one already there) or
   * duplicate_bag.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key or value is
   *   not a term.
   */
  async add(key: K, value: V, options?: KeyValueWriteOptions): Promise<void> {
    checkTtlWrite('KeyValue.add', options);
    // The router validates the whole record once; only a failure is
    // re-checked, to name the key or the value instead of the record.
    try {
      await this.router.insert([kvKey(this.name, key), value], options);
    } catch (e) {
      throw inCallerTerms(e, [[key, value]], false);
    }
  }

  /**
   * The value at `key`, or `defaultValue` when there is none. In a bag or
   * duplicate_bag: the latest value the key holds (the last one added and
   * still stored), as the seed's `KeyValue.get`.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key is not a term;
   *   `SC_ERR_BAD_ARG` for a bad option (an unknown `readMode` included).
   */
  get(key: K): Promise<V | undefined>;
  get<D>(key: K, defaultValue: D, options?: StructureReadOptions): Promise<V | D>;
  async get<D>(key: K, defaultValue?: D, options?: StructureReadOptions): Promise<V | D | undefined> {
    checkRead('KeyValue.get', options);
    const k = this.#key(key);
    const r = (await this.#exec(k, 'kv.get', [k], options)) as V[];
    return r.length === 0 ? defaultValue : (r[0] as V);
  }

  /**
   * Every value at `key` (`[]` when none): at most one for a set, in
   * storage order (oldest first) for bags.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key is not a term.
   */
  async getAll(key: K, options?: StructureReadOptions): Promise<V[]> {
    checkRead('KeyValue.getAll', options);
    const k = this.#key(key);
    return (await this.#exec(k, 'kv.getAll', [k], options)) as V[];
  }

  /**
   * True when `key` holds a value.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key is not a term.
   */
  async has(key: K, options?: StructureReadOptions): Promise<boolean> {
    checkRead('KeyValue.has', options);
    const k = this.#key(key);
    return this.router.member(k, options);
  }

  /**
   * Sets the key's value, present or not (the seed's `update/3`):
   * afterwards the key holds exactly `value` (a bag drops its other
   * values). A present key keeps its expiry; a missing one is inserted with
   * the table's default TTL. Atomic. Resolves with the value stored.
   *
   * With a function, `update(key, defaultValue, fn)` (the seed's
   * `update/4`, like Elixir's `Map.update/4`): a missing key gets
   * `defaultValue`, a present one `fn(current)` (in a bag: of the latest
   * value). `fn` runs in this process, so it works in a cluster too; the
   * write is a compare-and-set on the key's owner, and `fn` is called again
   * with the new value when another write came in between. Resolves with
   * the value stored.
   *
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key, value,
   *   default or `fn`'s result is not a term; `SC_ERR_CONFLICT` (retryable)
   *   when concurrent writers won 100 times in a row; `SC_ERR_BAD_ARG` for
   *   a bad option (`readMode` included: a write goes to the primary).
   */
  update(key: K, value: V, options?: StructureWriteOptions): Promise<V>;
  update(
    key: K,
    defaultValue: V,
    fn: (current: V) => V | Promise<V>,
    options?: StructureWriteOptions,
  ): Promise<V>;
  async update(
    key: K,
    value: V,
    fnOrOptions?: ((current: V) => V | Promise<V>) | StructureWriteOptions,
    maybeOptions?: StructureWriteOptions,
  ): Promise<V> {
    const k = this.#key(key);
    assertTerm(value, typeof fnOrOptions === 'function' ? 'defaultValue' : 'value');
    if (typeof fnOrOptions !== 'function') {
      if (maybeOptions !== undefined) {
        throw new SuperCacheError(
          'SC_ERR_BAD_ARG',
          'KeyValue.update: the third argument must be a function',
          {
            details: { op: 'KeyValue.update', argument: 'fn' },
          },
        );
      }
      checkWrite('KeyValue.update', fnOrOptions);
      await this.#exec(k, 'kv.update', [k, value], fnOrOptions);
      return value;
    }
    checkWrite('KeyValue.update', maybeOptions);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      // Read from the primary: the compare-and-set is judged there.
      const seen = (await this.#exec(k, 'kv.get', [k], maybeOptions)) as V[];
      const next = seen.length === 0 ? value : await fnOrOptions(seen[0] as V);
      assertTerm(next, 'the value fn returned');
      if ((await this.#exec(k, 'kv.cas', [k, seen, next], maybeOptions)) as boolean) return next;
    }
    throw new SuperCacheError(
      'SC_ERR_CONFLICT',
      `KeyValue.update: other writes to the key won ${MAX_UPDATE_ATTEMPTS} times in a row`,
      { retryable: true, details: { op: 'KeyValue.update', attempts: MAX_UPDATE_ATTEMPTS } },
    );
  }

  /**
   * Sets the key's values to exactly `[value]`, present or not: the same as
   * `add` for a set; a bag or duplicate_bag drops the key's other values in
   * the same atomic step. The TTL starts afresh (`options.ttl` or the
   * table's default).
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key or value is
   *   not a term.
   */
  async replace(key: K, value: V, options?: KeyValueWriteOptions): Promise<void> {
    checkTtlWrite('KeyValue.replace', options);
    const k = this.#key(key);
    assertTerm(value, 'value');
    await this.#exec(k, 'kv.replace', [k, value, options?.ttl ?? null], options);
  }

  /**
   * Adds `step` to the number at `key` (to `defaultValue` when the key is
   * absent) and resolves with the result. Atomic: N concurrent increments
   * add exactly N steps. An existing key keeps its expiry.
   * @throws SuperCacheError `SC_ERR_WRONG_TABLE_TYPE` on a bag or
   *   duplicate_bag table; `SC_ERR_BAD_COUNTER` when the stored value is not
   *   a number; `SC_ERR_BAD_ARG` when `step` or `defaultValue` is not a
   *   finite number; `SC_ERR_INVALID_TERM` when the key is not a term.
   */
  async increment(key: K, step = 1, defaultValue = 0, options?: StructureWriteOptions): Promise<number> {
    checkWrite('KeyValue.increment', options);
    if (this.#bag) {
      throw new SuperCacheError(
        'SC_ERR_WRONG_TABLE_TYPE',
        `increment needs a set or ordered_set table, this one is ${this.router.type}`,
        { details: { type: this.router.type } },
      );
    }
    const k = this.#key(key);
    for (const [v, what] of [
      [step, 'step'],
      [defaultValue, 'defaultValue'],
    ] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new SuperCacheError('SC_ERR_BAD_ARG', `${what} must be a finite number, got ${String(v)}`);
      }
    }
    return (await this.#exec(k, 'kv.increment', [k, step, defaultValue], options)) as number;
  }

  /**
   * Deletes every value at `key`; resolves with true when there was one.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when the key is not a term.
   */
  async remove(key: K, options?: StructureWriteOptions): Promise<boolean> {
    checkWrite('KeyValue.remove', options);
    const k = this.#key(key);
    return (await this.#exec(k, 'kv.remove', [k], options)) as boolean;
  }

  /** Deletes every record of this namespace; resolves with how many. */
  async removeAll(options?: StructureWriteOptions): Promise<number> {
    checkWrite('KeyValue.removeAll', options);
    return this.router.selectDelete(this.#allSpec, options);
  }

  /**
   * Every key of this namespace, once each (ordered_set: in key order;
   * otherwise unordered).
   */
  async keys(options?: StructureReadOptions): Promise<K[]> {
    checkRead('KeyValue.keys', options);
    const keys = (await this.router.select(this.#keysSpec, options)) as K[];
    if (!this.#bag) return keys;
    const seen = new Set<MapKey>();
    return keys.filter((k) => {
      const mk = keyOf(k);
      if (seen.has(mk)) return false;
      seen.add(mk);
      return true;
    });
  }

  /** Every value of this namespace (bags: every value of every key). */
  async values(options?: StructureReadOptions): Promise<V[]> {
    checkRead('KeyValue.values', options);
    return (await this.router.select(this.#valuesSpec, options)) as V[];
  }

  /**
   * Number of `[key, value]` pairs in this namespace, that is
   * `(await toList()).length`: the number of keys for a set, the number of
   * stored values for a bag.
   */
  async count(options?: StructureReadOptions): Promise<number> {
    checkRead('KeyValue.count', options);
    return this.router.selectCount(this.#allSpec, options);
  }

  /**
   * One page of at most `limit` {@link KeyValue.toList} pairs and, unless it
   * is the last, a continuation: pass it back alone for the next page
   * (release an unfinished one with the router's `closeCursor`).
   * @throws SuperCacheError `SC_ERR_BAD_ARG` for a limit that is not a
   *   positive integer; `SC_ERR_BAD_CONTINUATION` for an expired continuation.
   */
  toListPage(limit: number, options?: ReadOptions): Promise<Page<[K, V], TableCursor>>;
  toListPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<[K, V], TableCursor>>;
  async toListPage(a: number | TableCursor, options?: ReadOptions): Promise<Page<[K, V], TableCursor>> {
    const page =
      typeof a === 'number'
        ? await this.router.selectPage(this.#pairsSpec, a, options)
        : await this.router.selectPage(a, options);
    return page as Page<[K, V], TableCursor>;
  }

  /** Every `[key, value]` pair of this namespace (a bag key appears once per value). */
  async toList(options?: StructureReadOptions): Promise<Array<[K, V]>> {
    checkRead('KeyValue.toList', options);
    return (await this.router.select(this.#pairsSpec, options)) as Array<[K, V]>;
  }

  /**
   * Writes many pairs with `add` semantics; each partition's share lands
   * in one step (one `insertMany` per partition, one request per owner).
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when an element is not a
   *   `[key, value]` pair; `SC_ERR_INVALID_TERM` for a key or value that is
   *   not a term. Nothing is written when validation fails.
   */
  async addBatch(pairs: ReadonlyArray<readonly [K, V]>, options?: KeyValueWriteOptions): Promise<void> {
    checkTtlWrite('KeyValue.addBatch', options);
    if (!Array.isArray(pairs))
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'addBatch expects an array of pairs');
    const records: Tuple[] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i];
      if (!Array.isArray(p) || p.length !== 2) {
        throw new SuperCacheError('SC_ERR_BAD_ARG', `addBatch element ${i} is not a [key, value] pair`);
      }
      records[i] = [kvKey(this.name, p[0] as K), p[1] as V];
    }
    if (records.length === 0) return;
    try {
      await this.router.insertMany(records, options);
    } catch (e) {
      throw inCallerTerms(e, pairs, true);
    }
  }

  /**
   * Deletes many keys, one command per partition; resolves with how many
   * of them held values.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `keys` is not an array;
   *   `SC_ERR_INVALID_TERM` for a key that is not a term.
   */
  async removeBatch(keys: readonly K[], options?: StructureWriteOptions): Promise<number> {
    checkWrite('KeyValue.removeBatch', options);
    if (!Array.isArray(keys))
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'removeBatch expects an array of keys');
    const shardOf = this.router.backend.local.shardOf;
    const groups = new Map<number, { pd: Tuple; keys: Tuple[] }>();
    for (const key of keys) {
      const k = this.#key(key);
      const s = shardOf(k);
      let g = groups.get(s);
      if (g === undefined) groups.set(s, (g = { pd: k, keys: [] }));
      g.keys.push(k);
    }
    const counts = await Promise.all(
      [...groups.values()].map((g) => this.#exec(g.pd, 'kv.removeMany', [g.keys], options)),
    );
    let n = 0;
    for (const c of counts) n += c as number;
    return n;
  }
}
