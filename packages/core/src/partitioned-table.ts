/**
 * PartitionedTable: the PartitionedEts system. Named tables, each exposing
 * the whole storage API asynchronously, with keys routed by rendezvous
 * hashing over this node's `{node, partition}` shards.
 */

import { EventEmitter } from 'node:events';
import { createShardRouter, nodeShards, type Shard, type ShardHashFn } from '@supercache/partition';
import {
  checkCallOptions,
  createRegistry,
  extendShape,
  LocalBackend,
  type OptionShape,
  READ_SHAPE,
  type ReadOptions,
  ROUTE_SHAPE,
  type RouteOptions,
  ShardSet,
  type ShardSetOptions,
  type StreamOptions,
  type TableCursor,
  TableRouter,
  WRITE_SHAPE,
  type WriteOptions,
} from '@supercache/router';
import {
  type Clock,
  type CounterOp,
  isTerm,
  type MatchSpec,
  type Page,
  type Pattern,
  SuperCacheError,
  type Table,
  type TableStats,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';
import {
  type ClusterProvider,
  type ClusterProviderFactory,
  GatedBackend,
  type ReplicationMode,
  type ScopedBackend,
} from './backend.js';
import { badConfig, notStarted, show } from './errors.js';
import { type CacheHealth, type HealthEvents, HealthMonitor } from './health.js';
import { type HealthOptions, type HealthThresholds, resolveHealthOptions } from './health-options.js';
import { clusterSnapshot, localSnapshot } from './health-snapshot.js';
import { FacadeLog, type Logger, loggerOption } from './log.js';
import {
  checkKnownKeys,
  clockOption,
  enumOption,
  fnOption,
  intOption,
  MAX_PARTITIONS,
  REPLICATION_MODES,
  stringOption,
  TABLE_TYPES,
  ttlOption,
} from './options.js';

/** `lookupElement`'s options: a read's, and the `default` answered for a missing key. */
const LOOKUP_ELEMENT_SHAPE: OptionShape = extendShape(READ_SHAPE, {
  default: (v) => (isTerm(v) ? undefined : 'a term'),
});

/**
 * Optional callbacks of a table (PartitionedEts `callbacks`): any subset of
 * them.
 */
export interface PartitionedTableCallbacks {
  /**
   * Replaces rendezvous routing. Gets the key and the table's shards
   * (`{node, partition}`, sorted by node then partition; on one node,
   * `shards[i].partition === i`, so `shards.length` is the partition count)
   * and returns one of those shards or its index. Checked on every call: a
   * non-integer or out-of-range answer fails with `SC_ERR_BAD_ARG` instead
   * of misrouting. Must be deterministic.
   * @defaultValue rendezvous hashing (`ownerShard(hashTerm(key), shards)`)
   */
  hash?: ShardHashFn;
  /** Called by the cluster when a node joins the table (distributed mode). */
  nodeAdded?: (nodeId: string) => void;
  /** Called by the cluster when a node leaves the table (distributed mode). */
  nodeRemoved?: (nodeId: string) => void;
}

/** Options of {@link PartitionedTable.start}. */
export interface PartitionedTableOptions {
  /** Table name, unique per node (`nodeId`) while started. */
  name: string;
  /** Table type of every partition. @defaultValue 'set' */
  type?: TableType;
  /** 0-based key position of every tuple. @defaultValue 0 */
  keyPos?: number;
  /**
   * Storage tables on this node. More partitions spread keys over more
   * tables; fan-out operations visit each. @defaultValue 1
   */
  partitions?: number;
  /** Routing and membership callbacks. @defaultValue none */
  callbacks?: PartitionedTableCallbacks;
  /**
   * True to join a cluster (needs `clusterProvider`); false keeps the table
   * on this node only. The seed defaults to `true`; here a cluster needs a
   * `clusterProvider`, which a default cannot supply, so the default is
   * `false` (see the usage guide). @defaultValue false
   */
  distributed?: boolean;
  /** Distributed mode's hook: `clusterProvider` from `@supercache/core/cluster`. */
  clusterProvider?: ClusterProviderFactory;
  /** Peers to contact in distributed mode. @defaultValue [] */
  peers?: readonly string[];
  /**
   * Distributed mode: copies of every key, primary included, 1–7 (the
   * replication factor). With 2 or more a crash of a node loses nothing
   * acknowledged in `sync` and `strong` mode: the next copy of each of its
   * keys takes over, and the copies are refilled. Every node of the table
   * must agree (a node with another value is refused with
   * `SC_ERR_CONFIG_MISMATCH`). Needs the default routing (no
   * `callbacks.hash`). @defaultValue 1
   */
  replicas?: number;
  /**
   * How writes reach the copies when `replicas` > 1: `'async'` (acknowledged
   * once the primary applied them), `'sync'` (once every copy did), or
   * `'strong'` (as `sync`, and a read waits for what it could see to be
   * committed). Every node must agree. @defaultValue 'async'
   */
  replicationMode?: ReplicationMode;
  /** This node's id (the `node` of its shards). @defaultValue 'local' */
  nodeId?: string;
  /** Default time to live in ms (`0` or `Infinity`: none). @defaultValue 0 */
  ttl?: number;
  /** Most objects kept (shared equally by the partitions); `0`: no limit. @defaultValue 0 */
  maxEntries?: number;
  /** Most estimated bytes kept, shared like `maxEntries`; `0`: no limit. @defaultValue 0 */
  maxBytes?: number;
  /** Time source for TTL. @defaultValue `{ now: Date.now }` */
  clock?: Clock;
  /** Expiry sweep interval in ms (`0` disables the timer). @defaultValue 1000 */
  sweepIntervalMs?: number;
  /**
   * Health checks: interval and alert thresholds (see {@link PartitionedTable.health}).
   * @defaultValue `{ intervalMs: 5000, latencyMs: 100, lagMs: 500, errorRate: 0.05, imbalance: 0.3 }`
   */
  health?: HealthOptions;
  /** A pino-compatible logger (`{ debug, info, warn, error }`). @defaultValue none: debug lines only, to stderr */
  logger?: Logger;
}

/** What {@link PartitionedTable.info} reports. */
export interface PartitionedTableInfo {
  readonly name: string;
  readonly type: TableType;
  readonly keyPos: number;
  /** Live objects across the table. */
  readonly size: number;
  /** Estimated bytes across the table. */
  readonly memory: number;
  /** Storage tables on this node. */
  readonly partitions: number;
  readonly distributed: boolean;
  readonly nodeId: string;
}

interface ResolvedTableOptions {
  readonly name: string;
  readonly type: TableType;
  readonly keyPos: number;
  readonly partitions: number;
  readonly hash: ShardHashFn | undefined;
  readonly nodeAdded: ((nodeId: string) => void) | undefined;
  readonly nodeRemoved: ((nodeId: string) => void) | undefined;
  readonly distributed: boolean;
  readonly clusterProvider: ClusterProviderFactory | undefined;
  readonly peers: readonly string[];
  readonly replicas: number;
  readonly replicationMode: ReplicationMode;
  readonly nodeId: string;
  readonly ttl: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly clock: Clock | undefined;
  readonly sweepIntervalMs: number | undefined;
  readonly health: HealthThresholds;
  readonly logger: Logger | undefined;
}

const OWNER = 'PartitionedTable';
const KEYS = new Set<string>([
  'name',
  'type',
  'keyPos',
  'partitions',
  'callbacks',
  'distributed',
  'clusterProvider',
  'peers',
  'replicas',
  'replicationMode',
  'nodeId',
  'ttl',
  'maxEntries',
  'maxBytes',
  'clock',
  'sweepIntervalMs',
  'health',
  'logger',
]);
const CALLBACK_KEYS = new Set<string>(['hash', 'nodeAdded', 'nodeRemoved']);

function resolveTableOptions(options: PartitionedTableOptions): ResolvedTableOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badConfig(OWNER, 'options', 'an options object with a name', options);
  }
  checkKnownKeys(OWNER, options, KEYS);
  const o = options as unknown as Record<string, unknown>;
  const name = o.name;
  if (typeof name !== 'string' || name.length === 0)
    throw badConfig(OWNER, 'name', 'a non-empty string', name);
  let callbacks: Record<string, unknown> = {};
  if (o.callbacks !== undefined) {
    if (typeof o.callbacks !== 'object' || o.callbacks === null || Array.isArray(o.callbacks)) {
      throw badConfig(OWNER, 'callbacks', 'an object with any of hash, nodeAdded, nodeRemoved', o.callbacks);
    }
    checkKnownKeys(OWNER, o.callbacks, CALLBACK_KEYS, 'callbacks.');
    callbacks = o.callbacks as Record<string, unknown>;
  }
  const distributed = o.distributed ?? false;
  if (typeof distributed !== 'boolean') throw badConfig(OWNER, 'distributed', 'a boolean', distributed);
  const clusterProvider = fnOption<ClusterProviderFactory>(OWNER, 'clusterProvider', o.clusterProvider);
  if (distributed && clusterProvider === undefined) {
    throw badConfig(
      OWNER,
      'distributed',
      'false, or true together with the cluster options: `peers` and a `clusterProvider` from ' +
        '@supercache/core/cluster; a distributed table has no cluster to join without them',
      distributed,
    );
  }
  let peers: readonly string[] = [];
  if (o.peers !== undefined) {
    if (!Array.isArray(o.peers) || o.peers.some((p) => typeof p !== 'string' || p.length === 0)) {
      throw badConfig(OWNER, 'peers', 'an array of non-empty strings', o.peers);
    }
    peers = Object.freeze([...(o.peers as string[])]);
  }
  const replicas = intOption(OWNER, 'replicas', o.replicas, 1, 1, 7);
  const replicationMode = enumOption(OWNER, 'replicationMode', o.replicationMode, REPLICATION_MODES, 'async');
  if (replicas > 1 && !distributed) {
    throw badConfig(
      OWNER,
      'replicas',
      '1 without `distributed: true` (copies live on other nodes)',
      replicas,
    );
  }
  if (replicas > 1 && callbacks.hash !== undefined) {
    throw badConfig(
      OWNER,
      'replicas',
      '1 with a `callbacks.hash` (copies follow the rendezvous ranking a user hash does not have)',
      replicas,
    );
  }
  return {
    name,
    replicas,
    replicationMode,
    type: enumOption(OWNER, 'type', o.type, TABLE_TYPES, 'set'),
    keyPos: intOption(OWNER, 'keyPos', o.keyPos, 0),
    partitions: intOption(OWNER, 'partitions', o.partitions, 1, 1, MAX_PARTITIONS),
    hash: fnOption<ShardHashFn>(OWNER, 'callbacks.hash', callbacks.hash),
    nodeAdded: fnOption<(n: string) => void>(OWNER, 'callbacks.nodeAdded', callbacks.nodeAdded),
    nodeRemoved: fnOption<(n: string) => void>(OWNER, 'callbacks.nodeRemoved', callbacks.nodeRemoved),
    distributed,
    clusterProvider,
    peers,
    nodeId: stringOption(OWNER, 'nodeId', o.nodeId) ?? 'local',
    ttl: ttlOption(OWNER, 'ttl', o.ttl),
    maxEntries: intOption(OWNER, 'maxEntries', o.maxEntries, 0, 0, Number.MAX_SAFE_INTEGER),
    maxBytes: intOption(OWNER, 'maxBytes', o.maxBytes, 0, 0, Number.MAX_SAFE_INTEGER),
    clock: clockOption(OWNER, o.clock),
    sweepIntervalMs:
      o.sweepIntervalMs === undefined
        ? undefined
        : intOption(OWNER, 'sweepIntervalMs', o.sweepIntervalMs, 1000, 0, Number.MAX_SAFE_INTEGER),
    health: resolveHealthOptions(OWNER, o.health),
    logger: loggerOption(OWNER, o.logger),
  };
}

// ---------------------------------------------------------------------------
// The process-wide registry of started tables

/**
 * Started tables by name, then by node id: a name is unique per node, so
 * several nodes of one table (a cluster in one process, as in tests) can
 * run side by side.
 */
const tables = new Map<string, Map<string, PartitionedTable>>();
/** `(name, node)` pairs being started or started: taken synchronously so two concurrent starts cannot both win. */
const reserved = new Set<string>();

function slot(name: string, nodeId: string): string {
  return `${nodeId}\u0000${name}`;
}

/**
 * The started table of that name, on node `nodeId` when given; without
 * one, the only node of that name in this process.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when several nodes of the name
 *   run here and no `nodeId` says which.
 */
function lookup(name: string, nodeId?: string): PartitionedTable | undefined {
  const byNode = tables.get(name);
  if (byNode === undefined) return undefined;
  if (nodeId !== undefined) return byNode.get(nodeId);
  if (byNode.size === 1) return byNode.values().next().value;
  throw new SuperCacheError(
    'SC_ERR_BAD_ARG',
    `${byNode.size} nodes of PartitionedTable ${show(name)} run in this process ` +
      `(${[...byNode.keys()].map(show).join(', ')}); name the node: whereis(name, nodeId), or use the instance`,
    { details: { name, nodes: [...byNode.keys()].join(',') } },
  );
}

function noTable(name: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_NO_TABLE', `no PartitionedTable named ${show(name)} is started`, {
    details: { name: show(name) },
  });
}

/** True when `x` is a list of tuples rather than one tuple (see {@link PartitionedTable.insert}). */
function isTupleList(x: unknown): x is readonly Tuple[] {
  if (!Array.isArray(x)) return false;
  if (x.length === 0) return true;
  for (const e of x) if (!Array.isArray(e)) return false;
  return true;
}

/** Synchronous reads of this node's partitions of a {@link PartitionedTable}. */
export class PartitionedLocalView {
  readonly #owner: PartitionedTable;
  #tables: readonly Table[] | undefined;
  #shardOf: (key: Term) => number = () => 0;

  /** @internal */
  constructor(owner: PartitionedTable) {
    this.#owner = owner;
  }

  /** @internal */
  attach(shards: ShardSet, shardOf: (key: Term) => number): void {
    this.#tables = shards.tables;
    this.#shardOf = shardOf;
  }

  /** @internal */
  detach(): void {
    this.#tables = undefined;
  }

  #table(key: Term, op: string): Table {
    const t = this.#tables;
    if (t === undefined) throw notStarted(`PartitionedTable ${show(this.#owner.name)}`, `local.${op}`);
    return t[this.#shardOf(key)] as Table;
  }

  /** The objects at `key` on this node (a shared array: do not mutate it). */
  lookup(key: Term): readonly Tuple[] {
    return this.#table(key, 'lookup').lookup(key);
  }

  /** True when `key` has an object on this node. */
  member(key: Term): boolean {
    return this.#table(key, 'member').member(key);
  }

  /**
   * The local partition (shard index) `key` routes to: the rendezvous
   * winner, or the `callbacks.hash` answer.
   */
  partitionOf(key: Term): number {
    if (this.#tables === undefined)
      throw notStarted(`PartitionedTable ${show(this.#owner.name)}`, 'local.partitionOf');
    return this.#shardOf(key);
  }

  /** Objects in each of this node's partitions, by index. */
  partitionSizes(): number[] {
    const t = this.#tables;
    if (t === undefined)
      throw notStarted(`PartitionedTable ${show(this.#owner.name)}`, 'local.partitionSizes');
    return t.map((x) => x.size);
  }

  /** Objects on this node. */
  get size(): number {
    const t = this.#tables;
    if (t === undefined) throw notStarted(`PartitionedTable ${show(this.#owner.name)}`, 'local.size');
    let n = 0;
    for (const x of t) n += x.size;
    return n;
  }
}

/**
 * A named, partitioned table with the whole storage API, asynchronous and
 * the same in local and distributed mode (the PartitionedEts system).
 *
 * Start one with {@link PartitionedTable.start}; reach it by instance, by
 * name through {@link PartitionedEts}, or through a
 * {@link definePartitionedTable} definition.
 *
 * Ordered-set semantics hold within the table: fan-out results, `first`,
 * `next` and paging merge the partitions in key order.
 *
 * @example
 * ```ts
 * const t = await PartitionedTable.start({ name: 'sessions', partitions: 4 });
 * await t.insert(['s1', { user: 1 }]);
 * await t.lookup('s1'); // [['s1', { user: 1 }]]
 * await t.stop();
 * ```
 */
export class PartitionedTable extends EventEmitter<HealthEvents> {
  /** The table's name. */
  readonly name: string;
  /** Table type. */
  readonly type: TableType;
  /** Key position. */
  readonly keyPos: number;
  /** Storage tables on this node. */
  readonly partitions: number;
  /** True when the table joined a cluster. */
  readonly distributed: boolean;
  /** Copies of every key, primary included (distributed mode; 1 otherwise). */
  readonly replicas: number;
  /** How writes reach the copies when {@link PartitionedTable.replicas} > 1. */
  readonly replicationMode: ReplicationMode;
  /** This node's id (the `node` of its shards). */
  readonly nodeId: string;
  /** This node's shards, sorted (`shards[i].partition === i`). */
  readonly shards: readonly Shard[];
  readonly #local: PartitionedLocalView;
  #router: TableRouter | undefined;
  #gate: GatedBackend | undefined;
  #shardSet: ShardSet | undefined;
  #provider: ClusterProvider | undefined;
  #stopping: Promise<void> | undefined;
  #monitor: HealthMonitor | undefined;

  private constructor(o: ResolvedTableOptions, nodeId: string, shards: readonly Shard[]) {
    super();
    this.name = o.name;
    this.type = o.type;
    this.keyPos = o.keyPos;
    this.partitions = o.partitions;
    this.distributed = o.distributed;
    this.replicas = o.replicas;
    this.replicationMode = o.replicationMode;
    this.nodeId = nodeId;
    this.shards = shards;
    this.#local = new PartitionedLocalView(this);
  }

  /**
   * Starts a table and registers its name in this process.
   *
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming an invalid option
   *   (including `distributed: true` without a `clusterProvider`);
   *   `SC_ERR_NAME_TAKEN` when a table of that name is started on this node.
   */
  static async start(options: PartitionedTableOptions): Promise<PartitionedTable> {
    const o = resolveTableOptions(options);
    let provider: ClusterProvider | undefined;
    // In a cluster the node id is the cluster node's: the local shard
    // router must rank the same {node, partition} shards the cluster does.
    if (o.distributed && o.clusterProvider !== undefined) {
      provider = o.clusterProvider({
        kind: 'partitioned',
        nodeId: o.nodeId,
        peers: o.peers,
        numPartition: o.partitions,
        replicationMode: o.replicationMode,
        replicationFactor: o.replicas,
        nodeAdded: o.nodeAdded,
        nodeRemoved: o.nodeRemoved,
      });
    }
    const nodeId = provider?.nodeId ?? o.nodeId;
    const key = slot(o.name, nodeId);
    if (reserved.has(key)) {
      throw new SuperCacheError(
        'SC_ERR_NAME_TAKEN',
        `a PartitionedTable named ${show(o.name)} is already started on node ${show(nodeId)}`,
        { details: { name: o.name, nodeId } },
      );
    }
    reserved.add(key);
    let shardSet: ShardSet | undefined;
    try {
      const router = createShardRouter({ shards: nodeShards(nodeId, o.partitions), hash: o.hash });
      const shardOf = o.partitions === 1 && o.hash === undefined ? (_k: Term) => 0 : router.indexOf;
      const shardOptions: ShardSetOptions = {
        shards: o.partitions,
        type: o.type,
        keyPos: o.keyPos,
        ttl: o.ttl,
        maxEntries: o.maxEntries,
        maxBytes: o.maxBytes,
        registry: createRegistry(),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        ...(o.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: o.sweepIntervalMs }),
      };
      shardSet = new ShardSet(shardOptions);
      let backend: ScopedBackend;
      if (provider !== undefined) {
        await provider.start();
        backend = await provider.createBackend({
          table: o.name,
          kind: 'partitioned',
          shards: shardSet,
          shardOf,
          partitionPos: o.keyPos,
          hash: o.hash,
          ...(o.replicas === 1 ? {} : { replicas: o.replicas, replicationMode: o.replicationMode }),
        });
      } else {
        backend = new LocalBackend({ shards: shardSet, shardOf, copy: true });
      }
      const table = new PartitionedTable(o, nodeId, router.shards);
      // Results and stored objects are never the caller's arrays: a local
      // backend copies with the command, the gate over a cluster backend.
      const gate = new GatedBackend(backend, `PartitionedTable ${show(o.name)}`, {
        copy: provider !== undefined,
        trace: { table: o.name, node: nodeId },
      });
      table.#gate = gate;
      table.#shardSet = shardSet;
      table.#provider = provider;
      table.#router = new TableRouter(gate);
      table.#local.attach(shardSet, shardOf);
      let byNode = tables.get(o.name);
      if (byNode === undefined) tables.set(o.name, (byNode = new Map()));
      byNode.set(nodeId, table);
      table.#monitor = table.#healthMonitor(o, provider);
      table.#monitor.start();
      return table;
    } catch (e) {
      shardSet?.close();
      if (provider !== undefined) await provider.stop().catch(() => {});
      reserved.delete(key);
      throw e;
    }
  }

  /**
   * The started table of that name (on node `nodeId` when given), or
   * `undefined`. Names are unique per node, not per process.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when several nodes of that name
   *   run in this process and no `nodeId` is given.
   */
  static whereis(name: string, nodeId?: string): PartitionedTable | undefined {
    return lookup(name, nodeId);
  }

  /** Names of the started tables (each once, however many nodes hold it here). */
  static names(): string[] {
    return [...tables.keys()];
  }

  /** Every started table of this process, every node's. */
  static instances(): PartitionedTable[] {
    const out: PartitionedTable[] = [];
    for (const byNode of tables.values()) out.push(...byNode.values());
    return out;
  }

  /** True until {@link PartitionedTable.stop}. */
  get started(): boolean {
    return this.#router !== undefined;
  }

  /** Synchronous reads of this node's partitions. */
  get local(): PartitionedLocalView {
    return this.#local;
  }

  /**
   * Drops the table's data (in distributed mode: hands it off and leaves)
   * and frees its name. Idempotent. Operations afterwards fail with
   * `SC_ERR_NOT_STARTED`.
   */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#router === undefined) return Promise.resolve();
    this.#stopping = (async () => {
      this.#router = undefined;
      this.#monitor?.stop();
      this.#monitor = undefined;
      this.#gate?.close();
      this.#local.detach();
      this.#shardSet?.close();
      try {
        if (this.#provider !== undefined) await this.#provider.stop();
      } finally {
        const byNode = tables.get(this.name);
        if (byNode?.get(this.nodeId) === this) {
          byNode.delete(this.nodeId);
          if (byNode.size === 0) tables.delete(this.name);
        }
        reserved.delete(slot(this.name, this.nodeId));
        this.#stopping = undefined;
      }
    })();
    return this.#stopping;
  }

  /** The health monitor of a started table: the cluster node's health in distributed mode, one node otherwise. */
  #healthMonitor(o: ResolvedTableOptions, provider: ClusterProvider | undefined): HealthMonitor {
    const health = provider?.health?.bind(provider);
    const name = this.name;
    const log = new FacadeLog(o.logger, { facade: OWNER, table: name, node: this.nodeId });
    return new HealthMonitor({
      thresholds: o.health,
      snapshot:
        health === undefined
          ? () =>
              localSnapshot(
                this.nodeId,
                [name],
                this.partitions,
                'shards',
                'async',
                o.clock?.now() ?? Date.now(),
              )
          : () => clusterSnapshot(health(), { [name]: name }, [name]),
      onAlert: (alert) => this.emit('healthAlert', alert),
      onCheck: (report) => this.emit('healthCheck', report),
      log,
      clock: o.clock,
    });
  }

  /**
   * The table's health as this node sees it: members (status, RTT, last
   * contact), the table's replication (a PartitionedTable keeps one copy of
   * each shard: zero-copy, said in `notes`), shard balance, error rate
   * since the last check and the alerts of the last check. See
   * `SuperCache.health()` for the fields.
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`.
   */
  health(): CacheHealth {
    const m = this.#monitor;
    if (m === undefined) throw notStarted(`PartitionedTable ${show(this.name)}`, 'health');
    return m.health();
  }

  /**
   * Runs a health check now: raises and clears alerts (`healthAlert`,
   * `supercache:health:alert`), then emits `healthCheck`.
   * @throws SuperCacheError `SC_ERR_NOT_STARTED`.
   */
  async forceCheck(): Promise<CacheHealth> {
    const m = this.#monitor;
    if (m === undefined) throw notStarted(`PartitionedTable ${show(this.name)}`, 'forceCheck');
    return m.check();
  }

  /**
   * Changes the health-check interval or thresholds at run time (fields
   * left out keep their value), as `SuperCache.configureHealth` does.
   * @returns the thresholds now in force.
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the field; `SC_ERR_NOT_STARTED`.
   */
  configureHealth(options: HealthOptions): HealthThresholds {
    const m = this.#monitor;
    if (m === undefined) throw notStarted(`PartitionedTable ${show(this.name)}`, 'configureHealth');
    const next = resolveHealthOptions(OWNER, options, m.thresholds);
    m.reconfigure(next);
    return next;
  }

  /**
   * The router, once `options` passed `shape` when given. The router checks
   * every call's options itself; the table checks first where it takes
   * fewer (no `partition`: keys route by rendezvous) or names the call
   * differently.
   */
  #r(op: string, options?: unknown, shape?: OptionShape): TableRouter {
    const r = this.#router;
    if (r === undefined) throw notStarted(`PartitionedTable ${show(this.name)}`, op);
    if (shape !== undefined) checkCallOptions(op, options, shape);
    return r;
  }

  // ---- writes ------------------------------------------------------------

  /**
   * Inserts one tuple, or a list of tuples (like ETS `insert/2`). A value is
   * read as a list when every element is an array (and `[]` is an empty
   * list); to insert a tuple whose elements are all arrays, use
   * {@link PartitionedTable.insertMany} with a one-tuple list.
   * @throws SuperCacheError `SC_ERR_TUPLE_TOO_SHORT`, `SC_ERR_INVALID_TERM`, `SC_ERR_NOT_STARTED`.
   */
  async insert(objOrObjs: Tuple | readonly Tuple[], options?: WriteOptions): Promise<true> {
    const r = this.#r('insert', options, WRITE_SHAPE);
    return isTupleList(objOrObjs) ? r.insertMany(objOrObjs, options) : r.insert(objOrObjs, options);
  }

  /** Inserts a list of tuples; each partition's share in one step. */
  async insertMany(objs: readonly Tuple[], options?: WriteOptions): Promise<true> {
    return this.#r('insertMany').insertMany(objs, options);
  }

  /**
   * Inserts unless the key exists (false then). A list (see
   * {@link PartitionedTable.insert}) is all-or-nothing, like
   * {@link PartitionedTable.insertNewMany}.
   */
  async insertNew(objOrObjs: Tuple | readonly Tuple[], options?: WriteOptions): Promise<boolean> {
    const r = this.#r('insertNew', options, WRITE_SHAPE);
    return isTupleList(objOrObjs) ? r.insertNewMany(objOrObjs, options) : r.insertNew(objOrObjs, options);
  }

  /**
   * Inserts every tuple only if none of their keys exists (and, for sets,
   * the list repeats no key); otherwise writes nothing and resolves false.
   */
  async insertNewMany(objs: readonly Tuple[], options?: WriteOptions): Promise<boolean> {
    return this.#r('insertNewMany').insertNewMany(objs, options);
  }

  /**
   * Applies a counter operation to the object at `key` (ETS
   * `update_counter`): `incr`, `[pos, incr]`, `[pos, incr, threshold,
   * setValue]` or a list of them; inserts `defaultObj` first when the key is
   * missing.
   */
  async updateCounter(
    key: Term,
    op: CounterOp | CounterOp[],
    defaultObj?: Tuple,
    options?: RouteOptions,
  ): Promise<number | number[]> {
    return this.#r('updateCounter', options, ROUTE_SHAPE).updateCounter(key, op, defaultObj, options);
  }

  /**
   * Replaces elements (`[pos, value]` or a list) of the object at `key`;
   * false when there is none. With `defaultObj` (ETS `update_element/4`) a
   * missing key first gets `defaultObj` under `key`, then the update (true).
   * A non-array third argument is the options.
   */
  async updateElement(
    key: Term,
    update: readonly [number, Term] | ReadonlyArray<readonly [number, Term]>,
    defaultObj?: Tuple | RouteOptions,
    options?: RouteOptions,
  ): Promise<boolean> {
    if (Array.isArray(defaultObj)) {
      return this.#r('updateElement', options, ROUTE_SHAPE).updateElement(key, update, defaultObj, options);
    }
    const opts = (defaultObj ?? options) as RouteOptions | undefined;
    return this.#r('updateElement', opts, ROUTE_SHAPE).updateElement(key, update, opts);
  }

  /** Removes and returns the objects at `key`. */
  async take(key: Term, options?: RouteOptions): Promise<Tuple[]> {
    return this.#r('take', options, ROUTE_SHAPE).take(key, options);
  }

  /** Deletes every object at `key`. */
  async delete(key: Term, options?: RouteOptions): Promise<true> {
    return this.#r('delete', options, ROUTE_SHAPE).delete(key, options);
  }

  /** Deletes exactly this object (for bags: this one value). */
  async deleteObject(obj: Tuple, options?: RouteOptions): Promise<true> {
    return this.#r('deleteObject').deleteObject(obj, options);
  }

  /** Deletes every object; resolves with how many. */
  async deleteAllObjects(options?: RouteOptions): Promise<number> {
    return this.#r('deleteAllObjects').deleteAllObjects(options);
  }

  // ---- reads -------------------------------------------------------------

  /** The objects at `key` (`[]` when none), as copies: changing them changes nothing stored. */
  async lookup(key: Term, options?: ReadOptions): Promise<readonly Tuple[]> {
    return this.#r('lookup', options, READ_SHAPE).lookup(key, options);
  }

  /**
   * Element `pos` of the object at `key` (a list for bags). With
   * `options.default` (ETS `lookup_element/4`), a missing key answers the
   * default instead.
   * @throws SuperCacheError `SC_ERR_NOT_FOUND` when the key has no object and no default is given.
   */
  async lookupElement(key: Term, pos: number, options?: ReadOptions & { default?: Term }): Promise<Term> {
    return this.#r('lookupElement', options, LOOKUP_ELEMENT_SHAPE).lookupElement(key, pos, options);
  }

  /** True when `key` has an object. */
  async member(key: Term, options?: ReadOptions): Promise<boolean> {
    return this.#r('member', options, READ_SHAPE).member(key, options);
  }

  /** Every object (ordered_set: in key order). Prefer paging or `stream` for big tables. */
  async tab2list(options?: ReadOptions): Promise<Tuple[]> {
    return this.#r('tab2list').tab2list(options);
  }

  /** Name, type, key position, size, memory and partitions. */
  async info(options?: ReadOptions): Promise<PartitionedTableInfo> {
    const r = this.#r('info', options, READ_SHAPE);
    const [size, memory] = await Promise.all([r.size(options), r.memory(options)]);
    return {
      name: this.name,
      type: this.type,
      keyPos: this.keyPos,
      size,
      memory,
      partitions: this.partitions,
      distributed: this.distributed,
      nodeId: this.nodeId,
    };
  }

  /** Number of objects. */
  async size(options?: ReadOptions): Promise<number> {
    return this.#r('size').size(options);
  }

  /** Estimated bytes. */
  async memory(options?: ReadOptions): Promise<number> {
    return this.#r('memory').memory(options);
  }

  /** Summed storage counters (hits, misses, inserts, deletes, expirations, evictions). */
  async stats(options?: ReadOptions): Promise<TableStats> {
    return this.#r('stats').stats(options);
  }

  // ---- patterns and match specs --------------------------------------------

  /** Bindings of `$1..$n` for each matching object. */
  async match(pattern: Pattern, options?: ReadOptions): Promise<Term[][]> {
    return this.#r('match').match(pattern, options);
  }

  /** Every matching object. */
  async matchObject(pattern: Pattern, options?: ReadOptions): Promise<Tuple[]> {
    return this.#r('matchObject').matchObject(pattern, options);
  }

  /** Deletes the matching objects; resolves with how many. */
  async matchDelete(pattern: Pattern, options?: RouteOptions): Promise<number> {
    return this.#r('matchDelete').matchDelete(pattern, options);
  }

  /** Body results of a match spec. */
  async select(spec: MatchSpec, options?: ReadOptions): Promise<Term[]> {
    return this.#r('select').select(spec, options);
  }

  /** `select` in reverse key order on an ordered_set; the same list as `select` on the other types (ETS). */
  async selectReverse(spec: MatchSpec, options?: ReadOptions): Promise<Term[]> {
    return this.#r('selectReverse').selectReverse(spec, options);
  }

  /** Number of objects for which the spec returns `true`. */
  async selectCount(spec: MatchSpec, options?: ReadOptions): Promise<number> {
    return this.#r('selectCount').selectCount(spec, options);
  }

  /** Deletes the objects for which the spec returns `true`; resolves with how many. */
  async selectDelete(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    return this.#r('selectDelete').selectDelete(spec, options);
  }

  /** Replaces matched objects with the body result (same key); resolves with how many. */
  async selectReplace(spec: MatchSpec, options?: RouteOptions): Promise<number> {
    return this.#r('selectReplace').selectReplace(spec, options);
  }

  // ---- paging --------------------------------------------------------------

  /**
   * One page of at most `limit` `select` results and, unless it is the last,
   * a continuation: pass it back alone for the next page. Pages are read
   * from live cursors, never from a materialised result.
   */
  selectPage(spec: MatchSpec, limit: number, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  async selectPage(
    a: MatchSpec | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Term, TableCursor>> {
    const r = this.#r('selectPage');
    return typeof b === 'number' ? r.selectPage(a as MatchSpec, b, c) : r.selectPage(a as TableCursor, b);
  }

  /**
   * One page of `selectReverse` results (ETS `select_reverse/3`): an
   * ordered_set from its largest key down; see {@link PartitionedTable.selectPage}.
   */
  selectReversePage(spec: MatchSpec, limit: number, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  selectReversePage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term, TableCursor>>;
  async selectReversePage(
    a: MatchSpec | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Term, TableCursor>> {
    const r = this.#r('selectReversePage');
    return typeof b === 'number'
      ? r.selectReversePage(a as MatchSpec, b, c)
      : r.selectReversePage(a as TableCursor, b);
  }

  /** One page of `match` bindings (see {@link PartitionedTable.selectPage}). */
  matchPage(pattern: Pattern, limit: number, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  matchPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Term[], TableCursor>>;
  async matchPage(
    a: Pattern | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Term[], TableCursor>> {
    const r = this.#r('matchPage');
    return typeof b === 'number' ? r.matchPage(a as Pattern, b, c) : r.matchPage(a as TableCursor, b);
  }

  /** One page of `matchObject` results (see {@link PartitionedTable.selectPage}). */
  matchObjectPage(pattern: Pattern, limit: number, options?: ReadOptions): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(continuation: TableCursor, options?: ReadOptions): Promise<Page<Tuple, TableCursor>>;
  async matchObjectPage(
    a: Pattern | TableCursor,
    b?: number | ReadOptions,
    c?: ReadOptions,
  ): Promise<Page<Tuple, TableCursor>> {
    const r = this.#r('matchObjectPage');
    return typeof b === 'number'
      ? r.matchObjectPage(a as Pattern, b, c)
      : r.matchObjectPage(a as TableCursor, b);
  }

  /** Releases a continuation's cursors without reading on. */
  async closeCursor(continuation: TableCursor): Promise<void> {
    return this.#r('closeCursor').closeCursor(continuation);
  }

  // ---- iteration -------------------------------------------------------------

  /** First key (ordered_set: the smallest), or `undefined` when empty. */
  async first(options?: ReadOptions): Promise<Term | undefined> {
    return this.#r('first').first(options);
  }

  /** Last key (ordered_set: the largest), or `undefined` when empty. */
  async last(options?: ReadOptions): Promise<Term | undefined> {
    return this.#r('last').last(options);
  }

  /** Key after `key`, or `undefined` at the end. */
  async next(key: Term, options?: ReadOptions): Promise<Term | undefined> {
    return this.#r('next').next(key, options);
  }

  /** Key before `key`, or `undefined` at the start. */
  async prev(key: Term, options?: ReadOptions): Promise<Term | undefined> {
    return this.#r('prev').prev(key, options);
  }

  /** Folds `fn(obj, acc)` over every object, streamed page by page (ordered_set: in key order). */
  async foldl<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: StreamOptions): Promise<A> {
    return this.#r('foldl').foldl(fn, acc, options);
  }

  /** {@link PartitionedTable.foldl} in reverse order. */
  async foldr<A>(fn: (obj: Tuple, acc: A) => A, acc: A, options?: StreamOptions): Promise<A> {
    return this.#r('foldr').foldr(fn, acc, options);
  }

  /** Every object, page by page (`for await`); breaking out closes the cursors. */
  async *stream(options?: StreamOptions): AsyncGenerator<Tuple> {
    yield* this.#r('stream').stream(options);
  }
}

// ---------------------------------------------------------------------------
// The module form and the macro form

/** Every table operation, in the order of the docs. */
export const TABLE_METHODS = [
  'insert',
  'insertMany',
  'insertNew',
  'insertNewMany',
  'updateCounter',
  'updateElement',
  'take',
  'delete',
  'deleteObject',
  'deleteAllObjects',
  'lookup',
  'lookupElement',
  'member',
  'tab2list',
  'info',
  'size',
  'memory',
  'stats',
  'match',
  'matchObject',
  'matchDelete',
  'select',
  'selectReverse',
  'selectCount',
  'selectDelete',
  'selectReplace',
  'selectPage',
  'selectReversePage',
  'matchPage',
  'matchObjectPage',
  'closeCursor',
  'first',
  'last',
  'next',
  'prev',
  'foldl',
  'foldr',
  'stream',
] as const;

/** The name of a table operation. */
export type TableMethod = (typeof TABLE_METHODS)[number];

/** A table's operations without the name argument (the macro form and the instance). */
export type PartitionedTableApi = Pick<PartitionedTable, TableMethod>;

type WithName<F> = F extends (...args: infer A) => infer R ? (name: string, ...args: A) => R : never;
type Special = 'selectPage' | 'selectReversePage' | 'matchPage' | 'matchObjectPage' | 'foldl' | 'foldr';

/** The module form: every operation taking the table name first, like `:ets`. */
export type PartitionedEtsModule = {
  readonly [K in Exclude<TableMethod, Special>]: WithName<PartitionedTable[K]>;
} & {
  /** Starts a table (see {@link PartitionedTable.start}). */
  start(options: PartitionedTableOptions): Promise<PartitionedTable>;
  /** Stops the table of that name; `SC_ERR_NO_TABLE` when none is started. */
  stop(name: string): Promise<void>;
  /** The started table of that name, or `undefined`. */
  /** The started table of that name, or `undefined` (see {@link PartitionedTable.whereis}). */
  whereis(name: string, nodeId?: string): PartitionedTable | undefined;
  selectPage(
    name: string,
    spec: MatchSpec,
    limit: number,
    options?: RouteOptions,
  ): Promise<Page<Term, TableCursor>>;
  selectPage(
    name: string,
    continuation: TableCursor,
    options?: RouteOptions,
  ): Promise<Page<Term, TableCursor>>;
  selectReversePage(
    name: string,
    spec: MatchSpec,
    limit: number,
    options?: RouteOptions,
  ): Promise<Page<Term, TableCursor>>;
  selectReversePage(
    name: string,
    continuation: TableCursor,
    options?: RouteOptions,
  ): Promise<Page<Term, TableCursor>>;
  matchPage(
    name: string,
    pattern: Pattern,
    limit: number,
    options?: RouteOptions,
  ): Promise<Page<Term[], TableCursor>>;
  matchPage(
    name: string,
    continuation: TableCursor,
    options?: RouteOptions,
  ): Promise<Page<Term[], TableCursor>>;
  matchObjectPage(
    name: string,
    pattern: Pattern,
    limit: number,
    options?: RouteOptions,
  ): Promise<Page<Tuple, TableCursor>>;
  matchObjectPage(
    name: string,
    continuation: TableCursor,
    options?: RouteOptions,
  ): Promise<Page<Tuple, TableCursor>>;
  foldl<A>(name: string, fn: (obj: Tuple, acc: A) => A, acc: A, options?: RouteOptions): Promise<A>;
  foldr<A>(name: string, fn: (obj: Tuple, acc: A) => A, acc: A, options?: RouteOptions): Promise<A>;
};

function tableNamed(name: string, nodeId?: string): PartitionedTable {
  const t = lookup(name, nodeId);
  if (t === undefined) throw noTable(name);
  return t;
}

async function* failing(error: unknown): AsyncGenerator<Tuple> {
  yield* [];
  throw error;
}

/** A function that runs `method` on the table the resolver returns, with errors as rejections. */
function delegate(method: TableMethod, resolve: (args: unknown[]) => [PartitionedTable, unknown[]]) {
  return (...all: unknown[]): unknown => {
    let target: PartitionedTable;
    let args: unknown[];
    try {
      [target, args] = resolve(all);
    } catch (e) {
      return method === 'stream' ? failing(e) : Promise.reject(e);
    }
    return (target[method] as (...a: unknown[]) => unknown)(...args);
  };
}

function buildModule(): PartitionedEtsModule {
  const m: Record<string, unknown> = {
    start: (options: PartitionedTableOptions) => PartitionedTable.start(options),
    stop: async (name: string) => tableNamed(name).stop(),
    whereis: (name: string, nodeId?: string) => lookup(name, nodeId),
  };
  for (const method of TABLE_METHODS) {
    m[method] = delegate(method, (all) => [tableNamed(all[0] as string), all.slice(1)]);
  }
  return Object.freeze(m) as unknown as PartitionedEtsModule;
}

/**
 * The module form of PartitionedEts: every operation takes the table name
 * first and reaches the table started under that name in this process.
 *
 * @example
 * ```ts
 * await PartitionedEts.start({ name: 'my_cache', partitions: 16 });
 * await PartitionedEts.insert('my_cache', ['key', 'value']);
 * await PartitionedEts.lookup('my_cache', 'key'); // [['key', 'value']]
 * ```
 *
 * Every operation on a name that is not started rejects with
 * `SC_ERR_NO_TABLE`.
 */
export const PartitionedEts: PartitionedEtsModule = buildModule();

/** What {@link definePartitionedTable} returns: one table's lifecycle and operations. */
export type PartitionedTableDefinition = PartitionedTableApi & {
  /** The table name. */
  readonly name: string;
  /** The options the table starts with. */
  readonly options: Readonly<PartitionedTableOptions>;
  /** Starts the table. @throws SuperCacheError `SC_ERR_NAME_TAKEN` when it is started. */
  start(): Promise<PartitionedTable>;
  /** Stops the table; idempotent. */
  stop(): Promise<void>;
  /** True while the table is started. */
  readonly started: boolean;
  /** The started table. @throws SuperCacheError `SC_ERR_NO_TABLE` when it is not started. */
  readonly table: PartitionedTable;
};

/**
 * Defines one table with its options, like `use PartitionedEts` defines a
 * module: the result starts and stops it, and has every operation without
 * the name argument, delegating to the table started under that name.
 *
 * @example
 * ```ts
 * export const Sessions = definePartitionedTable({ name: 'sessions', partitions: 8 });
 * await Sessions.start();
 * await Sessions.insert(['s1', 'alice']);
 * await Sessions.lookup('s1');
 * ```
 *
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` for invalid options (checked
 *   now, not at `start()`).
 */
export function definePartitionedTable(options: PartitionedTableOptions): PartitionedTableDefinition {
  const name = resolveTableOptions(options).name;
  // With a nodeId the definition is that node's table; without, the only node of the name here.
  const nodeId = options.nodeId;
  const frozen = Object.freeze({ ...options });
  const def: Record<string, unknown> = {
    name,
    options: frozen,
    start: () => PartitionedTable.start(frozen),
    stop: async () => lookup(name, nodeId)?.stop(),
  };
  Object.defineProperty(def, 'started', { get: () => lookup(name, nodeId) !== undefined, enumerable: true });
  Object.defineProperty(def, 'table', { get: () => tableNamed(name, nodeId), enumerable: true });
  for (const method of TABLE_METHODS)
    def[method] = delegate(method, (all) => [tableNamed(name, nodeId), all]);
  return Object.freeze(def) as unknown as PartitionedTableDefinition;
}
