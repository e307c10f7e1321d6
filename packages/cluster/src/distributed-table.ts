/**
 * A distributed table: this node's {@link ShardSet} for one logical table,
 * the placement that maps partition data to an owner `{node, shard}` under a
 * view, the serving side of routed commands (ownership and epoch checks,
 * handoff holds), and both halves of a handoff (streaming moving data out,
 * staging incoming data until its view is committed).
 */

import type { HashFn, ShardHashFn } from '@supercache/partition';
import { compareVersions, type HybridLogicalClock } from '@supercache/replication';
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
  type EntryMeta,
  keyOf,
  type MapKey,
  type RemovalReason,
  SuperCacheError,
  type Table,
  type TableType,
  type Term,
  type Tuple,
  termBytes,
} from '@supercache/storage';
import { ClusterBackend } from './cluster-backend.js';
import type { HandoffProgressEvent } from './events.js';
import type { ClusterCounters } from './health.js';
import {
  type Owner,
  PartitionsPlacement,
  type PlacementStrategy,
  type Routing,
  ShardsPlacement,
} from './placement.js';
import { type PartitionDigest, type ReplicaBatch, type ReplicaEntry, Replicator } from './replicator.js';
import {
  type ClusterConfig,
  hostsOf,
  type Placement,
  sameHosting,
  type TableSpec,
  type View,
} from './view.js';

/** Snapshot chunks a handoff source keeps in flight at once. */
const SNAPSHOT_IN_FLIGHT = 4;
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
  /** Adopts a view when newer; true when adopted. */
  adoptView(view: View): boolean;
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
}

export type { Owner } from './placement.js';

/** An entry on the wire: `[obj, expiresAt, version | null]`. */
export type WireEntry = [obj: Tuple, expiresAt: number, version: string | null];
/** A snapshot item: `[targetShard, obj, expiresAt, version | null]`. */
export type ChunkItem = [shard: number, obj: Tuple, expiresAt: number, version: string | null];
/** A delta item: the complete list of a key's objects at the source (`[]` = deleted). */
export type DeltaItem = [shard: number, key: Term, entries: WireEntry[]];

interface StagedKey {
  readonly key: Term;
  entries: WireEntry[];
  /** True once a delta replaced the list: the source's list is authoritative. */
  replace: boolean;
}

interface Staged {
  readonly hid: string;
  readonly epoch: number;
  readonly shards: Map<number, Map<MapKey, StagedKey>>;
  readonly started: number;
  entries: number;
  bytes: number;
}

interface SourceState {
  readonly hid: string;
  readonly next: Routing;
  /** Whole partitions moving, with the copies that must receive them; undefined when keys move one by one. */
  readonly moving: Map<number, readonly string[]> | undefined;
  /** Keys changed on moving data since the last pass, per local shard. */
  touched: Map<number, Map<MapKey, Term>>;
  /** `'shards'`: where each key's objects were sent, per local shard. */
  readonly sentTo: Map<number, Map<MapKey, Array<[node: string, shard: number]>>>;
  readonly targets: Set<string>;
  holding: boolean;
  released: Promise<void>;
  release: () => void;
  holdTimer: ReturnType<typeof setTimeout> | undefined;
  readonly started: number;
  entries: number;
  bytes: number;
}

function wire(e: Entry): WireEntry {
  return [e.obj, e.expiresAt, e.version ?? null];
}

function meta(expiresAt: number, version: string | null): EntryMeta {
  const m: { expiresAt: number; version?: string } = { expiresAt };
  if (version !== null) m.version = version;
  return m;
}

/** Bytes of one wire entry, estimated. */
function entryBytes(obj: Tuple): number {
  try {
    return termBytes(obj as unknown as Term) + 32;
  } catch {
    return 64;
  }
}

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
  #source: SourceState | undefined;
  readonly #staged = new Map<string, Staged>();
  /** Sequences handed over with staged data, per handoff and partition. */
  readonly #stagedSeqs = new Map<string, Map<number, number>>();
  /** Replication of this table (`'partitions'` with a replication factor above 1). */
  readonly replicator: Replicator | undefined;
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
          );
    if (spec.placement === 'partitions' && host.config.replicationFactor > 1) {
      this.replicator = new Replicator({
        nodeId: host.nodeId,
        table: name,
        mode: host.config.replicationMode,
        counters: host.counters,
        callTimeoutMs: host.callTimeoutMs,
        clock: host.clock,
        view: () => host.view,
        replicasOf: (p, view) => this.replicasOf(p, view),
        tableOf: (p) => this.shards.table(p),
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
    if (this.#source !== undefined) return { version, touched: this.#onTouched };
    return { version };
  }

  readonly #onTouched = (table: Table, key: Term): void => {
    const s = this.#source;
    if (s === undefined) return;
    const i = this.#tableIndex.get(table);
    if (i === undefined) return;
    if (s.moving !== undefined && !s.moving.has(i)) return;
    let m = s.touched.get(i);
    if (m === undefined) s.touched.set(i, (m = new Map()));
    m.set(keyOf(key), key);
  };

  /** The promise a command on this data must wait for, when the data is held for a handoff switch. */
  #gate(shard: number, pd: Term): Promise<void> | undefined {
    const s = this.#source;
    if (s === undefined || !s.holding) return undefined;
    if (s.moving !== undefined) return s.moving.has(shard) ? s.released : undefined;
    let o: Owner;
    try {
      o = this.#ownerIn(s.next, pd);
    } catch {
      return s.released;
    }
    return o.node !== this.#host.nodeId || o.shard !== shard ? s.released : undefined;
  }

  async #syncFrom(remote: Remote | undefined): Promise<void> {
    if (remote === undefined) return;
    if (remote.clock !== undefined) {
      try {
        this.#host.hlc.update(remote.clock);
      } catch {
        // A clock too far ahead is not merged; the write is still stamped locally.
      }
    }
    if (remote.epoch > this.#host.view.epoch) await this.#host.syncView(remote.from, remote.epoch);
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
    this.#checkOpen();
    const cmd = this.shards.registry.get(name);
    if (cmd.scope !== 'shard')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a single-shard command`);
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
        [o.shard],
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
      if (this.#host.config.replicationMode === 'strong') for (const p of shards) await r.readBarrier(p);
      return run({ version: undefined });
    }
    const touched = new Map<number, Map<MapKey, Term>>();
    const ctx: CommandContext = {
      version: this.#host.hlc.now(),
      touched: (table, key) => {
        this.#onTouched(table, key);
        const i = this.#tableIndex.get(table);
        if (i === undefined) return;
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
      const s = this.#source;
      if (cmd.write && s?.holding === true) {
        await this.#waitHold(s.released);
        continue;
      }
      this.#host.counters.served++;
      const owned = this.ownedShards(view);
      const shards = only === undefined ? owned : owned.filter((i) => only.includes(i));
      if (this.replicator === undefined) return this.shards.runNode(name, args, this.#ctx(cmd.write), shards);
      return this.#replicated(cmd.write, shards, (ctx) => this.shards.runNode(name, args, ctx, shards));
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
    if (epoch < view.epoch) throw staleEpoch(view, this.name, epoch);
    if (!Number.isInteger(p) || p < 0 || p >= this.spec.numPartitions) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `table ${this.name} has no partition ${String(p)}`);
    }
    const copies = this.replicasOf(p, view);
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
    const p = partition ?? this.shardOf(pd);
    const r = this.replicator;
    const self = this.#host.nodeId;
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
  // Handoff: source side

  /**
   * Plans the data this node must hand over for the change `prev → next`
   * and starts tracking changes to it. Returns false when nothing moves.
   */
  planSource(hid: string, prev: View, next: View): boolean {
    this.abortSource();
    const self = this.#host.nodeId;
    const before = this.#routingFor(prev);
    if (!before.hosts.includes(self)) return false;
    if (sameHosting(prev, next, this.name)) return false;
    const after = this.#placement.routing(next);
    if (after.hosts.length === 0) return false; // the last host leaves: nothing can receive the data
    const moving = this.#placement.moving(before, after, self);
    if (moving !== undefined && moving.size === 0) return false;
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    this.#source = {
      hid,
      next: after,
      moving,
      touched: new Map(),
      sentTo: new Map(),
      targets: new Set(),
      holding: false,
      released,
      release,
      holdTimer: undefined,
      started: this.#host.clock.now(),
      entries: 0,
      bytes: 0,
    };
    return true;
  }

  /** True while this table hands data over. */
  get handingOff(): boolean {
    return this.#source !== undefined;
  }

  async #flush(
    s: SourceState,
    target: string,
    method: string,
    items: unknown[],
    entries: number,
  ): Promise<void> {
    if (items.length === 0) return;
    s.targets.add(target);
    await this.#host.callNode(
      target,
      method,
      { h: s.hid, t: this.name, e: s.next.epoch, from: this.#host.nodeId, items },
      this.#host.callTimeoutMs,
    );
    this.#host.counters.handoffEntriesSent += entries;
    this.#host.progress({
      handoff: s.hid,
      role: 'source',
      phase: method === 'sc.handoffChunk' ? 'snapshot' : 'delta',
      table: this.name,
      peer: target,
      entries: s.entries,
      bytes: s.bytes,
      durationMs: this.#host.clock.now() - s.started,
    });
  }

  /** Pass 1: streams every moving entry to its new owner in chunks; the table keeps serving. */
  async streamSnapshot(hid: string): Promise<void> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return;
    const chunk = this.#host.handoffChunkSize;
    const buffers = new Map<string, ChunkItem[]>();
    // Chunks are pipelined: up to SNAPSHOT_IN_FLIGHT travel at once, so the
    // next chunk is built while earlier ones cross the network. Staging
    // merges by version, so their arrival order does not matter; all of
    // them settle before this method returns (and before the delta pass).
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const send = (target: string, b: ChunkItem[]): void => {
      const f: Promise<void> = this.#flush(s, target, 'sc.handoffChunk', b, b.length).then(
        () => {
          inFlight.delete(f);
        },
        (e: unknown) => {
          inFlight.delete(f);
          failure ??= e;
        },
      );
      inFlight.add(f);
    };
    const push = async (target: string, item: ChunkItem): Promise<void> => {
      let b = buffers.get(target);
      if (b === undefined) buffers.set(target, (b = []));
      b.push(item);
      s.entries++;
      s.bytes += entryBytes(item[1]);
      if (b.length >= chunk) {
        buffers.set(target, []);
        send(target, b);
        while (inFlight.size >= SNAPSHOT_IN_FLIGHT) await Promise.race(inFlight);
        if (failure !== undefined) throw failure;
      }
    };
    const self = this.#host.nodeId;
    if (s.moving !== undefined) {
      for (const [p, targets] of s.moving) {
        for (const e of this.shards.table(p).entries()) {
          if (this.#source !== s) return;
          for (const target of targets) await push(target, [p, e.obj, e.expiresAt, e.version ?? null]);
        }
      }
    } else {
      const pp = this.spec.partitionPos;
      const kp = this.spec.keyPos;
      for (let i = 0; i < this.shards.shardCount; i++) {
        for (const e of this.shards.table(i).entries()) {
          if (this.#source !== s) return;
          const o = this.#ownerIn(s.next, e.obj[pp] as Term);
          if (o.node === self && o.shard === i) continue;
          this.#recordSent(s, i, e.obj[kp] as Term, o);
          await push(o.node, [o.shard, e.obj, e.expiresAt, e.version ?? null]);
        }
      }
    }
    for (const [target, b] of buffers) if (b.length > 0) send(target, b);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  }

  #recordSent(s: SourceState, shard: number, key: Term, o: Owner): void {
    let m = s.sentTo.get(shard);
    if (m === undefined) s.sentTo.set(shard, (m = new Map()));
    const k = keyOf(key);
    const list = m.get(k);
    if (list === undefined) m.set(k, [[o.node, o.shard]]);
    else if (!list.some(([n, sh]) => n === o.node && sh === o.shard)) list.push([o.node, o.shard]);
  }

  /**
   * Pass 2: re-sends the current objects of every key changed since the last
   * pass (`[]` for a deleted key). Returns how many keys were sent.
   */
  async sendDelta(hid: string): Promise<number> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return 0;
    const touched = s.touched;
    s.touched = new Map();
    const chunk = this.#host.handoffChunkSize;
    const buffers = new Map<string, { items: DeltaItem[]; entries: number }>();
    const push = async (target: string, item: DeltaItem): Promise<void> => {
      let b = buffers.get(target);
      if (b === undefined) buffers.set(target, (b = { items: [], entries: 0 }));
      b.items.push(item);
      b.entries += Math.max(1, item[2].length);
      s.entries += item[2].length;
      for (const e of item[2]) s.bytes += entryBytes(e[0]);
      if (b.entries >= chunk) {
        buffers.delete(target);
        await this.#flush(s, target, 'sc.handoffDelta', b.items, b.entries);
      }
    };
    let keys = 0;
    const self = this.#host.nodeId;
    const pp = this.spec.partitionPos;
    for (const [i, m] of touched) {
      const table = this.shards.table(i);
      for (const [mk, key] of m) {
        keys++;
        const entries = table.lookupEntries(key);
        if (s.moving !== undefined) {
          const list = entries.map(wire);
          for (const target of s.moving.get(i) ?? []) await push(target, [i, key, list]);
          continue;
        }
        const groups = new Map<string, { o: Owner; list: WireEntry[] }>();
        for (const e of entries) {
          const o = this.#ownerIn(s.next, e.obj[pp] as Term);
          if (o.node === self && o.shard === i) continue;
          const g = `${o.shard}:${o.node}`;
          let grp = groups.get(g);
          if (grp === undefined) groups.set(g, (grp = { o, list: [] }));
          grp.list.push(wire(e));
        }
        const sent = s.sentTo.get(i)?.get(mk) ?? [];
        for (const [n, sh] of sent) {
          if (!groups.has(`${sh}:${n}`)) await push(n, [sh, key, []]);
        }
        for (const { o, list } of groups.values()) {
          this.#recordSent(s, i, key, o);
          await push(o.node, [o.shard, key, list]);
        }
      }
    }
    for (const [target, b] of buffers) await this.#flush(s, target, 'sc.handoffDelta', b.items, b.entries);
    return keys;
  }

  /** Keys changed on moving data since the last pass. */
  pendingDelta(): number {
    let n = 0;
    for (const m of this.#source?.touched.values() ?? []) n += m.size;
    return n;
  }

  /**
   * Switch: holds every command on moving data (queued, never dropped) and
   * sends the final delta. The hold ends when the handoff's view is adopted
   * (held commands then get `SC_ERR_NOT_OWNER` and retry at the new owner)
   * or the handoff is aborted (they run here).
   */
  async holdAndFinish(hid: string): Promise<string[]> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return [];
    s.holding = true;
    // A leader that never commits must not freeze this data forever.
    s.holdTimer = setTimeout(() => {
      if (this.#source === s) {
        this.#host.progress({
          handoff: s.hid,
          role: 'source',
          phase: 'aborted',
          table: this.name,
          entries: s.entries,
          bytes: s.bytes,
          durationMs: this.#host.clock.now() - s.started,
          error: 'no commit within the hold timeout',
        });
        this.abortSource();
      }
    }, this.#host.holdTimeoutMs * 2);
    s.holdTimer.unref?.();
    await this.sendDelta(hid);
    return [...s.targets];
  }

  /**
   * `'partitions'`: the partitions this source hands to `target`, with the
   * replication sequence each reached (sent with `sc.handoffDone`, after the
   * final delta, while the data is held). The target replaces its copy of
   * each with what it staged and continues from that sequence.
   */
  movedTo(hid: string, target: string): Record<string, number> | undefined {
    const s = this.#source;
    if (s === undefined || s.hid !== hid || s.moving === undefined) return undefined;
    const out: Record<string, number> = {};
    for (const [p, targets] of s.moving) {
      if (targets.includes(target)) out[p] = Math.max(0, this.replicator?.appliedSeq(p) ?? 0);
    }
    return out;
  }

  /** Records which partitions a handoff moves to this node, and their sequences (see {@link movedTo}). */
  stageMoved(hid: string, moved: Record<string, unknown>): void {
    const m = new Map<number, number>();
    for (const [k, v] of Object.entries(moved)) {
      const p = Number(k);
      if (!Number.isInteger(p) || p < 0 || p >= this.shards.shardCount || typeof v !== 'number' || v < 0) {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', `bad moved partition ${k} for table ${this.name}`);
      }
      m.set(p, v);
    }
    this.#stagedSeqs.set(hid, m);
  }

  /** Counts of the current source handoff. */
  sourceCounts(): { entries: number; bytes: number } {
    return { entries: this.#source?.entries ?? 0, bytes: this.#source?.bytes ?? 0 };
  }

  /** Ends the source side (after commit or abort) and releases held commands. */
  abortSource(): void {
    const s = this.#source;
    if (s === undefined) return;
    this.#source = undefined;
    if (s.holdTimer !== undefined) clearTimeout(s.holdTimer);
    s.release();
  }

  /** The id of the handoff this table is a source of, if any. */
  get sourceHandoff(): string | undefined {
    return this.#source?.hid;
  }

  // ---------------------------------------------------------------------------
  // Handoff: target side

  #stagedFor(hid: string, epoch: number): Staged {
    let st = this.#staged.get(hid);
    if (st === undefined) {
      st = { hid, epoch, shards: new Map(), started: this.#host.clock.now(), entries: 0, bytes: 0 };
      this.#staged.set(hid, st);
    }
    return st;
  }

  #stagedKey(st: Staged, shard: number, key: Term): StagedKey {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shards.shardCount) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `table ${this.name} has no shard ${shard}`);
    }
    let m = st.shards.get(shard);
    if (m === undefined) st.shards.set(shard, (m = new Map()));
    const k = keyOf(key);
    let sk = m.get(k);
    if (sk === undefined) m.set(k, (sk = { key, entries: [], replace: false }));
    return sk;
  }

  #observe(version: string | null): void {
    if (version === null) return;
    try {
      this.#host.hlc.update(version);
    } catch {
      // ignored: see #syncFrom
    }
  }

  /** Stages a snapshot chunk (not served, not visible to fan-outs). */
  stageChunk(hid: string, epoch: number, items: readonly ChunkItem[]): number {
    const st = this.#stagedFor(hid, epoch);
    const kp = this.spec.keyPos;
    let newest: string | null = null;
    for (const [shard, obj, expiresAt, version] of items) {
      const sk = this.#stagedKey(st, shard, obj[kp] as Term);
      sk.entries.push([obj, expiresAt, version]);
      st.entries++;
      st.bytes += entryBytes(obj);
      if (compareVersions(version, newest) > 0) newest = version;
    }
    this.#observe(newest);
    this.#host.counters.handoffEntriesReceived += items.length;
    return st.entries;
  }

  /** Stages a delta: each key's list replaces what was staged for it. */
  stageDelta(hid: string, epoch: number, items: readonly DeltaItem[]): number {
    const st = this.#stagedFor(hid, epoch);
    let newest: string | null = null;
    for (const [shard, key, entries] of items) {
      const sk = this.#stagedKey(st, shard, key);
      sk.entries = entries;
      sk.replace = true;
      st.entries += entries.length;
      for (const e of entries) {
        st.bytes += entryBytes(e[0]);
        if (compareVersions(e[2], newest) > 0) newest = e[2];
      }
    }
    this.#observe(newest);
    this.#host.counters.handoffEntriesReceived += items.length;
    return st.entries;
  }

  /** Counts staged for a handoff. */
  stagedCounts(hid: string): { entries: number; bytes: number; started: number } | undefined {
    const st = this.#staged.get(hid);
    return st === undefined ? undefined : { entries: st.entries, bytes: st.bytes, started: st.started };
  }

  /** Drops what was staged for an aborted handoff. */
  discardStaged(hid: string): void {
    this.#staged.delete(hid);
    this.#stagedSeqs.delete(hid);
  }

  #applyStaged(st: Staged, moved: ReadonlyMap<number, number> | undefined): number {
    const set = this.spec.type === 'set' || this.spec.type === 'ordered_set';
    let n = 0;
    // A partition moved whole (one source) replaces this node's copy.
    for (const p of moved?.keys() ?? []) {
      const t = this.shards.table(p);
      if (t.size > 0) t.deleteAllObjects();
    }
    for (const [shard, keys] of st.shards) {
      const t = this.shards.table(shard);
      if (moved?.has(shard) === true) {
        for (const sk of keys.values()) {
          n += sk.entries.length;
          t.delete(sk.key);
          for (const [obj, expiresAt, version] of sk.entries) t.insertEntry(obj, meta(expiresAt, version));
        }
        continue;
      }
      for (const sk of keys.values()) {
        n += sk.entries.length;
        if (set) {
          const incoming = sk.entries[sk.entries.length - 1];
          if (incoming === undefined) {
            t.delete(sk.key);
            continue;
          }
          const live = t.lookupEntries(sk.key)[0];
          // Last writer wins: keep a live copy only if it is strictly newer.
          if (live !== undefined && compareVersions(live.version, incoming[2]) > 0) continue;
          t.insertEntry(incoming[0], meta(incoming[1], incoming[2]));
          continue;
        }
        // Bags: the source's list for the key is complete (every value survives).
        t.delete(sk.key);
        for (const [obj, expiresAt, version] of sk.entries) t.insertEntry(obj, meta(expiresAt, version));
      }
    }
    return n;
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
    const handed = new Map<number, number>();
    for (const [hid, st] of [...this.#staged]) {
      if (next.handoffs.includes(hid)) {
        const moved = this.#stagedSeqs.get(hid);
        const n = this.#applyStaged(st, moved);
        for (const [p, seq] of moved ?? []) handed.set(p, seq);
        this.#staged.delete(hid);
        this.#stagedSeqs.delete(hid);
        this.#host.progress({
          handoff: hid,
          role: 'target',
          phase: 'applied',
          table: this.name,
          entries: n,
          bytes: st.bytes,
          durationMs: this.#host.clock.now() - st.started,
        });
      } else if (st.epoch <= next.epoch) {
        this.#staged.delete(hid);
        this.#stagedSeqs.delete(hid);
      }
    }
    // Partitions moved here with no object staged still replace this node's copy.
    for (const [hid, moved] of [...this.#stagedSeqs]) {
      if (!next.handoffs.includes(hid)) continue;
      for (const [p, seq] of moved) {
        const t = this.shards.table(p);
        if (t.size > 0) t.deleteAllObjects();
        handed.set(p, seq);
      }
      this.#stagedSeqs.delete(hid);
    }
    this.replicator?.onView(prev, next, this.spec.numPartitions, handed);
    const s = this.#source;
    if (!sameHosting(prev, next, this.name)) this.#dropUnowned(next);
    if (s !== undefined && (next.handoffs.includes(s.hid) || s.next.epoch <= next.epoch)) this.abortSource();
    if (this.#callbacks !== undefined) {
      const before = hostsOf(prev, this.name);
      const after = hostsOf(next, this.name);
      for (const n of after) if (!before.includes(n)) this.#callbacks.nodeAdded?.(n);
      for (const n of before) if (!after.includes(n)) this.#callbacks.nodeRemoved?.(n);
    }
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
    this.abortSource();
    this.#staged.clear();
    this.#stagedSeqs.clear();
    this.replicator?.reset();
    this.#routing = undefined;
    for (const t of this.shards.tables) if (t.size > 0) t.deleteAllObjects();
  }

  /** Stops sweep timers, drops cursors and releases held commands. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.abortSource();
    this.#staged.clear();
    this.#stagedSeqs.clear();
    this.replicator?.close();
    this.shards.close();
  }
}
