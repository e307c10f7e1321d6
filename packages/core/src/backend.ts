/**
 * The seam between the facades and where commands run.
 *
 * Every data operation of {@link SuperCache} and {@link PartitionedTable}
 * goes through a router `Backend`. In local mode that is a
 * router `LocalBackend` over this process's shards (it has the
 * index-addressed methods too); in distributed mode
 * the cluster package supplies the backend through a {@link ClusterProvider}
 * (the only hook distributed mode needs from core).
 */

import type { HealthReport } from '@supercache/cluster';
import type { ShardHashFn } from '@supercache/partition';
import {
  type Backend,
  type BackendCursor,
  type CursorKind,
  type CursorPage,
  checkCallOptions,
  copyArgs,
  copyData,
  type ExecOptions,
  type LocalAccess,
  type NodeArgs,
  type NodeResult,
  READ_SHAPE,
  type ShardArgs,
  type ShardResult,
  type ShardSet,
  type TypedBackend,
  WRITE_SHAPE,
} from '@supercache/router';
import { SuperCacheError, type TableType, type Term } from '@supercache/storage';
import { type OperationKind, operationChannel, type TraceTarget } from './tracing.js';

/**
 * A backend that can also address partitions by index and run fan-out
 * commands on a subset of partitions. SuperCache needs both: the
 * `*PartitionByIdx` operations name a partition index, and `getByMatch`,
 * `deleteByMatch` and `scan` with partition data read one partition only.
 *
 * In every mode the partition index of SuperCache's main, kv and sys tables
 * is `partitionOf(partitionData, numPartition)`, a cluster-wide constant,
 * so an index means the same partition on every node.
 */
export interface ScopedBackend extends Backend {
  /** Runs a shard command on the owner of partition `partition` (an index). */
  execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown>;
  /**
   * Runs a node command over the given partitions only and merges the
   * results as `broadcast` would.
   */
  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown>;
}

/** A {@link ScopedBackend} seen through the router's command map (see `TypedBackend`). */
export interface TypedScopedBackend extends TypedBackend {
  execPartition<N extends string>(
    partition: number,
    name: N,
    args: ShardArgs<N>,
    options?: ExecOptions,
  ): Promise<ShardResult<N>>;
  broadcastPartitions<N extends string>(
    partitions: readonly number[],
    name: N,
    args: NodeArgs<N>,
    options?: ExecOptions,
  ): Promise<NodeResult<N>>;
}

/** The same backend, typed by the command map (no wrapper; see the router's `typedBackend`). */
export function typedScoped(backend: ScopedBackend): TypedScopedBackend {
  return backend as unknown as TypedScopedBackend;
}

/** Options of {@link GatedBackend}. */
export interface GateOptions {
  /**
   * Check the options bag of every command (a write: `signal`, `ttl`; a
   * read: `signal`, `readMode`). For backends whose callers pass the
   * user's options straight to `exec` (the structures); the facades that
   * check their own options leave it off. @defaultValue false
   */
  readonly checkOptions?: boolean;
  /**
   * Copy the data crossing the gate (arguments in, results and cursor pages
   * out). For a backend that does not copy itself: a cluster backend serves
   * keys this node owns from its own tables. A `LocalBackend` created with
   * `copy: true` copies in the same step, without the extra promise this
   * costs. @defaultValue false
   */
  readonly copy?: boolean;
  /**
   * Trace every command on the `supercache:operation` tracing channel with
   * this table and node (only while the channel has subscribers).
   * @defaultValue no tracing
   */
  readonly trace?: TraceTarget;
}

/**
 * The facades' door to a backend. Once closed, every call fails with
 * `SC_ERR_NOT_STARTED`: a structure handle (a `KeyValue`, a `Queue`) taken
 * before `stop()` refuses work afterwards instead of touching closed
 * tables. With `copy`, the data crossing it is copied (see {@link GateOptions}).
 */
export class GatedBackend implements ScopedBackend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly #inner: ScopedBackend;
  readonly #what: string;
  readonly #checkOptions: boolean;
  readonly #copy: boolean;
  readonly #trace: TraceTarget | undefined;
  #open = true;

  constructor(inner: ScopedBackend, what: string, options: GateOptions = {}) {
    this.#inner = inner;
    this.#what = what;
    this.#checkOptions = options.checkOptions === true;
    this.#copy = options.copy === true;
    this.#trace = options.trace;
    this.type = inner.type;
    this.keyPos = inner.keyPos;
    this.local = inner.local;
  }

  /** Refuses every later call. Idempotent. */
  close(): void {
    this.#open = false;
  }

  /** False once {@link GatedBackend.close} ran. */
  get open(): boolean {
    return this.#open;
  }

  #closed(op: string): Promise<never> {
    return Promise.reject(
      new SuperCacheError('SC_ERR_NOT_STARTED', `${this.#what} is not started (${op} after stop())`, {
        details: { op },
      }),
    );
  }

  /** Rejects a bad options bag (only with `checkOptions`); `undefined` when it passes. */
  #refuse(name: string, options: ExecOptions | undefined): Promise<never> | undefined {
    if (!this.#checkOptions || options === undefined) return undefined;
    try {
      const write = this.#inner.local.shards.registry.get(name).write;
      checkCallOptions(name, options, write ? WRITE_SHAPE : READ_SHAPE);
      return undefined;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs `run` inside the tracing channel (callers checked that it has subscribers and this gate traces). */
  #traced<T>(
    kind: OperationKind,
    command: string,
    partition: number | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    const t = this.#trace as TraceTarget;
    const ctx =
      partition === undefined
        ? { table: t.table, command, node: t.node, kind }
        : { table: t.table, command, node: t.node, kind, partition };
    return operationChannel.tracePromise(run, ctx);
  }

  exec(partitionData: Term, name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    if (this.#trace === undefined || !operationChannel.hasSubscribers)
      return this.#exec(partitionData, name, args, options);
    return this.#traced('exec', name, undefined, () => this.#exec(partitionData, name, args, options));
  }

  #exec(
    partitionData: Term,
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    const refused = this.#refuse(name, options);
    if (refused !== undefined) return refused;
    if (!this.#copy) return this.#inner.exec(partitionData, name, args, options);
    return this.#inner.exec(partitionData, name, copyArgs(args), options).then(copyData);
  }

  broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    if (this.#trace === undefined || !operationChannel.hasSubscribers)
      return this.#broadcast(name, args, options);
    return this.#traced('broadcast', name, undefined, () => this.#broadcast(name, args, options));
  }

  #broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    const refused = this.#refuse(name, options);
    if (refused !== undefined) return refused;
    if (!this.#copy) return this.#inner.broadcast(name, args, options);
    return this.#inner.broadcast(name, copyArgs(args), options).then(copyData);
  }

  openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor> {
    if (this.#trace === undefined || !operationChannel.hasSubscribers)
      return this.#openCursor(kind, arg, options);
    return this.#traced('cursor', kind, undefined, () => this.#openCursor(kind, arg, options));
  }

  async #openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor> {
    if (!this.#open) return this.#closed(kind);
    if (!this.#copy) return this.#inner.openCursor(kind, arg, options);
    const inner = await this.#inner.openCursor(kind, copyData(arg), options);
    return {
      next: async (limit, o): Promise<CursorPage> => {
        const page = await inner.next(limit, o);
        return { ...page, items: copyData(page.items) };
      },
      close: () => inner.close(),
    };
  }

  execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    if (this.#trace === undefined || !operationChannel.hasSubscribers)
      return this.#execPartition(partition, name, args, options);
    return this.#traced('execPartition', name, partition, () =>
      this.#execPartition(partition, name, args, options),
    );
  }

  #execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    const refused = this.#refuse(name, options);
    if (refused !== undefined) return refused;
    if (!this.#copy) return this.#inner.execPartition(partition, name, args, options);
    return this.#inner.execPartition(partition, name, copyArgs(args), options).then(copyData);
  }

  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    if (this.#trace === undefined || !operationChannel.hasSubscribers)
      return this.#broadcastPartitions(partitions, name, args, options);
    return this.#traced('broadcastPartitions', name, undefined, () =>
      this.#broadcastPartitions(partitions, name, args, options),
    );
  }

  #broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    const refused = this.#refuse(name, options);
    if (refused !== undefined) return refused;
    if (!this.#copy) return this.#inner.broadcastPartitions(partitions, name, args, options);
    return this.#inner.broadcastPartitions(partitions, name, copyArgs(args), options).then(copyData);
  }
}

// ---------------------------------------------------------------------------
// The distributed-mode hook

/** Replication modes of distributed SuperCache (inert in local mode). */
export type ReplicationMode = 'async' | 'sync' | 'strong';

/** One logical table a facade asks the cluster to serve. */
export interface ClusterTableSpec {
  /**
   * The table's cluster-wide name: `'main'`, `'kv'` or `'sys'` for
   * SuperCache, the table name for a PartitionedTable.
   */
  readonly table: string;
  /** Which facade owns the table; SuperCache's partition count is cluster-wide, PartitionedTable's is per node. */
  readonly kind: 'supercache' | 'partitioned';
  /** This node's shards of the table; the cluster serves peers from them. */
  readonly shards: ShardSet;
  /** Partition data to a local shard index (SuperCache: `partitionOf(pd, numPartition)`). */
  readonly shardOf: (partitionData: Term) => number;
  /** Position of the partition data in a tuple. @defaultValue the shards' keyPos */
  readonly partitionPos?: number;
  /** PartitionedTable `callbacks.hash`, which every node must share. */
  readonly hash?: ShardHashFn | undefined;
  /** PartitionedTable `replicas` (copies per key; absent: 1). */
  readonly replicas?: number;
  /** PartitionedTable `replicationMode` (with `replicas` > 1). */
  readonly replicationMode?: 'async' | 'sync' | 'strong';
}

/** What the cluster reports about membership (`SuperCache.clusterStats()`). */
export interface ClusterStats {
  /** `'local'` for a single node without a cluster. */
  readonly mode: 'local' | 'distributed';
  /** This node's id. */
  readonly nodeId: string;
  /** Every known member, this node included. */
  readonly nodes: readonly ClusterNodeStats[];
  /** Cluster-wide partition count. */
  readonly numPartition: number;
  /** Replication mode in force. */
  readonly replicationMode: ReplicationMode;
  /** Copies of every partition, primary included (1 in local mode). */
  readonly replicationFactor: number;
}

/** One member in {@link ClusterStats}. */
export interface ClusterNodeStats {
  readonly nodeId: string;
  readonly status: 'up' | 'down' | 'joining' | 'leaving';
  /** True for the node answering. */
  readonly self: boolean;
  /** Partitions this node is primary for. */
  readonly primaryPartitions: number;
  /** Partitions this node holds a replica of. */
  readonly replicaPartitions: number;
  /** Objects this node holds in the main table. */
  readonly size: number;
}

/**
 * What distributed mode plugs into core: membership, transports and a
 * routed backend per table. Supplied by `@supercache/cluster`; core only
 * calls it.
 */
export interface ClusterProvider {
  /** This node's id in the cluster. */
  readonly nodeId: string;
  /** Joins the cluster (called once by `start()`, before any backend is created). */
  start(): Promise<void>;
  /** Creates the routed backend of one table over this node's shards. */
  createBackend(spec: ClusterTableSpec): ScopedBackend | Promise<ScopedBackend>;
  /** Leaves the cluster gracefully, handing data off (called by `stop()`). */
  stop(): Promise<void>;
  /** Membership and placement, for `clusterStats()`. */
  clusterStats(): Promise<ClusterStats>;
  /** The node's health report, for `health()`; without it a facade reports local-mode health. */
  health?(): HealthReport;
}

/** The settings a {@link ClusterProviderFactory} receives. */
export interface ClusterProviderConfig {
  /** Which facade asks. */
  readonly kind: 'supercache' | 'partitioned';
  /** Node id requested by the options, if any. */
  readonly nodeId: string | undefined;
  /** Peers to contact (`peers` / `clusterPeers`). */
  readonly peers: readonly string[];
  /** SuperCache: cluster-wide partition count; PartitionedTable: this node's partitions. */
  readonly numPartition: number;
  /** Replication mode (SuperCache). */
  readonly replicationMode: ReplicationMode;
  /** Replication factor (SuperCache; 1 for PartitionedTable). */
  readonly replicationFactor: number;
  /** SuperCache's table type; checked against the cluster's. */
  readonly tableType?: TableType;
  /** SuperCache's key position; checked against the cluster's. */
  readonly keyPos?: number;
  /** SuperCache's partition-data position; checked against the cluster's. */
  readonly partitionPos?: number;
  /** PartitionedTable membership callbacks, called by the cluster on changes. */
  readonly nodeAdded?: ((nodeId: string) => void) | undefined;
  readonly nodeRemoved?: ((nodeId: string) => void) | undefined;
}

/**
 * Creates the {@link ClusterProvider} for one started SuperCache or
 * PartitionedTable. Pass it as the `clusterProvider` option; without one,
 * distributed mode is refused with `SC_ERR_BAD_CONFIG`.
 */
export type ClusterProviderFactory = (config: ClusterProviderConfig) => ClusterProvider;
