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

import type { ShardHashFn } from '@supercache/partition';
import type {
  Backend,
  BackendCursor,
  CursorKind,
  LocalAccess,
  RouteOptions,
  ShardSet,
} from '@supercache/router';
import { SuperCacheError, type TableType, type Term } from '@supercache/storage';

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
    options?: RouteOptions,
  ): Promise<unknown>;
  /**
   * Runs a node command over the given partitions only and merges the
   * results as `broadcast` would.
   */
  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown>;
}

/**
 * Wraps a backend so that, once closed, every call fails with
 * `SC_ERR_NOT_STARTED`. It is what makes a structure handle (a `KeyValue`,
 * a `Queue`) taken before `stop()` refuse work afterwards instead of
 * touching closed tables.
 */
export class GatedBackend implements ScopedBackend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly #inner: ScopedBackend;
  readonly #what: string;
  #open = true;

  constructor(inner: ScopedBackend, what: string) {
    this.#inner = inner;
    this.#what = what;
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

  exec(
    partitionData: Term,
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    return this.#inner.exec(partitionData, name, args, options);
  }

  broadcast(name: string, args: readonly unknown[], options?: RouteOptions): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    return this.#inner.broadcast(name, args, options);
  }

  openCursor(kind: CursorKind, arg: unknown, options?: RouteOptions): Promise<BackendCursor> {
    if (!this.#open) return this.#closed(kind);
    return this.#inner.openCursor(kind, arg, options);
  }

  execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    return this.#inner.execPartition(partition, name, args, options);
  }

  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    if (!this.#open) return this.#closed(name);
    return this.#inner.broadcastPartitions(partitions, name, args, options);
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
