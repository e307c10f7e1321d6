/**
 * The SuperCache facade: one cache instance per node, tuple storage over
 * `numPartition` partitions, batch writes, a lazy write buffer, and the
 * KeyValue / Queue / Stack / Struct structures — the same asynchronous API
 * in local and distributed mode.
 */

import { EventEmitter } from 'node:events';
import { WriteBuffer, type WriteBufferStats } from '@supercache/buffer';
import { createPartitioner } from '@supercache/partition';
import {
  addStats,
  type CommandRegistry,
  checkCallOptions,
  createRegistry,
  emptyStats,
  fanoutItems,
  KEY_READ_SHAPE,
  KEY_WRITE_SHAPE,
  LocalBackend,
  READ_SHAPE,
  ROUTE_SHAPE,
  type RouteOptions,
  type ReadOptions as RouterReadOptions,
  ShardSet,
  type ShardSetOptions,
  type TableCursor,
  TableRouter,
  WRITE_SHAPE,
} from '@supercache/router';
import {
  assertTuple,
  isFlatTuple,
  type Page,
  type Pattern,
  SuperCacheError,
  type TableStats,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';
import {
  DEFAULT_KEY_FIELD,
  KeyValue,
  Queue,
  registerStructureCommands,
  Stack,
  type StructClass,
  StructStore,
  type StructStoreOptions,
} from '@supercache/structures';
import {
  type ClusterProvider,
  type ClusterStats,
  GatedBackend,
  type ScopedBackend,
  type TypedScopedBackend,
  typedScoped,
} from './backend.js';
import { badArgument, notStarted, show } from './errors.js';
import { type CacheHealth, type HealthEvents, HealthMonitor } from './health.js';
import { type HealthOptions, type HealthThresholds, resolveHealthOptions } from './health-options.js';
import { clusterSnapshot, localSnapshot } from './health-snapshot.js';
import { LocalView } from './local-view.js';
import { FacadeLog } from './log.js';
import { resolveSuperCacheOptions, type SuperCacheConfig, type SuperCacheOptions } from './options.js';
import { badProbe } from './probe.js';

/**
 * Options of a SuperCache read. `readMode` is one of `'local'` (this node,
 * may be stale), `'primary'` or `'quorum'`; it travels with the command to
 * the backend. Local mode holds one copy, so all three read it and answer
 * the same. @defaultValue `{ readMode: 'local' }`
 */
export interface ReadOptions extends RouterReadOptions {}

/** Options of a SuperCache write. */
export interface PutOptions extends RouteOptions {
  /**
   * Time to live of the written tuples in ms, overriding the cache's `ttl`:
   * a finite number ≥ 0; `0` = never expire.
   */
  ttl?: number;
}

/** Options of the reads that may be scoped to one partition. */
export interface PartitionScopeOptions extends ReadOptions {
  /** Partition data: only the partition it maps to is read. @defaultValue every partition */
  partition?: Term;
}

/** Options of `deleteByMatch`, which may be scoped to one partition. */
export interface PartitionDeleteOptions extends RouteOptions {
  /** Partition data: only the partition it maps to is touched. @defaultValue every partition */
  partition?: Term;
}

/** What `clusterTotals()` returns: the tuple table summed over every node. */
export interface SuperCacheTotals extends TableStats {
  /** Tuples on every node. */
  readonly size: number;
  /** Estimated bytes on every node. */
  readonly memory: number;
}

/** Storage counters and size of one partition. */
export interface PartitionStats extends TableStats {
  /** Partition index. */
  readonly partition: number;
  /** Tuples in the partition. */
  readonly size: number;
  /** Estimated bytes in the partition. */
  readonly memory: number;
}

/** What `stats()` returns. */
export interface SuperCacheStats {
  /** Partition count. */
  readonly numPartition: number;
  /** Table type of the tuple table. */
  readonly tableType: TableType;
  /** Per-partition size and counters of the tuple table (this node's copy). */
  readonly partitions: readonly PartitionStats[];
  /** Sums over `partitions`. */
  readonly totals: TableStats & { readonly size: number; readonly memory: number };
  /** Objects held by KeyValue namespaces and by queues, stacks and structs. */
  readonly structures: { readonly kv: number; readonly sys: number };
  /** The lazyPut write buffer. */
  readonly lazyPut: WriteBufferStats;
}

type State = 'stopped' | 'starting' | 'started' | 'stopping';

/** The latest lifecycle call queued; later calls run after it, in call order. */
interface LifecycleOp {
  readonly kind: 'start' | 'stop';
  promise: Promise<void>;
}

/** What `#open` makes before the tables get their routers. */
interface Tables {
  readonly shardSets: readonly ShardSet[];
  readonly backends: readonly ScopedBackend[];
  readonly provider: ClusterProvider | undefined;
}

interface Runtime {
  readonly main: TableRouter;
  readonly kv: TableRouter;
  readonly sys: TableRouter;
  readonly mainBackend: TypedScopedBackend;
  readonly gates: readonly GatedBackend[];
  readonly shardSets: readonly ShardSet[];
  readonly buffer: WriteBuffer<Tuple>;
  readonly provider: ClusterProvider | undefined;
  readonly keyValues: Map<string, KeyValue>;
  readonly queues: Map<string, Queue>;
  readonly stacks: Map<string, Stack>;
  readonly structs: Map<string, StructStore<object>>;
  readonly monitor: HealthMonitor;
}

const WHAT = 'SuperCache';
const noop = (): void => {};

/** `{ signal, readMode }` of a scoped read's options, for the router below (which takes no `partition`). */
function readPart(options: PartitionScopeOptions | undefined): RouterReadOptions | undefined {
  if (options === undefined) return undefined;
  const out: RouterReadOptions = {};
  if (options.signal !== undefined) out.signal = options.signal;
  if (options.readMode !== undefined) out.readMode = options.readMode;
  return out;
}

/** `{ signal }` of a scoped delete's options. */
function routePart(options: PartitionDeleteOptions | undefined): RouteOptions | undefined {
  if (options === undefined) return undefined;
  return options.signal === undefined ? {} : { signal: options.signal };
}

function checkName(op: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw badArgument(op, 'name', 'a non-empty string', name);
  return name;
}

/**
 * A partitioned in-memory tuple cache with key-value namespaces, queues,
 * stacks and struct stores.
 *
 * Tuples are arrays of terms. `keyPos` picks the key (what `get` and
 * `delete` address), `partitionPos` the element hashed to pick the
 * partition: tuples with equal partition data share a partition, and every
 * operation — single writes, batches, the lazy buffer and reads — routes
 * through the same partition function, so a batch write always lands where
 * a read looks.
 *
 * @example
 * ```ts
 * const cache = new SuperCache({ numPartition: 4 });
 * await cache.start();
 * await cache.put(['user', 1, 'Alice']);
 * await cache.get(['user']);          // [['user', 1, 'Alice']]
 * cache.local.get(['user']);          // the same, synchronously
 * await cache.stop();
 * ```
 */
export class SuperCache extends EventEmitter<HealthEvents> {
  readonly #config: SuperCacheConfig;
  readonly #log: FacadeLog;
  readonly #local: LocalView;
  readonly #keyPos: number;
  readonly #partitionPos: number;
  readonly #maxPos: number;
  #state: State = 'stopped';
  #rt: Runtime | undefined;
  #op: LifecycleOp | undefined;

  /**
   * Validates the options; the cache holds nothing until {@link SuperCache.start}.
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the invalid field and value.
   */
  constructor(options: SuperCacheOptions = {}) {
    super();
    this.#config = resolveSuperCacheOptions(options);
    this.#log = new FacadeLog(this.#config.logger, { facade: WHAT, node: this.#config.nodeId ?? 'local' });
    this.#keyPos = this.#config.keyPos;
    this.#partitionPos = this.#config.partitionPos;
    this.#maxPos = Math.max(this.#keyPos, this.#partitionPos);
    this.#local = new LocalView(this.#keyPos, this.#partitionPos, WHAT);
  }

  /** Creates and starts a cache. @throws SuperCacheError `SC_ERR_BAD_CONFIG`. */
  static async start(options: SuperCacheOptions = {}): Promise<SuperCache> {
    const cache = new SuperCache(options);
    await cache.start();
    return cache;
  }

  /** The validated configuration, defaults filled in (frozen). */
  get config(): SuperCacheConfig {
    return this.#config;
  }

  /** True between a completed `start()` and the next `stop()`. */
  get started(): boolean {
    return this.#state === 'started';
  }

  /** True when configured with `cluster: 'distributed'`. */
  get distributed(): boolean {
    return this.#config.cluster === 'distributed';
  }

  /** Synchronous reads of this node's copy (see {@link LocalView}). */
  get local(): LocalView {
    return this.#local;
  }

  // ---- lifecycle ---------------------------------------------------------

  /**
   * Creates the partitions (and, in distributed mode, joins the cluster).
   * Idempotent: calling it again, or while it runs, resolves when started.
   * Lifecycle calls take effect in call order, so a `start()` made while
   * `stop()` is in flight waits for the stop, then starts: the cache ends
   * started. After `stop()` it starts afresh with empty tables.
   */
  start(): Promise<void> {
    return this.#queue('start');
  }

  /**
   * Writes what `lazyPut` still buffers, then drops the tables (and leaves
   * the cluster). Idempotent. Data operations afterwards fail with
   * `SC_ERR_NOT_STARTED`, and so do structure handles taken before. A
   * `stop()` made while `start()` runs waits for it, then stops.
   *
   * @throws the error of a buffered batch that failed to write, after the
   *   cache has stopped anyway.
   */
  stop(): Promise<void> {
    return this.#queue('stop');
  }

  /**
   * Queues a lifecycle step behind the latest one. A call of the same kind
   * as the latest queued one joins it; one that asks for the state the
   * cache is already in, with nothing queued, resolves at once.
   */
  #queue(kind: 'start' | 'stop'): Promise<void> {
    const last = this.#op;
    if (last?.kind === kind) return last.promise;
    if (last === undefined && this.#state === (kind === 'start' ? 'started' : 'stopped')) {
      return Promise.resolve();
    }
    const op: LifecycleOp = { kind, promise: Promise.resolve() };
    const before = last?.promise.catch(noop);
    op.promise = (async () => {
      try {
        if (before !== undefined) await before;
        await (kind === 'start' ? this.#doStart() : this.#doStop());
      } finally {
        if (this.#op === op) this.#op = undefined;
      }
    })();
    this.#op = op;
    return op.promise;
  }

  async #doStart(): Promise<void> {
    if (this.#state === 'started') return;
    this.#state = 'starting';
    try {
      const rt = this.#build(await this.#open());
      this.#rt = rt;
      this.#local.attach(rt.mainBackend.local);
      this.#state = 'started';
      rt.monitor.start();
      this.#log.info('started', { mode: this.#config.cluster, numPartition: this.#config.numPartition });
    } catch (e) {
      this.#state = 'stopped';
      throw e;
    }
  }

  async #doStop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    const rt = this.#rt;
    let failure: unknown;
    try {
      if (rt !== undefined) {
        rt.monitor.stop();
        try {
          await rt.buffer.stop();
        } catch (e) {
          failure = e;
        }
        this.#local.detach();
        for (const g of rt.gates) g.close();
        for (const s of rt.shardSets) s.close();
        if (rt.provider !== undefined) await rt.provider.stop();
      }
    } finally {
      this.#rt = undefined;
      this.#state = 'stopped';
    }
    this.#log.info('stopped');
    if (failure !== undefined) throw failure;
  }

  /**
   * Creates the shards of the main, kv and sys tables and a backend for
   * each (joining the cluster first in distributed mode). Closes what it
   * made when a step fails.
   */
  async #open(): Promise<Tables> {
    const c = this.#config;
    const n = c.numPartition;
    const registry: CommandRegistry = createRegistry();
    registerStructureCommands(registry);
    const common: Omit<ShardSetOptions, 'type' | 'keyPos'> = {
      shards: n,
      registry,
      ...(c.clock === undefined ? {} : { clock: c.clock }),
      ...(c.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: c.sweepIntervalMs }),
    };
    const mainShards = new ShardSet({
      ...common,
      type: c.tableType,
      keyPos: c.keyPos,
      ttl: c.ttl,
      maxEntries: c.maxEntries,
      maxBytes: c.maxBytes,
    });
    const kvShards = new ShardSet({ ...common, type: c.tableType, keyPos: 0 });
    const sysShards = new ShardSet({ ...common, type: 'set', keyPos: 0 });
    const shardSets = [mainShards, kvShards, sysShards];
    const partitioner = createPartitioner({ numPartitions: n });
    const shardOf = n === 1 ? (_pd: Term) => 0 : partitioner.partitionOf;

    let provider: ClusterProvider | undefined;
    const backends: ScopedBackend[] = [];
    try {
      if (c.cluster === 'distributed') {
        const factory = c.clusterProvider;
        if (factory === undefined)
          throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'distributed mode needs a clusterProvider');
        provider = factory({
          kind: 'supercache',
          nodeId: c.nodeId,
          peers: c.peers,
          numPartition: n,
          replicationMode: c.replicationMode,
          replicationFactor: c.replicationFactor,
          tableType: c.tableType,
          keyPos: c.keyPos,
          partitionPos: c.partitionPos,
        });
        await provider.start();
        const names = ['main', 'kv', 'sys'] as const;
        for (let i = 0; i < 3; i++) {
          backends.push(
            await provider.createBackend({
              table: names[i] as string,
              kind: 'supercache',
              shards: shardSets[i] as ShardSet,
              shardOf,
              partitionPos: i === 0 ? c.partitionPos : 0,
            }),
          );
        }
      } else {
        // Copies made with the command: results and stored tuples are never the caller's arrays.
        for (const shards of shardSets) backends.push(new LocalBackend({ shards, shardOf, copy: true }));
      }
    } catch (e) {
      for (const s of shardSets) s.close();
      if (provider !== undefined) await provider.stop().catch(() => {});
      throw e;
    }
    return { shardSets, backends, provider };
  }

  /** Puts the routers, the gates and the lazyPut buffer over opened tables. */
  #build(tables: Tables): Runtime {
    const c = this.#config;
    const [bMain, bKv, bSys] = tables.backends as [ScopedBackend, ScopedBackend, ScopedBackend];
    // The facade checks its own options; the structures hand theirs to the kv
    // and sys backends. A cluster backend serves this node's keys from its own
    // tables, so its gates copy (a local backend already does).
    const copy = tables.provider !== undefined;
    const node = tables.provider?.nodeId ?? c.nodeId ?? 'local';
    const gMain = new GatedBackend(bMain, WHAT, { copy, trace: { table: 'main', node } });
    const gKv = new GatedBackend(bKv, WHAT, { checkOptions: true, copy, trace: { table: 'kv', node } });
    const gSys = new GatedBackend(bSys, WHAT, { checkOptions: true, copy, trace: { table: 'sys', node } });
    const main = new TableRouter(gMain, { partitionPos: c.partitionPos });
    const lazy = c.lazyPut;
    const buffer = new WriteBuffer<Tuple>({
      // One batch at a time, in push order; the router writes each
      // partition's share as one command in push order, so of two writes to
      // a key the later one lands last.
      apply: (batch) => main.insertMany(batch).then(noop),
      ...(lazy.maxBatch === undefined ? {} : { maxBatch: lazy.maxBatch }),
      ...(lazy.maxPending === undefined ? {} : { maxPending: lazy.maxPending }),
      ...(lazy.maxWaiting === undefined ? {} : { maxWaiting: lazy.maxWaiting }),
      ...(lazy.flushOn === undefined ? {} : { flushOn: lazy.flushOn }),
      ...(lazy.onError === undefined ? {} : { onError: lazy.onError }),
    });
    return {
      main,
      kv: new TableRouter(gKv),
      sys: new TableRouter(gSys),
      mainBackend: typedScoped(gMain),
      gates: [gMain, gKv, gSys],
      shardSets: tables.shardSets,
      buffer,
      provider: tables.provider,
      keyValues: new Map(),
      queues: new Map(),
      stacks: new Map(),
      structs: new Map(),
      monitor: this.#monitor(tables.provider, node),
    };
  }

  /** The health monitor of a started cache: cluster health in distributed mode, one node in local mode. */
  #monitor(provider: ClusterProvider | undefined, node: string): HealthMonitor {
    const c = this.#config;
    const clock = c.clock;
    const health = provider?.health?.bind(provider);
    const names = { main: 'supercache.main', kv: 'supercache.kv', sys: 'supercache.sys' };
    return new HealthMonitor({
      thresholds: c.health,
      snapshot:
        health === undefined
          ? () =>
              localSnapshot(
                node,
                ['main', 'kv', 'sys'],
                c.numPartition,
                'partitions',
                c.replicationMode,
                clock?.now() ?? Date.now(),
              )
          : () => clusterSnapshot(health(), names, ['main']),
      onAlert: (alert) => this.emit('healthAlert', alert),
      onCheck: (report) => this.emit('healthCheck', report),
      log: this.#log,
      clock,
    });
  }

  #runtime(op: string): Runtime {
    const rt = this.#rt;
    if (rt === undefined || this.#state !== 'started') throw notStarted(WHAT, op);
    return rt;
  }

  /**
   * Validates a tuple to store. A flat tuple of primitives (the common case)
   * is checked in one pass without allocating; anything else takes the full
   * term walk.
   */
  #tuple(obj: unknown): Tuple {
    if (Array.isArray(obj) && obj.length > this.#maxPos && isFlatTuple(obj)) return obj as Tuple;
    return assertTuple(obj, this.#keyPos, this.#partitionPos);
  }

  #partitionIndex(op: string, idx: unknown): number {
    const n = this.#config.numPartition;
    if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0 || idx >= n) {
      throw badArgument(op, 'partition index', `an integer from 0 to ${n - 1} (numPartition is ${n})`, idx);
    }
    return idx;
  }

  #indexOf(rt: Runtime, partitionData: Term): number {
    return rt.mainBackend.local.shardOf(partitionData);
  }

  // ---- writes --------------------------------------------------------------

  /**
   * Stores one tuple in the partition of `tuple[partitionPos]` (a set
   * replaces the tuple with the same key; a bag adds it). The cache stores
   * a copy: changing `tuple` afterwards changes nothing stored.
   * @throws SuperCacheError `SC_ERR_TUPLE_TOO_SHORT` when the tuple has no
   *   element at `keyPos` or `partitionPos`; `SC_ERR_INVALID_TERM`;
   *   `SC_ERR_BAD_ARG` for a bad option; `SC_ERR_NOT_STARTED`.
   */
  async put(tuple: Tuple, options?: PutOptions): Promise<true> {
    const rt = this.#runtime('put');
    checkCallOptions('put', options, WRITE_SHAPE);
    const t = this.#tuple(tuple);
    return rt.mainBackend.exec(t[this.#partitionPos] as Term, 'insert', [[t], options?.ttl], options);
  }

  /**
   * Stores many tuples: each goes to the partition of its
   * `tuple[partitionPos]`, exactly like {@link SuperCache.put}, and each
   * partition's share is written in one command.
   * @throws SuperCacheError as {@link SuperCache.put}; nothing is written
   *   when any tuple is invalid.
   */
  async putBatch(tuples: readonly Tuple[], options?: PutOptions): Promise<true> {
    const rt = this.#runtime('putBatch');
    checkCallOptions('putBatch', options, WRITE_SHAPE);
    if (!Array.isArray(tuples)) throw badArgument('putBatch', 'tuples', 'an array of tuples', tuples);
    return rt.main.insertMany(tuples, options);
  }

  /**
   * Buffers a write; it lands within the next event-loop turn (see the
   * `lazyPut` options), in call order, so of many lazy writes to one key the
   * last one wins. Resolves at once while the buffer has room; when it is
   * full, resolves once there is room (backpressure). Validation errors
   * reject at once; write errors surface on the next `flush()` or `stop()`.
   *
   * A `put` issued before the buffer flushes may land before an earlier
   * `lazyPut`; call {@link SuperCache.flush} to order them.
   *
   * @throws SuperCacheError `SC_ERR_TUPLE_TOO_SHORT`, `SC_ERR_INVALID_TERM`,
   *   `SC_ERR_BAD_ARG` for a bad option, `SC_ERR_NOT_STARTED`;
   *   `SC_ERR_BUFFER_FULL` (retryable) when too many calls already wait for room.
   */
  lazyPut(tuple: Tuple, options?: RouteOptions): Promise<void> {
    try {
      const rt = this.#runtime('lazyPut');
      checkCallOptions('lazyPut', options, ROUTE_SHAPE);
      const r = rt.buffer.push(this.#tuple(tuple), options);
      return r === undefined ? Promise.resolve() : r;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Resolves once every tuple given to `lazyPut` before the call is written.
   * @throws the error of a batch that failed since the last flush.
   */
  async flush(options?: RouteOptions): Promise<void> {
    const rt = this.#runtime('flush');
    checkCallOptions('flush', options, ROUTE_SHAPE);
    await rt.buffer.flush(options?.signal === undefined ? undefined : { signal: options.signal });
  }

  /**
   * Stores `tuple` in the partition of `partitionData` instead of the
   * partition of `tuple[partitionPos]` (the seed's `put_partition!`). Read it
   * back with {@link SuperCache.getPartition} and the same partition data.
   */
  async putPartition(tuple: Tuple, partitionData: Term, options?: PutOptions): Promise<true> {
    const rt = this.#runtime('putPartition');
    checkCallOptions('putPartition', options, WRITE_SHAPE);
    const t = assertTuple(tuple, this.#keyPos);
    return rt.mainBackend.exec(partitionData, 'insert', [[t], options?.ttl], options);
  }

  /**
   * Stores `tuple` in partition number `idx` (the seed's
   * `put_partition_by_idx!`).
   * @throws SuperCacheError `SC_ERR_BAD_ARG` unless `0 ≤ idx < numPartition`.
   */
  async putPartitionByIdx(tuple: Tuple, idx: number, options?: PutOptions): Promise<true> {
    const rt = this.#runtime('putPartitionByIdx');
    checkCallOptions('putPartitionByIdx', options, WRITE_SHAPE);
    const i = this.#partitionIndex('putPartitionByIdx', idx);
    const t = assertTuple(tuple, this.#keyPos);
    return rt.mainBackend.execPartition(i, 'insert', [[t], options?.ttl], options);
  }

  // ---- reads ---------------------------------------------------------------

  /**
   * The tuples whose key equals `probe[keyPos]`, in the partition of
   * `probe[partitionPos]`; other elements of the probe are ignored. `[]`
   * when none. The tuples are copies, yours to change (as they are over the
   * wire); `cache.local.get` is the zero-copy read.
   * @throws SuperCacheError `SC_ERR_TUPLE_TOO_SHORT` when the probe has no
   *   element at `keyPos` or `partitionPos`; `SC_ERR_BAD_ARG` for a bad
   *   option (an unknown `readMode` included); `SC_ERR_NOT_STARTED`.
   */
  get(probe: Tuple, options?: ReadOptions): Promise<readonly Tuple[]> {
    const rt = this.#rt;
    if (rt === undefined || this.#state !== 'started') return Promise.reject(notStarted(WHAT, 'get'));
    if (!Array.isArray(probe) || probe.length <= this.#maxPos) {
      return Promise.reject(badProbe(probe, this.#keyPos, this.#partitionPos));
    }
    if (options !== undefined) {
      try {
        checkCallOptions('get', options, READ_SHAPE);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return rt.mainBackend.exec(probe[this.#partitionPos] as Term, 'lookup', [probe[this.#keyPos]], options);
  }

  /** The tuples at `key` in the partition of `partitionData`. */
  getByKeyPartition(key: Term, partitionData: Term, options?: ReadOptions): Promise<readonly Tuple[]> {
    return this.#getAt('getByKeyPartition', key, partitionData, options);
  }

  /** The tuples at `key`, with `key` as the partition data too (`keyPos` and `partitionPos` hold the same element). */
  getSameKeyPartition(key: Term, options?: ReadOptions): Promise<readonly Tuple[]> {
    return this.#getAt('getSameKeyPartition', key, key, options);
  }

  /** The tuples at `key` in the partition of `partitionData` (the seed's `get_partition!`). */
  getPartition(key: Term, partitionData: Term, options?: ReadOptions): Promise<readonly Tuple[]> {
    return this.#getAt('getPartition', key, partitionData, options);
  }

  #getAt(op: string, key: Term, partitionData: Term, options: ReadOptions | undefined): Promise<Tuple[]> {
    const rt = this.#rt;
    if (rt === undefined || this.#state !== 'started') return Promise.reject(notStarted(WHAT, op));
    if (options !== undefined) {
      try {
        checkCallOptions(op, options, READ_SHAPE);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return rt.mainBackend.exec(partitionData, 'lookup', [key], options);
  }

  /**
   * The tuples at `key` in partition number `idx`.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` unless `0 ≤ idx < numPartition`.
   */
  async getPartitionByIdx(key: Term, idx: number, options?: ReadOptions): Promise<readonly Tuple[]> {
    const rt = this.#runtime('getPartitionByIdx');
    checkCallOptions('getPartitionByIdx', options, READ_SHAPE);
    const i = this.#partitionIndex('getPartitionByIdx', idx);
    return rt.mainBackend.execPartition(i, 'lookup', [key], options);
  }

  /**
   * Bindings of `$1..$n` (one array per matching tuple) for `pattern`; in
   * the partition of `options.partition` only when given, else in all.
   * Ordered tables return them in key order.
   */
  async getByMatch(pattern: Pattern, options?: PartitionScopeOptions): Promise<Term[][]> {
    const rt = this.#runtime('getByMatch');
    checkCallOptions('getByMatch', options, KEY_READ_SHAPE);
    if (options?.partition === undefined) return rt.main.match(pattern, readPart(options));
    const idx = this.#indexOf(rt, options.partition);
    const r = await rt.mainBackend.broadcastPartitions([idx], 'match', [pattern], options);
    return fanoutItems(r, rt.mainBackend.type);
  }

  /** Every tuple matching `pattern`; in one partition when `options.partition` is given. */
  async getByMatchObject(pattern: Pattern, options?: PartitionScopeOptions): Promise<Tuple[]> {
    const rt = this.#runtime('getByMatchObject');
    checkCallOptions('getByMatchObject', options, KEY_READ_SHAPE);
    if (options?.partition === undefined) return rt.main.matchObject(pattern, readPart(options));
    const idx = this.#indexOf(rt, options.partition);
    const r = await rt.mainBackend.broadcastPartitions([idx], 'matchObject', [pattern], options);
    return fanoutItems(r, rt.mainBackend.type);
  }

  /**
   * One page of at most `limit` {@link SuperCache.getByMatch} bindings over
   * every partition and, unless it is the last, a continuation: pass it
   * back alone for the next page. Only a page per node is held in memory;
   * the nodes keep their cursors open until the last page,
   * {@link SuperCache.closePage}, or their idle timeout.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` for a limit that is not a
   *   positive integer; `SC_ERR_BAD_CONTINUATION` for an expired one.
   */
  getByMatchPage(pattern: Pattern, limit: number, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  getByMatchPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  async getByMatchPage(
    a: Pattern | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Term[], TableCursor>> {
    const main = this.#runtime('getByMatchPage').main;
    return typeof b === 'number' ? main.matchPage(a as Pattern, b, c) : main.matchPage(a as TableCursor, b);
  }

  /** One page of {@link SuperCache.getByMatchObject} tuples (see {@link SuperCache.getByMatchPage}). */
  getByMatchObjectPage(
    pattern: Pattern,
    limit: number,
    options?: ReadOptions,
  ): Promise<Page<Tuple, TableCursor>>;
  getByMatchObjectPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Tuple, TableCursor>>;
  async getByMatchObjectPage(
    a: Pattern | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Tuple, TableCursor>> {
    const main = this.#runtime('getByMatchObjectPage').main;
    return typeof b === 'number'
      ? main.matchObjectPage(a as Pattern, b, c)
      : main.matchObjectPage(a as TableCursor, b);
  }

  /** Releases a page continuation's cursors without reading on. */
  async closePage(continuation: TableCursor): Promise<void> {
    await this.#runtime('closePage').main.closeCursor(continuation);
  }

  /**
   * Folds `fn(tuple, acc)` over every tuple (ordered tables: in key order),
   * streamed page by page; or over one partition when `options.partition`
   * is given. Resolves with the final accumulator.
   */
  async scan<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: PartitionScopeOptions): Promise<A> {
    const rt = this.#runtime('scan');
    checkCallOptions('scan', options, KEY_READ_SHAPE);
    if (typeof fn !== 'function') throw badArgument('scan', 'fn', 'a function (tuple, acc) => acc', fn);
    if (options?.partition === undefined) return rt.main.foldl(fn, acc, readPart(options));
    const idx = this.#indexOf(rt, options.partition);
    const r = await rt.mainBackend.broadcastPartitions([idx], 'tab2list', [], options);
    let a = acc;
    for (const o of fanoutItems(r, rt.mainBackend.type)) a = fn(o, a);
    return a;
  }

  // ---- deletes -------------------------------------------------------------

  /** Deletes the tuples at `probe[keyPos]` in the partition of `probe[partitionPos]`. */
  async delete(probe: Tuple, options?: RouteOptions): Promise<true> {
    const rt = this.#runtime('delete');
    checkCallOptions('delete', options, ROUTE_SHAPE);
    if (!Array.isArray(probe) || probe.length <= this.#maxPos) {
      throw badProbe(probe, this.#keyPos, this.#partitionPos);
    }
    return rt.mainBackend.exec(probe[this.#partitionPos] as Term, 'delete', [probe[this.#keyPos]], options);
  }

  /**
   * Deletes every tuple (KeyValue namespaces, queues, stacks and structs are
   * kept). Resolves with how many were removed.
   */
  async deleteAll(options?: RouteOptions): Promise<number> {
    const rt = this.#runtime('deleteAll');
    checkCallOptions('deleteAll', options, ROUTE_SHAPE);
    return rt.main.deleteAllObjects(options);
  }

  /**
   * Deletes the tuples matching `pattern` (in one partition when
   * `options.partition` is given). Resolves with how many.
   */
  async deleteByMatch(pattern: Pattern, options?: PartitionDeleteOptions): Promise<number> {
    const rt = this.#runtime('deleteByMatch');
    checkCallOptions('deleteByMatch', options, KEY_WRITE_SHAPE);
    if (options?.partition === undefined) return rt.main.matchDelete(pattern, routePart(options));
    const idx = this.#indexOf(rt, options.partition);
    return rt.mainBackend.broadcastPartitions([idx], 'matchDelete', [pattern], options);
  }

  /** Deletes the tuples at `key` in the partition of `partitionData`. */
  deleteByKeyPartition(key: Term, partitionData: Term, options?: RouteOptions): Promise<true> {
    return this.#deleteAt('deleteByKeyPartition', key, partitionData, options);
  }

  /** Deletes the tuples at `key`, with `key` as the partition data. */
  deleteSameKeyPartition(key: Term, options?: RouteOptions): Promise<true> {
    return this.#deleteAt('deleteSameKeyPartition', key, key, options);
  }

  /** Deletes the tuples at `key` in the partition of `partitionData` (the seed's `delete_partition!`). */
  deletePartition(key: Term, partitionData: Term, options?: RouteOptions): Promise<true> {
    return this.#deleteAt('deletePartition', key, partitionData, options);
  }

  async #deleteAt(
    op: string,
    key: Term,
    partitionData: Term,
    options: RouteOptions | undefined,
  ): Promise<true> {
    const rt = this.#runtime(op);
    checkCallOptions(op, options, ROUTE_SHAPE);
    return rt.mainBackend.exec(partitionData, 'delete', [key], options);
  }

  /**
   * Deletes the tuples at `key` in partition number `idx`.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` unless `0 ≤ idx < numPartition`.
   */
  async deletePartitionByIdx(key: Term, idx: number, options?: RouteOptions): Promise<true> {
    const rt = this.#runtime('deletePartitionByIdx');
    checkCallOptions('deletePartitionByIdx', options, ROUTE_SHAPE);
    const i = this.#partitionIndex('deletePartitionByIdx', idx);
    return rt.mainBackend.execPartition(i, 'delete', [key], options);
  }

  // ---- observability -------------------------------------------------------

  /**
   * Per-partition sizes and counters of this node's copy of the tuple table,
   * their totals, the structures' sizes and the lazyPut buffer. Synchronous:
   * it reads only this process's tables, in either mode. For the tuple table
   * summed over every node of a cluster, see {@link SuperCache.clusterTotals}.
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`.
   */
  stats(): SuperCacheStats {
    const rt = this.#runtime('stats');
    const [mainShards, kvShards, sysShards] = rt.shardSets as [ShardSet, ShardSet, ShardSet];
    const partitions: PartitionStats[] = [];
    const totals = { ...emptyStats(), size: 0, memory: 0 };
    mainShards.tables.forEach((t, partition) => {
      const s = t.stats();
      const info = t.info();
      partitions.push({ partition, size: info.size, memory: info.memory, ...s });
      totals.size += info.size;
      totals.memory += info.memory;
      addStats(totals, s);
    });
    const count = (s: ShardSet) => s.tables.reduce((n, t) => n + t.size, 0);
    return {
      numPartition: this.#config.numPartition,
      tableType: this.#config.tableType,
      partitions,
      totals,
      structures: { kv: count(kvShards), sys: count(sysShards) },
      lazyPut: rt.buffer.stats(),
    };
  }

  /**
   * The tuple table's counters, size and memory summed over every node of
   * the cluster (one round of fan-out commands); in local mode the same
   * figures as `stats().totals`.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` for a bad option; `SC_ERR_NOT_STARTED`.
   */
  async clusterTotals(options?: ReadOptions): Promise<SuperCacheTotals> {
    const rt = this.#runtime('clusterTotals');
    checkCallOptions('clusterTotals', options, READ_SHAPE);
    const [stats, size, memory] = await Promise.all([
      rt.main.stats(options),
      rt.main.size(options),
      rt.main.memory(options),
    ]);
    return { ...stats, size, memory };
  }

  /**
   * Membership and placement. In local mode, a one-node view: this node is
   * primary for every partition and the effective replication factor is 1.
   */
  async clusterStats(): Promise<ClusterStats> {
    const rt = this.#runtime('clusterStats');
    if (rt.provider !== undefined) return rt.provider.clusterStats();
    const nodeId = this.#config.nodeId ?? 'local';
    const size = rt.shardSets[0]?.tables.reduce((n, t) => n + t.size, 0) ?? 0;
    return {
      mode: 'local',
      nodeId,
      nodes: [
        {
          nodeId,
          status: 'up',
          self: true,
          primaryPartitions: this.#config.numPartition,
          replicaPartitions: 0,
          size,
        },
      ],
      numPartition: this.#config.numPartition,
      replicationMode: this.#config.replicationMode,
      replicationFactor: 1,
    };
  }

  // ---- health ------------------------------------------------------------

  /**
   * The health of the cluster and of each node as this node sees it: status,
   * RTT and last contact per member, replication lag per table and
   * partition (zero-copy in local mode, said in `notes`), partition balance,
   * the error rate since the last check, and the alerts raised by the last
   * check. Raises and clears nothing (see {@link SuperCache.forceCheck}).
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`.
   */
  health(): CacheHealth {
    return this.#runtime('health').monitor.health();
  }

  /**
   * Runs a health check now, as the periodic check does: raises alerts for
   * thresholds crossed and clears those back within bounds (emitting
   * `healthAlert` and publishing on `supercache:health:alert`), then
   * emits `healthCheck`.
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`.
   */
  async forceCheck(): Promise<CacheHealth> {
    return this.#runtime('forceCheck').monitor.check();
  }

  /**
   * Changes the health-check interval or thresholds at run time (fields
   * left out keep their value); the next check compares with them, so a
   * `forceCheck()` after relaxing a threshold clears its alerts.
   * @returns the thresholds now in force.
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the field; `SC_ERR_NOT_STARTED`.
   */
  configureHealth(options: HealthOptions): HealthThresholds {
    const m = this.#runtime('configureHealth').monitor;
    const next = resolveHealthOptions(WHAT, options, m.thresholds);
    m.reconfigure(next);
    return next;
  }

  // ---- structures ----------------------------------------------------------

  /**
   * The key-value namespace `name` (one instance per name while started).
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`; `SC_ERR_BAD_ARG` for an empty name.
   */
  keyValue<K extends Term = Term, V extends Term = Term>(name: string): KeyValue<K, V> {
    const rt = this.#runtime('keyValue');
    checkName('keyValue', name);
    let kv = rt.keyValues.get(name);
    if (kv === undefined) rt.keyValues.set(name, (kv = new KeyValue(rt.kv, name)));
    return kv as unknown as KeyValue<K, V>;
  }

  /** The FIFO queue `name` (one instance per name while started). */
  queue<V extends Term = Term>(name: string): Queue<V> {
    const rt = this.#runtime('queue');
    checkName('queue', name);
    let q = rt.queues.get(name);
    if (q === undefined) rt.queues.set(name, (q = new Queue(rt.sys, name)));
    return q as unknown as Queue<V>;
  }

  /** The LIFO stack `name` (one instance per name while started). */
  stack<V extends Term = Term>(name: string): Stack<V> {
    const rt = this.#runtime('stack');
    checkName('stack', name);
    let s = rt.stacks.get(name);
    if (s === undefined) rt.stacks.set(name, (s = new Stack(rt.sys, name)));
    return s as unknown as Stack<V>;
  }

  /**
   * The struct store of a class, keyed by `keyField` (the seed's
   * `Struct.init(struct, key \\ :id)`: `keyField` defaults to `'id'`, and
   * `options` may come second): one instance per store name
   * (`options.name`, else `Class.name`) while started.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when a store of that name is
   *   open with another class or key field (give it another `options.name`);
   *   `SC_ERR_BAD_STRUCT` when the class does not construct without
   *   arguments or `keyField` is not an own field of `new Class()`.
   */
  struct<T extends object>(
    Class: StructClass<T>,
    keyFieldOrOptions?: Extract<keyof T, string> | StructStoreOptions,
    options: StructStoreOptions = {},
  ): StructStore<T> {
    const rt = this.#runtime('struct');
    let keyField = keyFieldOrOptions as Extract<keyof T, string> | undefined;
    if (typeof keyFieldOrOptions === 'object' && keyFieldOrOptions !== null) {
      options = keyFieldOrOptions;
      keyField = undefined;
    }
    keyField ??= DEFAULT_KEY_FIELD as Extract<keyof T, string>;
    const name = options.name ?? (typeof Class === 'function' ? Class.name : undefined);
    const found = typeof name === 'string' ? rt.structs.get(name) : undefined;
    if (found !== undefined) {
      if (found.Class !== (Class as unknown) || found.keyField !== keyField) {
        throw badArgument(
          'struct',
          'Class and keyField',
          `${found.Class.name} keyed by ${show(found.keyField)} (the store ${show(name)} is open with them; ` +
            'pass another options.name)',
          `${typeof Class === 'function' ? Class.name : show(Class)} keyed by ${show(keyField)}`,
        );
      }
      return found as unknown as StructStore<T>;
    }
    const store = new StructStore<T>(rt.sys, Class, keyField, options);
    rt.structs.set(store.name, store as unknown as StructStore<object>);
    return store;
  }
}
