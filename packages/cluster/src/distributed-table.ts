/**
 * A distributed table: this node's {@link ShardSet} for one logical table,
 * the placement that maps partition data to an owner `{node, shard}` under a
 * view, the serving side of routed commands (ownership and epoch checks,
 * handoff holds), and both halves of a handoff (streaming moving data out,
 * staging incoming data until its view is committed).
 */

import type { HashFn, ShardHashFn } from '@supercache/partition';
import type { HybridLogicalClock } from '@supercache/replication';
import {
  type CommandContext,
  type CommandRegistry,
  type CursorKind,
  type CursorPage,
  ShardSet,
  TableRouter,
  type Transport,
} from '@supercache/router';
import {
  type Clock,
  type Entry,
  keyOf,
  type MapKey,
  type RemovalReason,
  SuperCacheError,
  type Table,
  type TableType,
  type Term,
} from '@supercache/storage';
import { ClusterBackend } from './cluster-backend.js';
import type { HandoffProgressEvent } from './events.js';
import { HandoffSource } from './handoff-source.js';
import { HandoffTarget } from './handoff-target.js';
import type { HandoffTableAccess } from './handoff-wire.js';
import type { ClusterCounters } from './health.js';
import {
  type Owner,
  PartitionsPlacement,
  type PlacementStrategy,
  type Routing,
  ShardsPlacement,
} from './placement.js';
import {
  type PartitionDigest,
  type ReplicaBatch,
  type ReplicaEntry,
  type ReplicaStore,
  type ReplicationMode,
  Replicator,
} from './replicator.js';
import {
  type ClusterConfig,
  hostsOf,
  type Placement,
  sameHosting,
  type TableSpec,
  type View,
} from './view.js';

/** Options of {@link ClusterNode.table}. */
export interface DistributedTableOptions {
  /** Table type. @defaultValue the node config's `tableType` */
  type?: TableType;
  /** Key position. @defaultValue the node config's `keyPos` */
  keyPos?: number;
  /**
   * Position of the partition data (the routing term). Every node hosting
   * the table must agree. @defaultValue the node config's `partitionPos`
   * when `keyPos` is also defaulted, else `keyPos`
   */
  partitionPos?: number;
  /**
   * `'partitions'` (SuperCache): `numPartitions` cluster-wide partitions,
   * each owned by the rendezvous-hashing primary among the hosts.
   * `'shards'` (PartitionedEts): every host brings `localShards` shards of
   * its own; a key goes to the `{node, shard}` with the highest rendezvous
   * score. @defaultValue 'partitions'
   */
  placement?: Placement;
  /** Cluster-wide partition count (`'partitions'`). @defaultValue the node config's `numPartition` */
  numPartitions?: number;
  /** This node's shard count (`'shards'`); nodes may differ. @defaultValue 1 */
  localShards?: number;
  /**
   * Copies of every key of a `'shards'` table, primary included, 1–7 (a
   * `'partitions'` table takes the cluster's `replicationFactor`). Every
   * host must agree. Needs the default routing (no `hash`) and
   * `partitionPos === keyPos`. @defaultValue 1
   */
  replicas?: number;
  /** How writes reach the copies of a `'shards'` table with `replicas` > 1. @defaultValue 'async' */
  replicationMode?: ReplicationMode;
  /**
   * Replaces the default routing: `(key, numPartitions) => partition` for
   * `'partitions'`, `(key, shards) => shard | index` for `'shards'`. Must be
   * deterministic and identical on every node.
   */
  hash?: HashFn | ShardHashFn;
  /** Default TTL in ms (0 = none). @defaultValue 0 */
  ttl?: number;
  /** Most objects on this node (shared by its shards). 0 = none. @defaultValue 0 */
  maxEntries?: number;
  /** Most estimated bytes on this node. 0 = none. @defaultValue 0 */
  maxBytes?: number;
  /** Expiry sweep interval per shard. @defaultValue 1000 */
  sweepIntervalMs?: number;
  /** Called when an object expires or is evicted on this node. */
  onRemove?: (entry: Entry, reason: RemovalReason) => void;
  /** Commands beyond the built-ins (must be registered on every node). */
  registry?: CommandRegistry;
  /**
   * This node's shards, when the caller already built them (core does, so
   * `cache.local` reads the same tables the cluster serves). Their type, key
   * position and count must match the table; `ttl`, limits and `registry`
   * are then taken from them.
   */
  shards?: ShardSet;
  /** PartitionedEts `callbacks`: told when a node starts or stops hosting this table. */
  callbacks?: {
    nodeAdded?: (node: string) => void;
    nodeRemoved?: (node: string) => void;
  };
}

/** Retry policy of routed operations. */
export interface RetryPolicy {
  /** Attempts per operation (redirects, handoff waits, unreachable owners). */
  readonly attempts: number;
  /** First backoff in ms, doubled per attempt. */
  readonly baseMs: number;
  /** Largest backoff in ms. */
  readonly maxMs: number;
}

/** What a table needs from its node (implemented by {@link ClusterNode}). */
export interface TableHost {
  readonly nodeId: string;
  /** True while the node is joining, running or leaving. */
  readonly started: boolean;
  readonly view: View;
  readonly hlc: HybridLogicalClock;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly counters: ClusterCounters;
  readonly retry: RetryPolicy;
  readonly handoffChunkSize: number;
  readonly holdTimeoutMs: number;
  readonly callTimeoutMs: number;
  /** How long routed operations keep retrying an unreachable owner past `retry.attempts` (a failover). */
  readonly failoverMs: number;
  /** The cluster-wide settings (replication factor and mode among them). */
  readonly config: ClusterConfig;
  /** Counts and logs an error a background task could not report to a caller. */
  swallowed(where: string, error: unknown): void;
  /** Pulls the view from `from` when it is newer than this node's. */
  syncView(from: string, epoch: number): Promise<void>;
  /**
   * A newer view carried by a redirect (relayed, so its sender is not
   * known): adopted only when it needs no check, otherwise pulled from the
   * leader. True when adopted at once.
   */
  offerView(view: View): boolean;
  /** Calls a node (this one directly, without the network). */
  callNode<T = unknown>(peer: string, method: string, body: unknown, timeoutMs?: number): Promise<T>;
  /** Resolves once this node hosts `table` in the view (or rejects if it cannot). */
  tableReady(table: DistributedTable): Promise<void>;
  /** Emits a handoff progress event. */
  progress(event: Omit<HandoffProgressEvent, 'node'>): void;
  /**
   * Throws `SC_ERR_NO_QUORUM` (retryable) unless this node's serving lease
   * holds: a node cut off from a quorum of its view serves nothing.
   */
  assertServing(table: string): void;
  /**
   * Throws `SC_ERR_STALE_EPOCH` (retryable, with this node's view) when
   * `from` was removed from the view at an epoch after `epoch`: a request a
   * removed node made under its old view never lands after its removal.
   */
  assertNotFenced(from: string, epoch: number): void;
  /**
   * How many times this node has been put out of its cluster since it
   * started (removed from the view, or reset to merge into another
   * cluster). A routed write that sees it change stops: it was made under a
   * membership the cluster has since given up, so it must not land later.
   */
  readonly removals: number;
}

export type { ChunkItem, DeltaItem, WireEntry } from './handoff-wire.js';
export type { Owner } from './placement.js';

/** The `SC_ERR_NOT_OWNER` redirect a receiver answers with, carrying its view. */
export function notOwner(view: View, table: string, node: string): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_NOT_OWNER',
    `node ${node} does not own this data of table ${table} at epoch ${view.epoch}`,
    { retryable: true, details: { view } },
  );
}

/** The `SC_ERR_STALE_EPOCH` answer to a fan-out made under another epoch. */
export function staleEpoch(view: View, table: string, theirs: number): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_STALE_EPOCH',
    `table ${table}: request made at epoch ${theirs}, this node is at epoch ${view.epoch}`,
    { retryable: true, details: { view } },
  );
}

/** Who sent a routed command (absent for this node's own calls). */
export interface Remote {
  readonly from: string;
  readonly epoch: number;
  /** The sender's HLC timestamp, merged into this node's clock. */
  readonly clock?: string | undefined;
}

/** The two handoff sides of a table, kept off its public API. */
export interface HandoffSides {
  readonly source: HandoffSource;
  readonly target: HandoffTarget;
}

const SIDES = new WeakMap<DistributedTable, HandoffSides>();

/**
 * The handoff source and target of `table`, for the node's handoff
 * participant (not exported from the package).
 */
export function handoffSides(table: DistributedTable): HandoffSides {
  return SIDES.get(table) as HandoffSides;
}

/**
 * One logical table on one node. Create it with {@link ClusterNode.table};
 * use {@link DistributedTable.router} for the asynchronous table API.
 */
export class DistributedTable {
  /** Table name (cluster-wide). */
  readonly name: string;
  /** The table's shape; must match on every host. */
  readonly spec: TableSpec;
  /** This node's shards (all `numPartitions` for `'partitions'`, `localShards` for `'shards'`). */
  readonly shards: ShardSet;
  /** The backend that routes commands to owners. */
  readonly backend: ClusterBackend;
  /** The asynchronous table API over {@link DistributedTable.backend}. */
  readonly router: TableRouter;
  readonly #host: TableHost;
  readonly #placement: PlacementStrategy;
  readonly #tableIndex = new Map<Table, number>();
  readonly #callbacks: DistributedTableOptions['callbacks'];
  #routing: Routing | undefined;
  /** Both sides of this table's handoffs; see {@link handoffSides}. */
  readonly #source: HandoffSource;
  readonly #target: HandoffTarget;
  /**
   * Replication of this table: `'partitions'` with a cluster replication
   * factor above 1, `'shards'` with `replicas` above 1.
   */
  readonly replicator: Replicator | undefined;
  /**
   * The backup copies this node holds of a replicated `'shards'` table, in
   * the same local shard as the key would take here as its primary; kept
   * apart from {@link DistributedTable.shards} so fan-outs see each key
   * once. Undefined for other tables.
   */
  readonly copies: ShardSet | undefined;
  /** The replication mode of this table. */
  readonly replicationMode: ReplicationMode;
  #closed = false;

  /** @internal Use {@link ClusterNode.table}. */
  constructor(
    host: TableHost,
    name: string,
    spec: TableSpec,
    options: DistributedTableOptions,
    localShards: number,
  ) {
    this.#host = host;
    this.name = name;
    this.spec = spec;
    this.#callbacks = options.callbacks;
    this.shards =
      options.shards ??
      new ShardSet({
        type: spec.type,
        keyPos: spec.keyPos,
        shards: spec.placement === 'partitions' ? spec.numPartitions : localShards,
        clock: host.clock,
        ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
        ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
        ...(options.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: options.sweepIntervalMs }),
        ...(options.onRemove === undefined ? {} : { onRemove: options.onRemove }),
        ...(options.registry === undefined ? {} : { registry: options.registry }),
      });
    const want = spec.placement === 'partitions' ? spec.numPartitions : localShards;
    if (
      this.shards.type !== spec.type ||
      this.shards.keyPos !== spec.keyPos ||
      this.shards.shardCount !== want
    ) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONFIG',
        `table ${name}: the given shards (${this.shards.type}, keyPos ${this.shards.keyPos}, ` +
          `${this.shards.shardCount} shards) do not match the table (${spec.type}, keyPos ${spec.keyPos}, ${want} shards)`,
      );
    }
    this.shards.tables.forEach((t, i) => {
      this.#tableIndex.set(t, i);
    });
    this.#placement =
      spec.placement === 'partitions'
        ? new PartitionsPlacement(
            name,
            spec.numPartitions,
            host.config.replicationFactor,
            options.hash as HashFn | undefined,
          )
        : new ShardsPlacement(
            name,
            host.nodeId,
            localShards,
            spec.partitionPos,
            options.hash as ShardHashFn | undefined,
            spec.replicas ?? 1,
          );
    const groups = spec.placement === 'shards' && (spec.replicas ?? 1) > 1;
    this.replicationMode = groups ? (spec.replicationMode ?? 'async') : host.config.replicationMode;
    this.copies = groups
      ? new ShardSet({
          type: spec.type,
          keyPos: spec.keyPos,
          shards: localShards,
          clock: host.clock,
          ...(options.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: options.sweepIntervalMs }),
        })
      : undefined;
    const access: HandoffTableAccess = {
      name,
      spec,
      shards: this.shards,
      host,
      placement: this.#placement,
      replicator: () => this.replicator,
      routingFor: (view) => this.#routingFor(view),
      ownerIn: (r, pd) => this.#ownerIn(r, pd),
    };
    this.#source = new HandoffSource(access);
    this.#target = new HandoffTarget(access);
    SIDES.set(this, { source: this.#source, target: this.#target });
    if ((spec.placement === 'partitions' && host.config.replicationFactor > 1) || groups) {
      this.replicator = new Replicator({
        nodeId: host.nodeId,
        table: name,
        mode: this.replicationMode,
        groups,
        counters: host.counters,
        callTimeoutMs: host.callTimeoutMs,
        clock: host.clock,
        view: () => host.view,
        replicasOf: (p, view) => this.replicasOf(p, view),
        tableOf: (p) => (groups ? this.#groupStore(p) : this.shards.table(p)),
        // Replication travels alone: a batch answers when its slowest call
        // does, and a write waiting for its backups' acknowledgement must never
        // sit in the same batch as the records those backups need from it.
        call: (peer, method, body) =>
          host.transport.call(peer, method, body, { timeoutMs: host.callTimeoutMs, alone: true }),
        swallowed: (where, e) => host.swallowed(`table ${name}: ${where}`, e),
      });
    }
    this.backend = new ClusterBackend(host, this);
    this.router = new TableRouter(this.backend, { partitionPos: spec.partitionPos });
  }

  /** True while this table hands data over (as a source). */
  get handingOff(): boolean {
    return this.#source.active;
  }

  /** This node's shard count. */
  get localShards(): number {
    return this.shards.shardCount;
  }

  /** Resolves once this node hosts the table in the cluster view. */
  ready(): Promise<void> {
    return this.#host.tableReady(this);
  }

  // ---------------------------------------------------------------------------
  // Placement

  #routingFor(view: View): Routing {
    const cached = this.#routing;
    if (cached !== undefined && cached.view === view) return cached;
    const r = this.#placement.routing(view);
    if (view === this.#host.view) this.#routing = r;
    return r;
  }

  /** The members hosting this table under `view`. */
  hosts(view: View = this.#host.view): readonly string[] {
    return this.#routingFor(view).hosts;
  }

  /**
   * The owner of some partition data under `view`.
   * @throws SuperCacheError `SC_ERR_NO_TABLE` (retryable) when no member hosts the table.
   */
  ownerOf(pd: Term, view: View = this.#host.view): Owner {
    return this.#ownerIn(this.#routingFor(view), pd);
  }

  #ownerIn(r: Routing, pd: Term): Owner {
    if (r.hosts.length === 0) {
      throw new SuperCacheError('SC_ERR_NO_TABLE', `no member hosts table ${this.name} at epoch ${r.epoch}`, {
        retryable: true,
        details: { table: this.name, epoch: r.epoch },
      });
    }
    return this.#placement.ownerIn(r, pd);
  }

  /**
   * The owner of partition index `p` (`'partitions'` placement only: the
   * index means the same partition on every node).
   * @throws SuperCacheError `SC_ERR_BAD_ARG` for another placement or an index out of range.
   */
  ownerOfPartition(p: number, view: View = this.#host.view): Owner {
    if (this.#placement.kind !== 'partitions') {
      throw new SuperCacheError('SC_ERR_BAD_ARG', `table ${this.name} is not partitioned cluster-wide`);
    }
    if (!Number.isInteger(p) || p < 0 || p >= this.spec.numPartitions) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', `partition index ${String(p)} out of range`);
    }
    const r = this.#routingFor(view);
    if (r.hosts.length === 0) return this.#ownerIn(r, null);
    return { node: this.#placement.replicas(r, p)[0] as string, shard: p };
  }

  /**
   * The copies of partition `p` under `view`, primary first (`'partitions'`
   * placement): the top `replicationFactor` hosts by rendezvous ranking, or
   * every host when there are fewer; a promoted primary leads.
   */
  replicasOf(p: number, view: View = this.#host.view): readonly string[] {
    return this.#placement.replicas(this.#routingFor(view), p);
  }

  /**
   * The replication partition of partition data `pd` under `view`: its
   * partition (`'partitions'`), its replica group (a replicated
   * `'shards'` table, see {@link ShardsPlacement.replicas}), else its local shard.
   */
  replicaPartOf(pd: Term, view: View = this.#host.view): number {
    if (this.copies === undefined) return this.shardOf(pd);
    return (this.#placement as ShardsPlacement).groupOf(this.#routingFor(view), pd);
  }

  /**
   * The keys of replica group `p` on this node, under the view it holds:
   * in {@link DistributedTable.shards} when it leads the group, else in
   * {@link DistributedTable.copies}.
   */
  #groupStore(p: number): ReplicaStore {
    const place = this.#placement as ShardsPlacement;
    const r = this.#routingFor(this.#host.view);
    const set = place.replicas(r, p)[0] === this.#host.nodeId ? this.shards : (this.copies as ShardSet);
    const pp = this.spec.partitionPos;
    // partitionPos === keyPos (checked when the table opens): a key is its partition data.
    const at = (pd: Term): Table => set.table(place.shardOf(pd));
    const mine = (e: Entry) => place.groupOf(r, e.obj[pp] as Term) === p;
    return {
      lookupEntries: (k) => at(k).lookupEntries(k),
      delete: (k) => at(k).delete(k),
      insertEntry: (obj, m) => at(obj[pp] as Term).insertEntry(obj, m),
      *entries() {
        for (const t of set.tables) for (const e of t.entries()) if (mine(e)) yield e;
      },
      deleteAllObjects: () => {
        for (const t of set.tables) {
          const gone: Entry[] = [];
          for (const e of t.entries()) if (mine(e)) gone.push(e);
          for (const e of gone) t.deleteObject(e.obj);
        }
        return true;
      },
    };
  }

  /** The local shard for partition data (owned here or not). */
  shardOf(pd: Term): number {
    return this.#placement.shardOf(pd);
  }

  /** Shards whose data this node serves under `view`. */
  ownedShards(view: View = this.#host.view): number[] {
    return this.#placement.ownedShards(this.#routingFor(view), this.#host.nodeId);
  }

  // ---------------------------------------------------------------------------
  // Serving routed commands

  #ctx(write: boolean): CommandContext {
    const version = write ? this.#host.hlc.now() : undefined;
    if (this.#source.tracking) return { version, touched: this.#onTouched };
    return { version };
  }

  readonly #onTouched = (table: Table, key: Term): void => {
    const i = this.#tableIndex.get(table);
    if (i !== undefined) this.#source.touched(i, key);
  };

  /** The promise a command on this data must wait for, when the data is held for a handoff switch. */
  #gate(shard: number, pd: Term): Promise<void> | undefined {
    return this.#source.gate(shard, pd);
  }

  async #syncFrom(remote: Remote | undefined): Promise<void> {
    if (remote === undefined) return;
    if (remote.epoch > this.#host.view.epoch) {
      this.#mergeClock(remote);
      await this.#host.syncView(remote.from, remote.epoch);
      this.#host.assertNotFenced(remote.from, remote.epoch);
    } else this.#syncClockFrom(remote);
  }

  /** The synchronous part of {@link DistributedTable.#syncFrom}, for a sender whose view is not newer. */
  #syncClockFrom(remote: Remote | undefined): void {
    if (remote === undefined) return;
    this.#mergeClock(remote);
    this.#host.assertNotFenced(remote.from, remote.epoch);
  }

  #mergeClock(remote: Remote): void {
    if (remote.clock === undefined) return;
    try {
      this.#host.hlc.update(remote.clock);
    } catch {
      // A clock too far ahead is not merged; the write is still stamped locally.
    }
  }

  /**
   * Runs a shard command on the owner of `pd`, which must be this node.
   * @throws SuperCacheError `SC_ERR_NOT_OWNER` (with this node's view) when
   *   another node owns it; `SC_ERR_HANDOFF` (retryable) when a handoff hold
   *   outlasts `holdTimeoutMs`.
   */
  async serveShard(
    pd: Term,
    name: string,
    args: readonly unknown[],
    remote?: Remote,
    partition?: number,
    token = false,
  ): Promise<unknown> {
    return this.serveShardNow(pd, name, args, remote, partition, token);
  }

  /**
   * {@link DistributedTable.serveShard} without a promise when none is
   * needed: on a table without replicas, with the sender's view no newer
   * than this node's and the data not held for a handoff, the command runs
   * and its result is returned at once; otherwise a promise. Throws (rather
   * than rejects) what the checks refuse.
   */
  serveShardNow(
    pd: Term,
    name: string,
    args: readonly unknown[],
    remote?: Remote,
    partition?: number,
    token = false,
  ): unknown {
    this.#checkOpen();
    const cmd = this.shards.registry.get(name);
    if (cmd.scope !== 'shard')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a single-shard command`);
    if (this.replicator !== undefined || (remote !== undefined && remote.epoch > this.#host.view.epoch)) {
      return this.#serveShardLater(cmd, pd, name, args, remote, partition, token);
    }
    this.#syncClockFrom(remote);
    this.#host.assertServing(this.name);
    const view = this.#host.view;
    const o = partition === undefined ? this.ownerOf(pd, view) : this.ownerOfPartition(partition, view);
    if (o.node !== this.#host.nodeId) throw notOwner(view, this.name, this.#host.nodeId);
    if (this.#gate(o.shard, pd) !== undefined) {
      return this.#serveShardLater(cmd, pd, name, args, undefined, partition, token);
    }
    this.#host.counters.served++;
    const result = this.shards.runShard(o.shard, name, args, this.#ctx(cmd.write));
    return token ? [result, -1] : result;
  }

  async #serveShardLater(
    cmd: ReturnType<ShardSet['registry']['get']>,
    pd: Term,
    name: string,
    args: readonly unknown[],
    remote: Remote | undefined,
    partition: number | undefined,
    token: boolean,
  ): Promise<unknown> {
    await this.#syncFrom(remote);
    for (;;) {
      this.#host.assertServing(this.name);
      const view = this.#host.view;
      const o = partition === undefined ? this.ownerOf(pd, view) : this.ownerOfPartition(partition, view);
      if (o.node !== this.#host.nodeId) throw notOwner(view, this.name, this.#host.nodeId);
      const gate = this.#gate(o.shard, pd);
      if (gate !== undefined) {
        await this.#waitHold(gate);
        continue;
      }
      this.#host.counters.served++;
      if (this.replicator === undefined) {
        const result = this.shards.runShard(o.shard, name, args, this.#ctx(cmd.write));
        return token ? [result, -1] : result;
      }
      let seq = -1;
      const result = await this.#replicated(
        cmd.write,
        [this.copies === undefined ? o.shard : this.replicaPartOf(pd, view)],
        (ctx) => this.shards.runShard(o.shard, name, args, ctx),
        (_p, s) => {
          seq = s;
        },
      );
      // A write token: the sequence a copy must have applied to show this write.
      return token ? [result, seq] : result;
    }
  }

  /**
   * Runs a command on a replicated table: a write records the state of the
   * keys it touched for the backups and waits as the mode requires; in
   * `strong` mode a read first waits until what it could see is committed.
   */
  async #replicated<T>(
    write: boolean,
    shards: readonly number[],
    run: (ctx: CommandContext) => T,
    onSeq?: (partition: number, seq: number) => void,
  ): Promise<T> {
    const r = this.replicator as Replicator;
    if (!write) {
      if (this.replicationMode === 'strong') for (const p of shards) await r.readBarrier(p);
      return run({ version: undefined });
    }
    const view = this.#host.view;
    const touched = new Map<number, Map<MapKey, Term>>();
    const ctx: CommandContext = {
      version: this.#host.hlc.now(),
      touched: (table, key) => {
        this.#onTouched(table, key);
        const at = this.#tableIndex.get(table);
        if (at === undefined) return;
        // A replicated 'shards' table records per replica group.
        const i = this.copies === undefined ? at : this.replicaPartOf(key, view);
        if (i < 0) return;
        let m = touched.get(i);
        if (m === undefined) touched.set(i, (m = new Map()));
        m.set(keyOf(key), key);
      },
    };
    let result: T | undefined;
    let failure: { e: unknown } | undefined;
    try {
      result = run(ctx);
    } catch (e) {
      failure = { e };
    }
    // A command that failed part way (a batch) may have changed keys: they replicate too.
    const waits: Promise<void>[] = [];
    for (const [p, keys] of touched) {
      const { seq, committed } = r.record(p, [...keys.values()]);
      onSeq?.(p, seq);
      if (committed !== undefined) waits.push(committed);
    }
    if (failure !== undefined) throw failure.e;
    await Promise.all(waits);
    return result as T;
  }

  async #waitHold(gate: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SuperCacheError(
              'SC_ERR_HANDOFF',
              `table ${this.name}: data held for a handoff longer than allowed`,
              {
                retryable: true,
              },
            ),
          ),
        this.#host.holdTimeoutMs,
      );
    });
    try {
      await Promise.race([gate, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a node command over the shards this node owns. A fan-out runs at
   * one epoch everywhere: a request from another epoch is refused with
   * `SC_ERR_STALE_EPOCH` (after pulling the sender's view if it is newer).
   */
  async serveNode(
    name: string,
    args: readonly unknown[],
    remote?: Remote & { expect?: number },
    only?: readonly number[],
  ): Promise<unknown> {
    this.#checkOpen();
    const cmd = this.shards.registry.get(name);
    if (cmd.scope !== 'node')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a fan-out command`);
    await this.#syncFrom(remote);
    for (;;) {
      this.#host.assertServing(this.name);
      const view = this.#host.view;
      if (remote !== undefined && remote.epoch !== view.epoch)
        throw staleEpoch(view, this.name, remote.epoch);
      const released = this.#source.released;
      if (cmd.write && this.#source.holding && released !== undefined) {
        await this.#waitHold(released);
        continue;
      }
      this.#host.counters.served++;
      const owned = this.ownedShards(view);
      const shards = only === undefined ? owned : owned.filter((i) => only.includes(i));
      if (this.replicator === undefined) return this.shards.runNode(name, args, this.#ctx(cmd.write), shards);
      // A strong read waits for what it could see: the partitions (or replica groups) led here.
      const parts = this.copies === undefined ? shards : this.replicator.led();
      return this.#replicated(cmd.write, parts, (ctx) => this.shards.runNode(name, args, ctx, shards));
    }
  }

  // ---------------------------------------------------------------------------
  // Replication: backup side and copy reads

  /** Checks that `from` leads partition `p` in this node's view (after pulling a newer one). */
  async #fromPrimary(from: string, epoch: number, p: number): Promise<Replicator> {
    this.#checkOpen();
    const r = this.replicator;
    if (r === undefined) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `table ${this.name} is not replicated on this node`);
    }
    if (epoch > this.#host.view.epoch) await this.#host.syncView(from, epoch);
    const view = this.#host.view;
    // Only the epoch this node holds: a newer one it could not adopt is not expected.
    if (epoch !== view.epoch) throw staleEpoch(view, this.name, epoch);
    const copies = this.replicasOf(p, view);
    if (
      !Number.isInteger(p) ||
      p < 0 ||
      (this.copies === undefined ? p >= this.spec.numPartitions : copies.length === 0)
    ) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `table ${this.name} has no partition ${String(p)}`);
    }
    if (copies[0] !== from || !copies.includes(this.#host.nodeId))
      throw notOwner(view, this.name, this.#host.nodeId);
    return r;
  }

  /** `sc.replicate`: records from a primary, applied in sequence order. */
  async serveReplicate(
    from: string,
    epoch: number,
    batches: readonly unknown[],
  ): Promise<{ acks: Array<[number, number]>; gaps: Array<[number, number]> }> {
    const ok: ReplicaBatch[] = [];
    for (const b of batches) {
      if (!Array.isArray(b) || b.length !== 3 || typeof b[1] !== 'number' || !Array.isArray(b[2])) {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed replication batch');
      }
      for (const rec of b[2] as unknown[]) {
        if (!Array.isArray(rec) || typeof rec[0] !== 'number' || !Array.isArray(rec[1])) {
          throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed replication record');
        }
      }
      await this.#fromPrimary(from, epoch, b[0] as number);
      ok.push(b as ReplicaBatch);
    }
    return (this.replicator as Replicator).applyBatches(ok);
  }

  /** `sc.replicaSnapshot`: one chunk of a resync from the primary. */
  async serveReplicaSnapshot(
    from: string,
    epoch: number,
    p: number,
    seq: number,
    first: boolean,
    last: boolean,
    items: readonly unknown[],
  ): Promise<boolean> {
    const r = await this.#fromPrimary(from, epoch, p);
    for (const it of items) {
      if (!Array.isArray(it) || it.length !== 3 || !Array.isArray(it[0]) || typeof it[1] !== 'number') {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed snapshot entry');
      }
    }
    r.applySnapshot(p, seq, first, last, items as ReplicaEntry[]);
    return true;
  }

  /** `sc.replicaDigest`: an anti-entropy check from the primary of `p`. */
  async serveReplicaDigest(
    from: string,
    epoch: number,
    p: number,
    seq: number,
    digest: unknown,
  ): Promise<string> {
    const r = await this.#fromPrimary(from, epoch, p);
    if (
      !Array.isArray(digest) ||
      digest.length !== 3 ||
      !digest.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)
    ) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed partition digest');
    }
    return r.compareDigest(p, seq, digest as PartitionDigest);
  }

  /**
   * Runs a read on this node's copy of the partition of `pd` (or index `p`),
   * primary or backup, and returns it with the sequence the copy applied:
   * `readMode: 'local'` and `'quorum'` reads.
   * @throws SuperCacheError `SC_ERR_NOT_OWNER` when this node holds no copy.
   */
  readCopy(pd: Term, name: string, args: readonly unknown[], partition?: number): [number, unknown] {
    this.#checkOpen();
    const cmd = this.shards.registry.get(name);
    if (cmd.scope !== 'shard' || cmd.write) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a single-shard read`);
    }
    this.#host.assertServing(this.name);
    const view = this.#host.view;
    const r = this.replicator;
    const self = this.#host.nodeId;
    if (this.copies !== undefined) {
      // A replicated 'shards' table: the copy of `pd`'s replica group, in this node's shard of `pd`.
      const g = this.replicaPartOf(pd, view);
      const copies = this.replicasOf(g, view);
      if (r === undefined || !r.holdsCopy(g) || !copies.includes(self)) throw notOwner(view, this.name, self);
      this.#host.counters.served++;
      const set = copies[0] === self ? this.shards : this.copies;
      return [r.appliedSeq(g), set.runShard(this.shardOf(pd), name, args, { version: undefined })];
    }
    const p = partition ?? this.shardOf(pd);
    const holds =
      r === undefined
        ? this.replicasOf(p, view)[0] === self
        : r.holdsCopy(p) && this.replicasOf(p, view).includes(self);
    if (!holds) throw notOwner(view, this.name, self);
    this.#host.counters.served++;
    return [r?.appliedSeq(p) ?? 0, this.shards.runShard(p, name, args, { version: undefined })];
  }

  /** Whether this node can answer a `local` read of partition `p` from its own copy. */
  holdsCopyOf(p: number): boolean {
    const r = this.replicator;
    const self = this.#host.nodeId;
    if (r === undefined) return this.replicasOf(p)[0] === self;
    return r.holdsCopy(p) && this.replicasOf(p).includes(self);
  }

  /** Opens a server-side cursor over the shards this node owns; see {@link DistributedTable.serveNode} for epochs. */
  async openCursor(kind: CursorKind, arg: unknown, remote?: Remote): Promise<number> {
    this.#checkOpen();
    await this.#syncFrom(remote);
    this.#host.assertServing(this.name);
    const view = this.#host.view;
    if (remote !== undefined && remote.epoch !== view.epoch) throw staleEpoch(view, this.name, remote.epoch);
    return this.shards.openCursor(kind, arg, this.ownedShards(view));
  }

  /** Next page of a cursor opened here. */
  cursorNext(id: number, limit: number): CursorPage {
    this.#checkOpen();
    return this.shards.cursorNext(id, limit);
  }

  /** Closes a cursor opened here; unknown ids are ignored. */
  cursorClose(id: number): void {
    this.shards.closeCursor(id);
  }

  #checkOpen(): void {
    if (this.#closed) throw new SuperCacheError('SC_ERR_STOPPED', `table ${this.name} is closed`);
  }

  // ---------------------------------------------------------------------------
  // View changes

  /**
   * Called synchronously when the node adopts `next`: applies staged data of
   * committed handoffs, drops data this node no longer owns, ends a finished
   * source handoff (releasing held commands) and runs the callbacks.
   */
  onViewChange(prev: View, next: View): void {
    if (this.#closed) return;
    this.#routing = undefined;
    const handed = this.#target.applyCommitted(next);
    if (this.copies !== undefined) {
      if (!sameHosting(prev, next, this.name)) this.#regroup(prev, next);
    } else {
      this.replicator?.onView(prev, next, this.spec.numPartitions, handed);
      if (!sameHosting(prev, next, this.name)) this.#dropUnowned(next);
    }
    const hid = this.#source.hid;
    const until = this.#source.nextEpoch;
    if (hid !== undefined && (next.handoffs.includes(hid) || (until !== undefined && until <= next.epoch)))
      this.#source.abort();
    if (this.#callbacks !== undefined) {
      const before = hostsOf(prev, this.name);
      const after = hostsOf(next, this.name);
      for (const n of after) if (!before.includes(n)) this.#callbacks.nodeAdded?.(n);
      for (const n of before) if (!after.includes(n)) this.#callbacks.nodeRemoved?.(n);
    }
  }

  /**
   * A replicated `'shards'` table under a new hosting: every object moves
   * to where `next` wants it on this node (a backup copy whose primary died
   * becomes the primary's, at once), the replica groups are renumbered, and
   * every copy they gained is refilled from its primary.
   */
  #regroup(prev: View, next: View): void {
    const place = this.#placement as ShardsPlacement;
    const before = this.#routingFor(prev);
    const after = this.#routingFor(next);
    const led = place.refile(after, this.#host.nodeId, this.shards.tables, (this.copies as ShardSet).tables);
    const r = this.replicator as Replicator;
    r.regroup((p) => place.groupNumber(after, place.replicas(before, p)));
    r.lead(led);
  }

  #dropUnowned(view: View): void {
    this.#placement.dropUnowned(this.#routingFor(view), this.#host.nodeId, this.shards.tables);
  }

  /**
   * How much each host owns under `view`: partitions (`'partitions'`) or
   * shards (`'shards'`).
   */
  ownedCounts(view: View = this.#host.view): Record<string, number> {
    return this.#placement.ownedCounts(this.#routingFor(view));
  }

  /** Objects this node serves (owned shards only). */
  ownedSize(view: View = this.#host.view): number {
    let n = 0;
    for (const i of this.ownedShards(view)) n += this.shards.table(i).size;
    return n;
  }

  /** Drops every object, staged data and handoff state (a node rejoining another cluster). */
  reset(): void {
    this.#source.abort();
    this.#target.clear();
    this.replicator?.reset();
    this.#routing = undefined;
    for (const t of this.shards.tables) if (t.size > 0) t.deleteAllObjects();
    for (const t of this.copies?.tables ?? []) if (t.size > 0) t.deleteAllObjects();
  }

  /** Stops sweep timers, drops cursors and releases held commands. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.abort();
    this.#target.clear();
    this.replicator?.close();
    this.shards.close();
    this.copies?.close();
  }
}
