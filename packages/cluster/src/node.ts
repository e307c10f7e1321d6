/**
 * A cluster node: the member of a SuperCache cluster that an application
 * creates, one per process. It owns the lifecycle (start and join, graceful
 * leave, stop), the tables opened on it, and the view it holds; the rest is
 * done by its parts, each in its own file:
 *
 * - `membership.ts` — failure detector, serving lease, known peers;
 * - `heartbeat.ts` — heartbeats, split healing;
 * - `view-coordinator.ts` — the leader's view changes and every member's promises;
 * - `handoff-participant.ts` — a member's source and target side of a handoff;
 * - `peer-handlers.ts` — the peer methods and which part serves each;
 * - `health-report.ts` — the health report.
 */

import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { HybridLogicalClock } from '@supercache/replication';
import type { Transport } from '@supercache/router';
import { type Clock, SuperCacheError } from '@supercache/storage';
import {
  DistributedTable,
  type DistributedTableOptions,
  type RetryPolicy,
  type TableHost,
} from './distributed-table.js';
import {
  type ClusterEvents,
  type HandoffProgressEvent,
  handoffChannel,
  healthChannel,
  type ViewChangeEvent,
  viewChannel,
} from './events.js';
import { sleep } from './fields.js';
import { HandoffParticipant } from './handoff-participant.js';
import { type ClusterCounters, type HealthReport, newCounters } from './health.js';
import { buildHealthReport } from './health-report.js';
import { Heartbeat } from './heartbeat.js';
import { FailureDetector, PeerDirectory, ServingLease } from './membership.js';
import type { NodeContext } from './node-context.js';
import {
  type ClusterNodeOptions,
  type NodeSettings,
  type NodeStatus,
  resolveNodeOptions,
} from './node-options.js';
import { PeerHandlers } from './peer-handlers.js';
import type { ReplicationMode } from './replicator.js';
import { exponential, linear, retrying } from './retry.js';
import {
  assertView,
  type ClusterConfig,
  checkTableSpec,
  EMPTY_VIEW,
  hostsOf,
  normalizeView,
  type Placement,
  type TableSpec,
  type View,
} from './view.js';
import { ViewCoordinator } from './view-coordinator.js';
import { ViewGuard } from './view-guard.js';
import { isQuorum, type TableJoin, viewSig } from './view-ops.js';

export type { ClusterNodeOptions, NodeStatus, PeerInfo } from './node-options.js';

const log = debuglog('supercache');

const UNREACHABLE = new Set(['SC_ERR_PEER_UNAVAILABLE', 'SC_ERR_NOT_STARTED', 'SC_ERR_STOPPED']);

interface HostWaiter {
  readonly table: string;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

const REPLICATION_MODES: readonly string[] = ['async', 'sync', 'strong'];

/**
 * The `replicas` and `replicationMode` of a table's spec (both absent for
 * one copy).
 * @throws SuperCacheError `SC_ERR_BAD_ARG` naming the option.
 */
function tableReplicas(
  name: string,
  placement: Placement,
  options: DistributedTableOptions,
  keyPos: number,
  partitionPos: number,
): { replicas?: number; replicationMode?: ReplicationMode } {
  const replicas = options.replicas ?? 1;
  const mode = options.replicationMode ?? 'async';
  const bad = (option: string, why: string, value: unknown) =>
    new SuperCacheError('SC_ERR_BAD_ARG', `table ${name}: ${why}`, { details: { option, value } });
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 7) {
    throw bad('replicas', `replicas must be an integer from 1 to 7, got ${String(replicas)}`, replicas);
  }
  if (typeof mode !== 'string' || !REPLICATION_MODES.includes(mode)) {
    throw bad(
      'replicationMode',
      `replicationMode must be 'async', 'sync' or 'strong', got ${JSON.stringify(mode)}`,
      mode,
    );
  }
  if (options.replicas === undefined && options.replicationMode === undefined) return {};
  if (placement !== 'shards') {
    throw bad(
      options.replicas === undefined ? 'replicationMode' : 'replicas',
      "replicas and replicationMode are options of 'shards' tables; " +
        "a 'partitions' table takes the cluster's replicationFactor and replicationMode",
      options.replicas ?? options.replicationMode,
    );
  }
  if (replicas === 1) return {};
  if (options.hash !== undefined) {
    throw bad(
      'replicas',
      'replicas above 1 need the default rendezvous routing (no hash): a user hash ranks no copies',
      replicas,
    );
  }
  if (partitionPos !== keyPos) {
    throw bad('replicas', 'replicas above 1 need partitionPos === keyPos', replicas);
  }
  return { replicas, replicationMode: mode as ReplicationMode };
}

/**
 * One member of a SuperCache cluster.
 *
 * @example
 * ```ts
 * const net = new MemoryNetwork();
 * const a = new ClusterNode({ nodeId: 'a', transport: net.createTransport('a') });
 * const b = new ClusterNode({ nodeId: 'b', transport: net.createTransport('b'), peers: [{ id: 'a', address: 'a' }] });
 * const ta = a.table('users', { type: 'set' });
 * const tb = b.table('users', { type: 'set' });
 * await a.start();
 * await b.start(); // joins through a; a hands b its share of 'users'
 * await ta.router.insert(['u1', 'Alice']);
 * await tb.router.lookup('u1'); // [['u1', 'Alice']]
 * ```
 */
export class ClusterNode extends EventEmitter<ClusterEvents> implements TableHost {
  /** This node's id. */
  readonly nodeId: string;
  /** This node's advertised address. */
  readonly address: string;
  /** The transport (owned by the caller; started and stopped with the node). */
  readonly transport: Transport;
  /** The cluster-wide settings this node requires. */
  readonly config: ClusterConfig;
  /** The hybrid logical clock stamping writes this node owns. */
  readonly hlc: HybridLogicalClock;
  /** Wall clock. */
  readonly clock: Clock;
  /** Live counters (see {@link ClusterNode.stats} for a snapshot). */
  readonly counters: ClusterCounters = newCounters();
  /** Retry policy of routed operations. */
  readonly retry: RetryPolicy;
  /** Entries per handoff chunk. */
  readonly handoffChunkSize: number;
  /** See {@link ClusterNodeOptions.holdTimeoutMs}. */
  readonly holdTimeoutMs: number;
  /** See {@link ClusterNodeOptions.callTimeoutMs}. */
  readonly callTimeoutMs: number;
  /**
   * How long a routed operation keeps retrying an owner that does not answer
   * (or a lapsed quorum) past `retry.attempts`: the time the cluster needs to
   * replace a dead node, `failureTimeoutMs` plus two heartbeats.
   */
  readonly failoverMs: number;

  readonly #settings: NodeSettings;
  readonly #tables = new Map<string, DistributedTable>();
  readonly #syncing = new Map<string, Promise<void>>();
  readonly #tableJoins = new Map<string, Promise<void>>();
  readonly #hostWaiters: HostWaiter[] = [];
  readonly #detector: FailureDetector;
  readonly #lease: ServingLease;
  readonly #peers: PeerDirectory;
  readonly #ctx: NodeContext;
  readonly #heartbeat: Heartbeat;
  readonly #coordinator: ViewCoordinator;
  readonly #handlers: PeerHandlers;
  readonly #guard: ViewGuard;
  readonly #handoff: HandoffParticipant;
  #view: View = EMPTY_VIEW;
  /** Members removed from the view, with the epoch that removed them (for fencing their old requests). */
  readonly #removedAt = new Map<string, number>();
  #removals = 0;
  #status: NodeStatus = 'stopped';
  #starting: Promise<void> | undefined;
  #leaving: Promise<void> | undefined;
  #stopped = false;
  #timers: Array<ReturnType<typeof setInterval>> = [];

  /** @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an invalid option. */
  constructor(options: ClusterNodeOptions) {
    super();
    const s = resolveNodeOptions(options);
    this.#settings = s;
    this.nodeId = s.nodeId;
    this.address = s.address;
    this.transport = s.transport;
    this.config = s.config;
    this.clock = s.clock;
    this.hlc = s.hlc;
    this.retry = s.retry;
    this.callTimeoutMs = s.callTimeoutMs;
    this.failoverMs = s.failureTimeoutMs + 2 * s.heartbeatMs;
    this.handoffChunkSize = s.handoffChunkSize;
    this.holdTimeoutMs = s.holdTimeoutMs;
    this.#detector = new FailureDetector(s.nodeId, s.clock, s.failureTimeoutMs);
    this.#lease = new ServingLease(s.nodeId, s.clock, s.leaseMs);
    this.#peers = new PeerDirectory(s.nodeId, s.clock, s.peers);
    this.#ctx = this.#context();
    this.#guard = new ViewGuard(this.#ctx);
    this.#coordinator = new ViewCoordinator(this.#ctx);
    this.#heartbeat = new Heartbeat(this.#ctx, {
      changing: () => this.#coordinator.changing,
      suspect: (dead) => this.#coordinator.suspect(dead),
    });
    this.#handlers = new PeerHandlers(this.#ctx, this.transport, {
      heartbeat: this.#heartbeat,
      coordinator: this.#coordinator,
      handoff: (this.#handoff = new HandoffParticipant(this.#ctx)),
    });
  }

  #context(): NodeContext {
    const node = this;
    return {
      settings: this.#settings,
      nodeId: this.nodeId,
      counters: this.counters,
      detector: this.#detector,
      lease: this.#lease,
      peers: this.#peers,
      tables: this.#tables,
      get view() {
        return node.#view;
      },
      get status() {
        return node.#status;
      },
      get stopped() {
        return node.#stopped;
      },
      get leader() {
        return node.leader;
      },
      setStatus: (status) => {
        this.#status = status;
      },
      adoptView: (v) => this.adoptView(v),
      adoptFrom: (v, from) => this.#adoptFrom(v, from),
      get guard() {
        return node.#guard;
      },
      resetForMerge: () => this.#resetForMerge(),
      join: () => this.#join(),
      syncView: (from, epoch) => this.syncView(from, epoch),
      callNode: (peer, method, body, timeoutMs) => this.callNode(peer, method, body, timeoutMs),
      progress: (e) => this.progress(e),
      localTableJoins: () => this.#localTableJoins(),
      swallowed: (where, error) => this.#swallowed(where, error),
    };
  }

  // ---------------------------------------------------------------------------
  // State

  /** The view this node holds (epoch 0 and no members before it joins). */
  get view(): View {
    return this.#view;
  }

  /** Lifecycle state. */
  get status(): NodeStatus {
    return this.#status;
  }

  /** True between a successful `start()` and `stop()` (also while leaving). */
  get started(): boolean {
    return this.#status === 'running' || this.#status === 'leaving' || this.#status === 'joining';
  }

  /** The leader as this node sees it: the smallest member it believes alive. */
  get leader(): string | undefined {
    for (const m of this.#view.members) if (this.#detector.alive(m)) return m;
    return undefined;
  }

  /**
   * True while this node may serve reads and writes: it is a member of its
   * view and a quorum of that view answered a heartbeat sent within the
   * lease (see {@link ClusterNodeOptions.leaseMs}).
   */
  get leaseHeld(): boolean {
    return this.#lease.holds(this.#view);
  }

  /** @internal See {@link TableHost.removals}. */
  get removals(): number {
    return this.#removals;
  }

  /** @internal See {@link TableHost.assertNotFenced}. */
  assertNotFenced(from: string, epoch: number): void {
    const removed = this.#removedAt.get(from);
    if (removed === undefined || epoch >= removed) return;
    this.counters.fencedRequests++;
    throw new SuperCacheError(
      'SC_ERR_STALE_EPOCH',
      `node ${from} was removed at epoch ${removed}; its request made at epoch ${epoch} is refused`,
      { retryable: true, details: { view: this.#view } },
    );
  }

  /** @internal See {@link TableHost.assertServing}. */
  assertServing(table: string): void {
    if (this.#lease.holds(this.#view)) return;
    this.counters.leaseRefusals++;
    throw new SuperCacheError(
      'SC_ERR_NO_QUORUM',
      `node ${this.nodeId} has not heard from a quorum of its view (epoch ${this.#view.epoch}) ` +
        `within its lease, so it does not serve table ${table}`,
      { retryable: true, details: { node: this.nodeId, epoch: this.#view.epoch } },
    );
  }

  /** A snapshot of the counters. */
  stats(): ClusterCounters {
    return { ...this.counters };
  }

  /** The distributed table of that name opened on this node, if any. */
  getTable(name: string): DistributedTable | undefined {
    return this.#tables.get(name);
  }

  /** @internal See {@link TableHost.swallowed}. */
  swallowed(where: string, error: unknown): void {
    this.#swallowed(where, error);
  }

  #swallowed(where: string, error: unknown): void {
    this.counters.swallowedErrors++;
    log('node %s: %s failed: %s', this.nodeId, where, error instanceof Error ? error.message : String(error));
  }

  // ---------------------------------------------------------------------------
  // Tables

  /**
   * Opens (or returns) a distributed table on this node. If the node is
   * running, it asks the leader to make it a host (other hosts hand it its
   * share); `await table.ready()` to wait for that. Until then the table
   * works as a client of the hosts.
   *
   * @throws SuperCacheError `SC_ERR_CONFIG_MISMATCH` when the cluster already
   *   has the table with another shape; `SC_ERR_NAME_TAKEN` when this node
   *   opened it with another shape; `SC_ERR_BAD_ARG` on invalid options.
   */
  table(name: string, options: DistributedTableOptions = {}): DistributedTable {
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        'table name must be a non-empty string of at most 256 characters',
      );
    }
    if (this.#stopped) throw new SuperCacheError('SC_ERR_STOPPED', `node ${this.nodeId} is stopped`);
    const placement = options.placement ?? 'partitions';
    if (placement !== 'partitions' && placement !== 'shards') {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `placement must be 'partitions' or 'shards', got ${String(placement)}`,
      );
    }
    const keyPos = options.keyPos ?? this.config.keyPos;
    const partitionPos =
      options.partitionPos ?? (options.keyPos === undefined ? this.config.partitionPos : keyPos);
    const replicas = tableReplicas(name, placement, options, keyPos, partitionPos);
    const spec: TableSpec = {
      type: options.type ?? this.config.tableType,
      keyPos,
      partitionPos,
      placement,
      numPartitions: placement === 'partitions' ? (options.numPartitions ?? this.config.numPartition) : 0,
      ...replicas,
    };
    if (placement === 'partitions' && (!Number.isInteger(spec.numPartitions) || spec.numPartitions < 1)) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONFIG',
        `numPartitions must be a positive integer, got ${String(spec.numPartitions)}`,
      );
    }
    const localShards = placement === 'shards' ? (options.localShards ?? 1) : spec.numPartitions;
    if (
      placement === 'shards' &&
      (!Number.isInteger(localShards) || localShards < 1 || localShards > 65_536)
    ) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `localShards must be an integer from 1 to 65536, got ${localShards}`,
      );
    }
    const existing = this.#tables.get(name);
    if (existing !== undefined) {
      try {
        checkTableSpec(name, spec, existing.spec, this.nodeId);
      } catch {
        throw new SuperCacheError('SC_ERR_NAME_TAKEN', `table ${name} is already open with another shape`);
      }
      return existing;
    }
    const clusterSpec = this.#view.tables[name];
    if (clusterSpec !== undefined) checkTableSpec(name, spec, clusterSpec, this.nodeId);
    const table = new DistributedTable(this, name, spec, options, localShards);
    this.#tables.set(name, table);
    // Routed calls work as a client of the hosts until this node hosts the table.
    if (this.#status === 'running') this.#ensureTableJoin(table);
    return table;
  }

  /** @internal See {@link TableHost.tableReady}. */
  tableReady(table: DistributedTable): Promise<void> {
    if (hostsOf(this.#view, table.name).includes(this.nodeId)) return Promise.resolve();
    if (this.#stopped)
      return Promise.reject(new SuperCacheError('SC_ERR_STOPPED', `node ${this.nodeId} is stopped`));
    return new Promise<void>((resolve, reject) => {
      this.#hostWaiters.push({ table: table.name, resolve, reject });
      if (this.#status === 'running') this.#ensureTableJoin(table);
    });
  }

  /** Asks the leader (once at a time per table) to make this node a host of `table`. */
  #ensureTableJoin(table: DistributedTable): void {
    if (this.#tableJoins.has(table.name)) return;
    const p = this.#requestTableJoin(table)
      .then(
        () => {},
        (e: unknown) => {
          for (let i = this.#hostWaiters.length - 1; i >= 0; i--) {
            const w = this.#hostWaiters[i] as HostWaiter;
            if (w.table === table.name) {
              this.#hostWaiters.splice(i, 1);
              w.reject(e);
            }
          }
        },
      )
      .finally(() => this.#tableJoins.delete(table.name));
    this.#tableJoins.set(table.name, p);
  }

  #requestTableJoin(table: DistributedTable): Promise<void> {
    const body = { id: this.nodeId, table: table.name, spec: table.spec, shards: table.localShards };
    return retrying(
      linear(this.#settings.joinAttempts, this.retry.maxMs),
      async () => {
        try {
          await this.#toLeader('sc.tableJoin', body);
          if (hostsOf(this.#view, table.name).includes(this.nodeId)) return { done: true, value: undefined };
          return { done: false };
        } catch (e) {
          if (SuperCacheError.is(e) && e.code === 'SC_ERR_CONFIG_MISMATCH') throw e;
          return { done: false, error: e };
        }
      },
      (last) =>
        last ??
        new SuperCacheError('SC_ERR_HANDOFF', `table ${table.name} could not join`, { retryable: true }),
    );
  }

  #localTableJoins(): Record<string, TableJoin> {
    const out: Record<string, TableJoin> = {};
    for (const [name, t] of this.#tables) out[name] = { spec: t.spec, shards: t.localShards };
    return out;
  }

  // ---------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts the transport and joins the cluster through any reachable peer
   * (the request is forwarded to the leader, which hands this node its share
   * of every table it hosts). With no reachable peer, forms a one-node
   * cluster. Idempotent.
   *
   * @throws SuperCacheError `SC_ERR_CONFIG_MISMATCH` when the cluster runs
   *   with another value of one of the six config fields (the message names
   *   it and both values); `SC_ERR_HANDOFF` when peers answer but the join
   *   keeps failing; `SC_ERR_STOPPED` after `stop()`.
   */
  start(): Promise<void> {
    if (this.#stopped)
      return Promise.reject(new SuperCacheError('SC_ERR_STOPPED', `node ${this.nodeId} was stopped`));
    if (this.#starting !== undefined) return this.#starting;
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#status = 'joining';
    try {
      await this.transport.start();
      await this.#refreshPeers();
      await this.#join();
    } catch (e) {
      this.#status = 'stopped';
      this.#stopped = true;
      for (const w of this.#hostWaiters.splice(0)) w.reject(e);
      await this.transport.stop().catch(() => {});
      for (const t of this.#tables.values()) t.close();
      throw e;
    }
    this.#status = 'running';
    this.#startTimers();
    // Tables opened while joining but not in the join request.
    for (const t of this.#tables.values()) {
      if (!hostsOf(this.#view, t.name).includes(this.nodeId)) this.#ensureTableJoin(t);
    }
  }

  async #refreshPeers(): Promise<void> {
    for (const p of this.#peers.staticPeers) this.transport.setPeerAddress(p.id, p.address);
    const discover = this.#settings.discover;
    if (discover === undefined) return;
    try {
      const found = await discover();
      for (const p of found) {
        if (p.id === this.nodeId) continue;
        this.#peers.discovered(p.id, p.address);
        this.transport.setPeerAddress(p.id, p.address);
      }
    } catch (e) {
      // discovery is best effort; static peers and the view still work
      this.#swallowed('peer discovery', e);
    }
  }

  async #join(): Promise<void> {
    const body = {
      id: this.nodeId,
      address: this.address,
      config: this.config,
      tables: this.#localTableJoins(),
    };
    const joined = await retrying<boolean>(
      exponential(this.#settings.joinAttempts, 50, 2000),
      async () => {
        let reachable = false;
        let last: unknown;
        for (const p of this.#peers.candidates(this.#view)) {
          try {
            const v = assertView(
              await this.transport.call(p.id, 'sc.join', body, {
                timeoutMs: this.#settings.handoffTimeoutMs,
                alone: true,
              }),
            );
            this.adoptView(v);
            if (v.members.includes(this.nodeId)) return { done: true, value: true };
          } catch (e) {
            // Neither a config mismatch nor a refused secret gets better by retrying.
            if (
              SuperCacheError.is(e) &&
              (e.code === 'SC_ERR_CONFIG_MISMATCH' || e.code === 'SC_ERR_UNAUTHORIZED')
            )
              throw e;
            if (!(SuperCacheError.is(e) && UNREACHABLE.has(e.code))) reachable = true;
            last = e;
          }
        }
        // Nobody answers: this node forms the cluster.
        if (!reachable) return { done: true, value: false };
        return { done: false, error: last };
      },
      (last) => joinFailure(this.nodeId, last),
    );
    if (!joined) this.#form();
  }

  /** Forms a one-node cluster. */
  #form(): void {
    const shards: Record<string, Record<string, number>> = {};
    const tables: Record<string, TableSpec> = {};
    for (const [name, j] of Object.entries(this.#localTableJoins())) {
      shards[name] = { [this.nodeId]: j.shards };
      tables[name] = j.spec;
    }
    this.adoptView({
      cluster: `${this.nodeId}-${this.clock.now().toString(36)}-${Math.floor(Math.random() * 0xffffffff).toString(36)}`,
      epoch: this.#view.epoch + 1,
      members: [this.nodeId],
      addresses: { [this.nodeId]: this.address },
      shards,
      tables,
      handoffs: [],
    });
  }

  #startTimers(): void {
    const s = this.#settings;
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref?.();
      this.#timers.push(t);
    };
    every(s.heartbeatMs, () => this.#heartbeat.tick());
    every(Math.max(1000, Math.floor(s.cursorIdleMs / 2)), () => {
      for (const t of this.#tables.values()) t.shards.reapCursors(s.cursorIdleMs);
      this.#handoff.sweep();
    });
    if (s.discover !== undefined && s.refreshMs > 0) {
      every(s.refreshMs, () => {
        void this.#refreshPeers();
      });
    }
    if (s.healthIntervalMs > 0) every(s.healthIntervalMs, () => this.health());
    if (this.config.replicationFactor > 1) {
      // Primaries ask their backups where they stand: a backup that missed
      // records (or came back empty) is caught up even when nothing is written.
      every(Math.max(100, s.heartbeatMs * 2), () => {
        if (this.#status !== 'running' || !this.#lease.holds(this.#view)) return;
        for (const t of this.#tables.values()) {
          t.replicator?.probe();
          // Anti-entropy: one partition's copies compared per tick.
          void t.replicator?.checkDigests();
        }
      });
    }
  }

  /**
   * Leaves gracefully: the leader moves everything this node owns to the
   * new owners (no read misses, no lost acknowledged writes), commits a view
   * without it, and then this node stops (also when the handoff fails).
   * Idempotent.
   * @throws SuperCacheError `SC_ERR_HANDOFF` (retryable) when the leader
   *   could not complete the handoff; the node is stopped anyway and what it
   *   owned is then lost as in a crash.
   */
  leave(): Promise<void> {
    if (this.#leaving === undefined) this.#leaving = this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    if (this.#stopped) return;
    if (this.#starting !== undefined) await this.#starting.catch(() => {});
    // Joining again (after a split) or never started: nothing to hand off.
    if (this.#status !== 'running') {
      await this.stop();
      return;
    }
    this.#status = 'leaving';
    try {
      if (this.#view.members.some((m) => m !== this.nodeId)) {
        await retrying(
          linear(this.#settings.joinAttempts, this.retry.maxMs),
          async () => {
            try {
              await this.#toLeader('sc.leave', { id: this.nodeId });
              return this.#view.members.includes(this.nodeId)
                ? { done: false }
                : { done: true, value: undefined };
            } catch (e) {
              return { done: false, error: e };
            }
          },
          (last) =>
            last ??
            new SuperCacheError('SC_ERR_HANDOFF', `node ${this.nodeId} could not leave`, { retryable: true }),
        );
        await this.#drain();
      }
    } finally {
      await this.stop();
    }
  }

  /** Waits (bounded) for handlers still running to answer. */
  async #drain(): Promise<void> {
    const deadline = this.clock.now() + this.callTimeoutMs;
    while (this.#handlers.inflight > 0 && this.clock.now() < deadline) await sleep(5);
  }

  /**
   * Stops at once: no handoff (what this node owned is lost to the cluster
   * until the leader notices and moves ownership). Closes the transport and
   * every table. Idempotent; a stopped node cannot start again.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#status = 'stopped';
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const w of this.#hostWaiters.splice(0)) {
      w.reject(new SuperCacheError('SC_ERR_STOPPED', `node ${this.nodeId} stopped`));
    }
    for (const t of this.#tables.values()) t.close();
    await this.transport.stop();
  }

  // ---------------------------------------------------------------------------
  // Views

  /**
   * Adopts a view if it is newer than this node's: applies staged handoff
   * data, drops data no longer owned, ends finished handoffs, emits events.
   * @returns true when adopted.
   */
  adoptView(view: View): boolean {
    if (this.#stopped || view.epoch <= this.#view.epoch) return false;
    // A view of another cluster is only taken by a node that has none (joining).
    if (this.#view.cluster !== '' && view.cluster !== this.#view.cluster) return false;
    if (this.#coordinator.refuses(view)) return false;
    const prev = this.#view;
    const next = Object.freeze(normalizeView(view));
    if (prev.members.includes(this.nodeId) && !next.members.includes(this.nodeId)) this.#removals++;
    this.#view = next;
    // A view committed by the leader with this node in it vouches for this
    // node now: the leader heard from a quorum to commit it.
    this.#lease.reset(next.epoch);
    if (next.members.includes(this.nodeId)) this.#lease.grant(next.members);
    for (const m of next.members) {
      if (m === this.nodeId) continue;
      this.transport.setPeerAddress(m, next.addresses[m] ?? m);
      if (!prev.members.includes(m)) this.#detector.heard(m);
    }
    for (const t of this.#tables.values()) {
      try {
        t.onViewChange(prev, next);
      } catch (e) {
        // a table that fails to apply a view keeps serving what it has
        this.#swallowed(`table ${t.name} applying view ${next.epoch}`, e);
      }
    }
    const added = next.members.filter((m) => !prev.members.includes(m));
    const removed = prev.members.filter((m) => !next.members.includes(m));
    const formerMs = Math.max(60_000, 20 * this.#settings.failureTimeoutMs);
    for (const m of removed) {
      this.#detector.forget(m);
      this.#peers.remember(m, prev.addresses[m] ?? m, formerMs);
      this.#removedAt.set(m, next.epoch);
    }
    // Kept after a rejoin too: a request a node made before its removal can
    // arrive late (a retransmission after a split heals), when it is a
    // member again under a newer epoch.
    for (const m of next.members) this.#peers.unforget(m);
    const event: ViewChangeEvent = { node: this.nodeId, view: next, previous: prev, added, removed };
    this.#safeEmit(() => {
      for (const m of added) this.emit('nodeUp', m, next);
      for (const m of removed) this.emit('nodeDown', m, next);
      this.emit('viewChange', event);
    });
    if (viewChannel.hasSubscribers) viewChannel.publish(event);
    for (let i = this.#hostWaiters.length - 1; i >= 0; i--) {
      const w = this.#hostWaiters[i] as HostWaiter;
      if (hostsOf(next, w.table).includes(this.nodeId)) {
        this.#hostWaiters.splice(i, 1);
        w.resolve();
      }
    }
    if (
      this.#status === 'running' &&
      prev.members.includes(this.nodeId) &&
      !next.members.includes(this.nodeId)
    ) {
      // Declared dead while alive: whatever it held was given up; join again, empty.
      void this.#rejoin();
    }
    return true;
  }

  async #rejoin(): Promise<void> {
    this.#status = 'joining';
    try {
      await this.#join();
    } catch (e) {
      this.#swallowed('rejoin after removal', e);
    } finally {
      if (!this.#stopped) this.#status = 'running';
    }
  }

  /** Drops the view and every object before joining a stronger cluster (writes on the weaker side are lost). */
  #resetForMerge(): void {
    const prev = this.#view;
    this.#removals++;
    for (const t of this.#tables.values()) t.reset();
    for (const m of prev.members) {
      if (m !== this.nodeId) this.#peers.remember(m, prev.addresses[m] ?? m, 60_000);
    }
    this.#view = EMPTY_VIEW;
    this.#lease.reset(0);
    this.#detector.clear();
  }

  #safeEmit(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // a throwing listener must not break the cluster protocol
      this.#swallowed('event listener', e);
    }
  }

  /**
   * Adopts a newer view of this node's cluster that `from` sent, if the
   * guard's rules allow it (see `view-guard.ts`).
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when they do not; the view is unchanged.
   */
  #adoptFrom(view: View, from: string): boolean {
    const cur = this.#view;
    if (this.#stopped || view.epoch <= cur.epoch) return false;
    if (cur.cluster !== '' && view.cluster !== cur.cluster) return false;
    this.#guard.check(view, from);
    return this.adoptView(view);
  }

  /** @internal See {@link TableHost.offerView}. */
  offerView(view: View): boolean {
    const cur = this.#view;
    if (this.#stopped || view.epoch <= cur.epoch) return false;
    if (cur.cluster === '') return this.adoptView(view);
    const leader = this.leader;
    if (leader !== undefined && leader !== this.nodeId) void this.syncView(leader, view.epoch);
    return false;
  }

  /**
   * @internal See {@link TableHost.syncView}. The view pulled is adopted
   * when the guard allows it from `from`; otherwise only when a quorum of
   * this node's view holds it (asked one by one): a node the others removed
   * during a split, or one that missed the election of a new leader, learns
   * the view that way, and no single member can make it adopt another.
   */
  syncView(from: string, epoch: number): Promise<void> {
    if (epoch <= this.#view.epoch || from === this.nodeId) return Promise.resolve();
    const pending = this.#syncing.get(from);
    if (pending !== undefined) return pending;
    const p = this.#pullView(from)
      .then(async (v) => {
        try {
          this.#adoptFrom(v, from);
        } catch (e) {
          if (!(SuperCacheError.is(e) && e.code === 'SC_ERR_FORBIDDEN')) throw e;
          if (!(await this.#quorumHolds(v, from))) throw e;
          this.adoptView(v);
        }
      })
      .catch((e: unknown) => this.#swallowed(`view sync from ${from}`, e))
      .finally(() => this.#syncing.delete(from));
    this.#syncing.set(from, p);
    return p;
  }

  async #pullView(from: string): Promise<View> {
    return assertView(
      await this.transport.call(from, 'sc.view', {}, { timeoutMs: this.callTimeoutMs, idempotent: true }),
    );
  }

  /** True when a quorum of this node's view (`from` and the other members, asked) holds exactly `view`. */
  async #quorumHolds(view: View, from: string): Promise<boolean> {
    const cur = this.#view;
    if (view.cluster !== cur.cluster) return false;
    const sig = viewSig(view);
    const others = cur.members.filter((m) => m !== this.nodeId && m !== from);
    const answers = await Promise.allSettled(others.map((m) => this.#pullView(m)));
    const voters = [from];
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && a.value.cluster === view.cluster && viewSig(a.value) === sig)
        voters.push(others[i] as string);
    });
    return this.#view === cur && isQuorum(cur.members, voters);
  }

  /** @internal See {@link TableHost.callNode}. */
  async callNode<T = unknown>(peer: string, method: string, body: unknown, timeoutMs?: number): Promise<T> {
    if (peer === this.nodeId) return this.#handlers.local<T>(method, body);
    // Control-plane calls travel alone: never behind data calls held for a handoff.
    return this.transport.call<T>(peer, method, body, {
      timeoutMs: timeoutMs ?? this.callTimeoutMs,
      alone: true,
    });
  }

  /** @internal See {@link TableHost.progress}. */
  progress(event: Omit<HandoffProgressEvent, 'node'>): void {
    const e: HandoffProgressEvent = { node: this.nodeId, ...event };
    this.#safeEmit(() => this.emit('handoffProgress', e));
    if (handoffChannel.hasSubscribers) handoffChannel.publish(e);
  }

  /** Sends a membership request to the leader (or runs it here when this node leads). */
  async #toLeader(method: string, body: Record<string, unknown>): Promise<unknown> {
    const leader = this.leader;
    if (leader === undefined) {
      throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} has no view yet`, {
        retryable: true,
      });
    }
    return this.callNode(leader, method, { ...body, hops: 0 }, this.#settings.handoffTimeoutMs);
  }

  // ---------------------------------------------------------------------------
  // Health

  /**
   * A health report: members with heartbeat RTT and liveness, epoch, leader,
   * partition balance per table, operation success rate and handoff stats.
   * Also published on `supercache:health:check` and emitted as `health`.
   */
  health(): HealthReport {
    const report = buildHealthReport(this.#ctx, this.#coordinator.changing);
    this.#safeEmit(() => this.emit('health', report));
    if (healthChannel.hasSubscribers) healthChannel.publish(report);
    return report;
  }
}

function joinFailure(nodeId: string, last: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_HANDOFF', `node ${nodeId} could not join the cluster`, {
    retryable: true,
    cause: last,
  });
}
