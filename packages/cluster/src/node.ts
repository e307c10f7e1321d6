/**
 * A cluster node: membership (join, graceful leave, crash detection by
 * heartbeats), the view and its epoch, the leader that serialises view
 * changes and drives handoffs, the peer handlers of the cluster protocol,
 * and health. One per process.
 *
 * The leader is the smallest member id this node believes alive. Every view
 * change goes through it, one at a time: a join or a graceful leave moves
 * data first (see `docs/guides/distributed.md`), a crash does not (with
 * `replicationFactor` 1 what the dead node owned is gone).
 */

import { EventEmitter } from 'node:events';
import { HybridLogicalClock } from '@supercache/replication';
import type { CallContext, Transport } from '@supercache/router';
import { type Clock, SuperCacheError, type Term } from '@supercache/storage';
import {
  type ChunkItem,
  type DeltaItem,
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
import {
  type ClusterCounters,
  type HealthReport,
  type MemberHealth,
  meanStdDev,
  newCounters,
  type TableBalance,
} from './health.js';
import {
  assertView,
  type ClusterConfig,
  checkConfig,
  checkTableSpec,
  DEFAULT_CONFIG,
  EMPTY_VIEW,
  hostsOf,
  MAX_HANDOFF_HISTORY,
  normalizeView,
  sameHosting,
  type TableSpec,
  type View,
} from './view.js';

/** A peer to contact: its node id and its address (a URL for HTTP). */
export interface PeerInfo {
  readonly id: string;
  readonly address: string;
}

/** Options of {@link ClusterNode}. */
export interface ClusterNodeOptions {
  /** This node's id; unique in the cluster. Ids order leadership (smallest live id leads). */
  nodeId: string;
  /** How this node reaches its peers (and they reach it). */
  transport: Transport;
  /** The address peers use to reach this node. @defaultValue the node id */
  address?: string;
  /** Static peers (SuperCache `cluster_peers` / NodeMonitor `nodes`). @defaultValue [] */
  peers?: readonly PeerInfo[];
  /** Dynamic peers (NodeMonitor `nodes_mfa`): called on start and every `refreshMs`. */
  discover?: () => Promise<readonly PeerInfo[]>;
  /** Interval of `discover` refreshes in ms; `0` = only on start. @defaultValue 5000 */
  refreshMs?: number;
  /** Interval of heartbeats to every member, in ms. @defaultValue 500 */
  heartbeatMs?: number;
  /**
   * Silence in ms after which the leader declares a member dead and commits
   * a view without it (no handoff). @defaultValue 3000
   */
  failureTimeoutMs?: number;
  /** The six settings every member must share; a joiner that differs is refused. */
  config?: Partial<ClusterConfig>;
  /** Wall clock for failure detection, TTL and the HLC. @defaultValue `{ now: Date.now }` */
  clock?: Clock;
  /** The hybrid logical clock that versions writes. @defaultValue one over `clock` */
  hlc?: HybridLogicalClock;
  /** Retry policy of routed operations. @defaultValue `{ attempts: 8, baseMs: 5, maxMs: 200 }` */
  retry?: Partial<RetryPolicy>;
  /** Timeout of routed peer calls and handoff chunks, in ms. @defaultValue 5000 */
  callTimeoutMs?: number;
  /** Timeout of a whole view change (join, leave, handoff prepare), in ms. @defaultValue 120000 */
  handoffTimeoutMs?: number;
  /** Entries per handoff chunk. @defaultValue 2000 */
  handoffChunkSize?: number;
  /**
   * Most ms a command waits while its data is held for a handoff switch
   * before failing with `SC_ERR_HANDOFF` (retryable); a source whose hold
   * lasts twice as long aborts its handoff. @defaultValue 5000
   */
  holdTimeoutMs?: number;
  /** Join attempts over all peers before `start()` fails. @defaultValue 5 */
  joinAttempts?: number;
  /** Idle ms after which a server-side cursor is closed. @defaultValue 60000 */
  cursorIdleMs?: number;
  /** Interval of periodic health reports on `supercache:health:check`; `0` = only on demand. @defaultValue 0 */
  healthIntervalMs?: number;
}

/** Lifecycle states of a node. */
export type NodeStatus = 'stopped' | 'joining' | 'running' | 'leaving';

type Body = Record<string, unknown>;
type Handler = (body: Body, from: string) => unknown;

const UNREACHABLE = new Set(['SC_ERR_PEER_UNAVAILABLE', 'SC_ERR_NOT_STARTED', 'SC_ERR_STOPPED']);

function isRecord(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function str(body: Body, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be a non-empty string`);
  }
  return v;
}

function int(body: Body, field: string): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be a non-negative integer`);
  }
  return v;
}

function list<T>(body: Body, field: string): T[] {
  const v = body[field];
  if (!Array.isArray(v)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be an array`);
  return v as T[];
}

function intList(body: Body, field: string): number[] {
  const v = list<unknown>(body, field);
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must list non-negative integers`);
    }
  }
  return v as number[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function badConfig(message: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_CONFIG', message);
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw badConfig(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function nonNegative(v: number, name: string): number {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
    throw badConfig(`${name} must be a non-negative number, got ${String(v)}`);
  }
  return v;
}

interface HostWaiter {
  readonly table: string;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** What a node registers for a table it hosts: its spec and local shard count. */
interface TableJoin {
  readonly spec: TableSpec;
  readonly shards: number;
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

  readonly #peers: readonly PeerInfo[];
  readonly #discover: (() => Promise<readonly PeerInfo[]>) | undefined;
  readonly #refreshMs: number;
  readonly #heartbeatMs: number;
  readonly #failureTimeoutMs: number;
  readonly #handoffTimeoutMs: number;
  readonly #joinAttempts: number;
  readonly #cursorIdleMs: number;
  readonly #healthIntervalMs: number;
  readonly #handlers = new Map<string, Handler>();
  readonly #tables = new Map<string, DistributedTable>();
  readonly #lastSeen = new Map<string, number>();
  readonly #rtt = new Map<string, { last: number; avg: number }>();
  readonly #syncing = new Map<string, Promise<void>>();
  readonly #tableJoins = new Map<string, Promise<void>>();
  readonly #hostWaiters: HostWaiter[] = [];
  readonly #discovered = new Map<string, string>();
  /** Members removed from the view, still pinged for a while so a split heals. */
  readonly #former = new Map<string, { address: string; until: number }>();
  #beats = 0;
  /** A promise not to adopt another view at that epoch (failure-driven view changes). */
  #promised: { epoch: number; sig: string; until: number } | undefined;
  #view: View = EMPTY_VIEW;
  #status: NodeStatus = 'stopped';
  #starting: Promise<void> | undefined;
  #leaving: Promise<void> | undefined;
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();
  #changing = false;
  #inflight = 0;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #heartbeatBusy = false;

  /** @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an invalid option. */
  constructor(options: ClusterNodeOptions) {
    super();
    if (typeof options.nodeId !== 'string' || options.nodeId.length === 0) {
      throw badConfig('nodeId must be a non-empty string');
    }
    if (options.transport.nodeId !== options.nodeId) {
      throw badConfig(`transport is for node ${options.transport.nodeId}, not ${options.nodeId}`);
    }
    this.nodeId = options.nodeId;
    this.address = options.address ?? options.nodeId;
    this.transport = options.transport;
    const config = { ...DEFAULT_CONFIG, ...options.config };
    positiveInt(config.numPartition, 'config.numPartition');
    positiveInt(config.replicationFactor, 'config.replicationFactor');
    if (!Number.isInteger(config.keyPos) || config.keyPos < 0) throw badConfig('config.keyPos must be >= 0');
    if (!Number.isInteger(config.partitionPos) || config.partitionPos < 0) {
      throw badConfig('config.partitionPos must be >= 0');
    }
    if (!['set', 'ordered_set', 'bag', 'duplicate_bag'].includes(config.tableType)) {
      throw badConfig(
        `config.tableType must be set | ordered_set | bag | duplicate_bag, got ${config.tableType}`,
      );
    }
    if (!['async', 'sync', 'strong'].includes(config.replicationMode)) {
      throw badConfig(`config.replicationMode must be async | sync | strong, got ${config.replicationMode}`);
    }
    this.config = Object.freeze(config);
    this.clock = options.clock ?? { now: Date.now };
    this.hlc = options.hlc ?? new HybridLogicalClock({ nodeId: this.nodeId, clock: this.clock });
    this.retry = Object.freeze({ attempts: 8, baseMs: 5, maxMs: 200, ...options.retry });
    positiveInt(this.retry.attempts, 'retry.attempts');
    this.#peers = options.peers ?? [];
    this.#discover = options.discover;
    this.#refreshMs = nonNegative(options.refreshMs ?? 5000, 'refreshMs');
    this.#heartbeatMs = positiveInt(options.heartbeatMs ?? 500, 'heartbeatMs');
    this.#failureTimeoutMs = positiveInt(options.failureTimeoutMs ?? 3000, 'failureTimeoutMs');
    this.callTimeoutMs = positiveInt(options.callTimeoutMs ?? 5000, 'callTimeoutMs');
    this.#handoffTimeoutMs = positiveInt(options.handoffTimeoutMs ?? 120_000, 'handoffTimeoutMs');
    this.handoffChunkSize = positiveInt(options.handoffChunkSize ?? 2000, 'handoffChunkSize');
    this.holdTimeoutMs = positiveInt(options.holdTimeoutMs ?? 5000, 'holdTimeoutMs');
    this.#joinAttempts = positiveInt(options.joinAttempts ?? 5, 'joinAttempts');
    this.#cursorIdleMs = positiveInt(options.cursorIdleMs ?? 60_000, 'cursorIdleMs');
    this.#healthIntervalMs = nonNegative(options.healthIntervalMs ?? 0, 'healthIntervalMs');
    this.#registerHandlers();
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
    for (const m of this.#view.members) if (this.#alive(m)) return m;
    return undefined;
  }

  #alive(m: string): boolean {
    if (m === this.nodeId) return true;
    const seen = this.#lastSeen.get(m);
    return seen !== undefined && this.clock.now() - seen <= this.#failureTimeoutMs;
  }

  /** A snapshot of the counters. */
  stats(): ClusterCounters {
    return { ...this.counters };
  }

  /** The distributed table of that name opened on this node, if any. */
  getTable(name: string): DistributedTable | undefined {
    return this.#tables.get(name);
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
    const spec: TableSpec = {
      type: options.type ?? this.config.tableType,
      keyPos,
      partitionPos,
      placement,
      numPartitions: placement === 'partitions' ? (options.numPartitions ?? this.config.numPartition) : 0,
    };
    if (placement === 'partitions') positiveInt(spec.numPartitions, 'numPartitions');
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

  async #requestTableJoin(table: DistributedTable): Promise<void> {
    const body = { id: this.nodeId, table: table.name, spec: table.spec, shards: table.localShards };
    let last: unknown;
    for (let i = 0; i < this.#joinAttempts; i++) {
      try {
        await this.#toLeader('sc.tableJoin', body);
        if (hostsOf(this.#view, table.name).includes(this.nodeId)) return;
      } catch (e) {
        last = e;
        if (SuperCacheError.is(e) && e.code === 'SC_ERR_CONFIG_MISMATCH') throw e;
      }
      await sleep(this.retry.maxMs * (i + 1));
    }
    throw (
      last ?? new SuperCacheError('SC_ERR_HANDOFF', `table ${table.name} could not join`, { retryable: true })
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

  #peerCandidates(): PeerInfo[] {
    const out = new Map<string, string>();
    for (const p of this.#peers) out.set(p.id, p.address);
    for (const [id, addr] of this.#discovered) out.set(id, addr);
    for (const m of this.#view.members) out.set(m, this.#view.addresses[m] ?? m);
    for (const [id, f] of this.#former) if (!out.has(id)) out.set(id, f.address);
    out.delete(this.nodeId);
    return [...out].map(([id, address]) => ({ id, address }));
  }

  async #refreshPeers(): Promise<void> {
    for (const p of this.#peers) this.transport.setPeerAddress(p.id, p.address);
    if (this.#discover === undefined) return;
    try {
      const found = await this.#discover();
      for (const p of found) {
        if (p.id === this.nodeId) continue;
        this.#discovered.set(p.id, p.address);
        this.transport.setPeerAddress(p.id, p.address);
      }
    } catch {
      // discovery is best effort; static peers and the view still work
    }
  }

  async #join(): Promise<void> {
    const body = {
      id: this.nodeId,
      address: this.address,
      config: this.config,
      tables: this.#localTableJoins(),
    };
    let last: unknown;
    for (let attempt = 0; attempt < this.#joinAttempts; attempt++) {
      let reachable = false;
      for (const p of this.#peerCandidates()) {
        try {
          const v = assertView(
            await this.transport.call(p.id, 'sc.join', body, {
              timeoutMs: this.#handoffTimeoutMs,
              alone: true,
            }),
          );
          this.adoptView(v);
          if (v.members.includes(this.nodeId)) return;
        } catch (e) {
          if (SuperCacheError.is(e) && e.code === 'SC_ERR_CONFIG_MISMATCH') throw e;
          if (!(SuperCacheError.is(e) && UNREACHABLE.has(e.code))) reachable = true;
          last = e;
        }
      }
      if (!reachable) {
        this.#form();
        return;
      }
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
    throw new SuperCacheError('SC_ERR_HANDOFF', `node ${this.nodeId} could not join the cluster`, {
      retryable: true,
      cause: last,
    });
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
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref?.();
      this.#timers.push(t);
    };
    every(this.#heartbeatMs, () => {
      void this.#heartbeat();
    });
    every(Math.max(1000, Math.floor(this.#cursorIdleMs / 2)), () => {
      for (const t of this.#tables.values()) t.shards.reapCursors(this.#cursorIdleMs);
    });
    if (this.#discover !== undefined && this.#refreshMs > 0) {
      every(this.#refreshMs, () => {
        void this.#refreshPeers();
      });
    }
    if (this.#healthIntervalMs > 0) every(this.#healthIntervalMs, () => this.health());
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
      const others = this.#view.members.filter((m) => m !== this.nodeId);
      if (others.length > 0) {
        let last: unknown;
        for (let i = 0; i < this.#joinAttempts; i++) {
          try {
            await this.#toLeader('sc.leave', { id: this.nodeId });
            if (!this.#view.members.includes(this.nodeId)) break;
          } catch (e) {
            last = e;
          }
          if (i === this.#joinAttempts - 1) {
            throw (
              last ??
              new SuperCacheError('SC_ERR_HANDOFF', `node ${this.nodeId} could not leave`, {
                retryable: true,
              })
            );
          }
          await sleep(this.retry.maxMs * (i + 1));
        }
        await this.#drain();
      }
    } finally {
      await this.stop();
    }
  }

  /** Waits (bounded) for handlers still running to answer. */
  async #drain(): Promise<void> {
    const deadline = this.clock.now() + this.callTimeoutMs;
    while (this.#inflight > 0 && this.clock.now() < deadline) await sleep(5);
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
    const p = this.#promised;
    if (p !== undefined && p.epoch === view.epoch && p.sig !== viewSig(view) && p.until > this.clock.now())
      return false;
    const prev = this.#view;
    const next = Object.freeze(normalizeView(view));
    this.#view = next;
    const now = this.clock.now();
    for (const m of next.members) {
      if (m === this.nodeId) continue;
      this.transport.setPeerAddress(m, next.addresses[m] ?? m);
      if (!prev.members.includes(m)) this.#lastSeen.set(m, now);
    }
    for (const t of this.#tables.values()) {
      try {
        t.onViewChange(prev, next);
      } catch {
        // a table that fails to apply a view keeps serving what it has
      }
    }
    const added = next.members.filter((m) => !prev.members.includes(m));
    const removed = prev.members.filter((m) => !next.members.includes(m));
    const formerUntil = now + Math.max(60_000, 20 * this.#failureTimeoutMs);
    for (const m of removed) {
      this.#lastSeen.delete(m);
      this.#rtt.delete(m);
      if (m !== this.nodeId) this.#former.set(m, { address: prev.addresses[m] ?? m, until: formerUntil });
    }
    for (const m of next.members) this.#former.delete(m);
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
      if (!this.#stopped) this.#status = 'running';
    } catch {
      if (!this.#stopped) this.#status = 'running';
    }
  }

  /** This node's cluster, as compared in a split: member count and leader id. */
  #strength(): { c: string; n: number; l: string } {
    const v = this.#view;
    return { c: v.cluster, n: v.members.length, l: v.members[0] ?? '' };
  }

  /**
   * True when this node's cluster should dissolve into the other one: they
   * differ, and this one has fewer members (or as many and a larger leader id).
   */
  #weakerThan(other: Body): boolean {
    if (this.#status !== 'running' || this.#changing) return false;
    const c = other.c;
    const n = other.n;
    const l = other.l;
    if (typeof c !== 'string' || c === '' || typeof n !== 'number' || typeof l !== 'string' || n < 1)
      return false;
    const me = this.#strength();
    if (me.c === '' || c === me.c) return false;
    return me.n < n || (me.n === n && me.l > l);
  }

  /**
   * Leaves a weaker cluster for a stronger one: drops this node's data
   * (writes made on the weaker side during the split are lost) and joins
   * through `peer`.
   */
  async #mergeInto(peer: string, address: string): Promise<void> {
    if (this.#status !== 'running') return;
    this.#status = 'joining';
    const prev = this.#view;
    for (const t of this.#tables.values()) t.reset();
    for (const m of prev.members) {
      if (m !== this.nodeId)
        this.#former.set(m, { address: prev.addresses[m] ?? m, until: this.clock.now() + 60_000 });
    }
    this.#view = EMPTY_VIEW;
    this.#lastSeen.clear();
    this.#discovered.set(peer, address);
    this.transport.setPeerAddress(peer, address);
    try {
      await this.#join();
    } catch {
      // retried on the next contact
    } finally {
      if (!this.#stopped) this.#status = 'running';
    }
  }

  /** Peers outside the view worth pinging: static, discovered and recently removed ones. */
  #outsiders(): Array<[string, string]> {
    const now = this.clock.now();
    const out = new Map<string, string>();
    for (const p of this.#peers) out.set(p.id, p.address);
    for (const [id, a] of this.#discovered) out.set(id, a);
    for (const [id, f] of this.#former) {
      if (f.until < now) this.#former.delete(id);
      else out.set(id, f.address);
    }
    out.delete(this.nodeId);
    for (const m of this.#view.members) out.delete(m);
    return [...out];
  }

  #safeEmit(fn: () => void): void {
    try {
      fn();
    } catch {
      // a throwing listener must not break the cluster protocol
    }
  }

  /** @internal See {@link TableHost.syncView}. */
  syncView(from: string, epoch: number): Promise<void> {
    if (epoch <= this.#view.epoch || from === this.nodeId) return Promise.resolve();
    const pending = this.#syncing.get(from);
    if (pending !== undefined) return pending;
    const p = this.transport
      .call(from, 'sc.view', {}, { timeoutMs: this.callTimeoutMs, idempotent: true })
      .then((v) => {
        this.adoptView(assertView(v));
      })
      .catch(() => {})
      .finally(() => this.#syncing.delete(from));
    this.#syncing.set(from, p);
    return p;
  }

  /** @internal See {@link TableHost.callNode}. */
  async callNode<T = unknown>(peer: string, method: string, body: unknown, timeoutMs?: number): Promise<T> {
    if (peer === this.nodeId) {
      const h = this.#handlers.get(method);
      if (h === undefined) throw new SuperCacheError('SC_ERR_UNKNOWN_METHOD', `no handler for ${method}`);
      return (await h(body as Body, this.nodeId)) as T;
    }
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
  async #toLeader(method: string, body: Body): Promise<unknown> {
    const leader = this.leader;
    if (leader === undefined) {
      throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} has no view yet`, {
        retryable: true,
      });
    }
    return this.callNode(leader, method, { ...body, hops: 0 }, this.#handoffTimeoutMs);
  }

  // ---------------------------------------------------------------------------
  // Heartbeats and failure detection

  async #heartbeat(): Promise<void> {
    if (this.#heartbeatBusy || this.#stopped || this.#status === 'joining') return;
    this.#heartbeatBusy = true;
    try {
      const view = this.#view;
      const timeoutMs = Math.max(this.#heartbeatMs, Math.floor(this.#failureTimeoutMs / 2));
      await Promise.allSettled(
        view.members
          .filter((m) => m !== this.nodeId)
          .map(async (m) => {
            const t0 = performance.now();
            this.counters.heartbeats++;
            try {
              const r = (await this.transport.call(m, 'sc.ping', this.#pingBody(), {
                timeoutMs,
                alone: true,
              })) as Body;
              const rtt = performance.now() - t0;
              this.#lastSeen.set(m, this.clock.now());
              const prev = this.#rtt.get(m);
              this.#rtt.set(m, { last: rtt, avg: prev === undefined ? rtt : prev.avg * 0.8 + rtt * 0.2 });
              const e = typeof r.e === 'number' ? r.e : 0;
              if (typeof r.c === 'string' && r.c !== '' && r.c !== this.#view.cluster) {
                if (this.#weakerThan(r)) await this.#mergeInto(m, view.addresses[m] ?? m);
              } else if (e > this.#view.epoch) await this.syncView(m, e);
              else if (e < this.#view.epoch && this.#view.members.includes(m)) {
                // Heal a member that missed a commit.
                await this.callNode(m, 'sc.viewCommit', { view: this.#view }).catch(() => {});
              }
            } catch {
              this.counters.heartbeatFailures++;
            }
          }),
      );
      // Outsiders, less often: a split (or two clusters formed at once) heals
      // when the weaker side finds the stronger one.
      if (this.#beats++ % 4 === 0) {
        await Promise.allSettled(
          this.#outsiders().map(async ([id, address]) => {
            const r = (await this.transport.call(id, 'sc.ping', this.#pingBody(), {
              timeoutMs,
              alone: true,
            })) as Body;
            if (isRecord(r) && this.#weakerThan(r)) await this.#mergeInto(id, address);
          }),
        );
      }
      if (this.leader === this.nodeId && this.#status === 'running') {
        const dead = this.#view.members.filter((m) => !this.#alive(m));
        if (dead.length > 0 && !this.#changing && this.#hasQuorum(dead)) {
          this.#enqueue(() => this.#removeDead(dead)).catch(() => {});
        }
      }
    } finally {
      this.#heartbeatBusy = false;
    }
  }

  /**
   * True when the members left after removing `dead` may decide alone: a
   * strict majority of the view, or exactly half including its smallest id.
   * A minority (an isolated node) never removes the others, so a network
   * split cannot fork the view; it rejoins when the split heals.
   */
  #hasQuorum(dead: readonly string[]): boolean {
    const members = this.#view.members;
    return isQuorum(
      members,
      members.filter((m) => !dead.includes(m)),
    );
  }

  /** Records a promise for `view`; false when another view holds that epoch. */
  #promise(view: View): boolean {
    const now = this.clock.now();
    const sig = viewSig(view);
    const p = this.#promised;
    if (view.epoch <= this.#view.epoch) return false;
    if (this.#view.cluster !== '' && view.cluster !== this.#view.cluster) return false;
    if (p !== undefined && p.epoch >= view.epoch && p.sig !== sig && p.until > now) return false;
    this.#promised = { epoch: view.epoch, sig, until: now + this.#failureTimeoutMs };
    return true;
  }

  #pingBody(): Body {
    return { e: this.#view.epoch, a: this.address, ...this.#strength() };
  }

  async #removeDead(candidates: readonly string[]): Promise<View> {
    const dead = candidates.filter((m) => this.#view.members.includes(m) && !this.#alive(m));
    if (dead.length === 0 || !this.#hasQuorum(dead)) return this.#view;
    // Two phases, so that two would-be leaders on either side of a network
    // split cannot both commit: a quorum of the current members must promise
    // this view before anyone adopts it.
    const prev = this.#view;
    const next = normalizeView({ ...without(prev, dead), epoch: prev.epoch + 1, handoffs: prev.handoffs });
    if (!this.#promise(next)) return prev;
    const others = next.members.filter((m) => m !== this.nodeId);
    const answers = await Promise.allSettled(
      others.map((m) => this.callNode(m, 'sc.viewPropose', { view: next }) as Promise<Body>),
    );
    const promised = [this.nodeId];
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && isRecord(a.value) && a.value.ok === true)
        promised.push(others[i] as string);
    });
    if (!isQuorum(prev.members, promised) || this.#view !== prev) return this.#view;
    this.counters.viewChanges++;
    await this.#commit(prev, next, dead);
    return next;
  }

  // ---------------------------------------------------------------------------
  // Leader: view changes and handoffs

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#changing = true;
      try {
        return await fn();
      } finally {
        this.#changing = false;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Commits `build(view)` as the next view. With `handoff`, every table whose
   * hosting changes is handed over first (prepare → switch → commit); a
   * failure aborts it everywhere and throws `SC_ERR_HANDOFF` (retryable).
   */
  async #changeView(build: (v: View) => View, handoff: boolean, skip: readonly string[] = []): Promise<View> {
    const prev = this.#view;
    const epoch = prev.epoch + 1;
    const draft = normalizeView({ ...build(prev), epoch, handoffs: prev.handoffs });
    const tables = new Set([...Object.keys(prev.shards), ...Object.keys(draft.shards)]);
    const moves =
      handoff && [...tables].some((t) => hostsOf(prev, t).length > 0 && !sameHosting(prev, draft, t));
    this.counters.viewChanges++;
    if (!moves) {
      await this.#commit(prev, draft, skip);
      return draft;
    }
    const hid = `${this.nodeId}-${epoch}-${Math.floor(Math.random() * 0xffffffff).toString(16)}`;
    const next: View = { ...draft, handoffs: [...prev.handoffs, hid].slice(-MAX_HANDOFF_HISTORY) };
    const sources = prev.members.filter((m) => !skip.includes(m));
    const started = this.clock.now();
    this.progress({ handoff: hid, role: 'leader', phase: 'start', entries: 0, bytes: 0, durationMs: 0 });
    let entries = 0;
    let bytes = 0;
    try {
      await Promise.all(
        sources.map((s) =>
          this.callNode(s, 'sc.handoffPrepare', { h: hid, prev, next }, this.#handoffTimeoutMs),
        ),
      );
      const switched = await Promise.all(
        sources.map(
          (s) => this.callNode(s, 'sc.handoffSwitch', { h: hid }, this.#handoffTimeoutMs) as Promise<Body>,
        ),
      );
      for (const r of switched) {
        entries += typeof r.entries === 'number' ? r.entries : 0;
        bytes += typeof r.bytes === 'number' ? r.bytes : 0;
      }
    } catch (e) {
      const everyone = [...new Set([...prev.members, ...next.members])].filter((m) => !skip.includes(m));
      await Promise.allSettled(everyone.map((m) => this.callNode(m, 'sc.handoffAbort', { h: hid })));
      this.counters.handoffsAborted++;
      const message = e instanceof Error ? e.message : String(e);
      this.progress({
        handoff: hid,
        role: 'leader',
        phase: 'aborted',
        entries,
        bytes,
        durationMs: this.clock.now() - started,
        error: message,
      });
      throw new SuperCacheError('SC_ERR_HANDOFF', `handoff ${hid} aborted: ${message}`, {
        retryable: true,
        cause: e,
      });
    }
    await this.#commit(prev, next, skip);
    const durationMs = this.clock.now() - started;
    this.counters.handoffs++;
    this.counters.lastHandoffMs = durationMs;
    this.counters.lastHandoffEntries = entries;
    this.progress({ handoff: hid, role: 'leader', phase: 'committed', entries, bytes, durationMs });
    return next;
  }

  /** Adopts `next` here and sends it to every member of both views (best effort). */
  async #commit(prev: View, next: View, skip: readonly string[]): Promise<void> {
    this.adoptView(next);
    const targets = [...new Set([...prev.members, ...next.members])].filter(
      (m) => m !== this.nodeId && !skip.includes(m),
    );
    await Promise.allSettled(targets.map((m) => this.callNode(m, 'sc.viewCommit', { view: next })));
  }

  #isLeader(): boolean {
    return this.leader === this.nodeId && (this.#status === 'running' || this.#status === 'leaving');
  }

  /** Forwards a membership request to the leader when this node is not it. */
  async #forward(method: string, body: Body): Promise<unknown> {
    const hops = typeof body.hops === 'number' ? body.hops : 0;
    const leader = this.leader;
    if (leader === undefined || leader === this.nodeId || hops >= 4 || this.#status === 'joining') {
      throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} cannot serve ${method} now`, {
        retryable: true,
      });
    }
    return this.transport.call(
      leader,
      method,
      { ...body, hops: hops + 1 },
      { timeoutMs: this.#handoffTimeoutMs, alone: true },
    );
  }

  #checkTables(id: string, tables: Record<string, TableJoin>): void {
    for (const [name, j] of Object.entries(tables)) {
      if (!isRecord(j) || !isRecord(j.spec) || typeof j.shards !== 'number') {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', `bad table registration for ${name}`);
      }
      const known = this.#view.tables[name] ?? this.#tables.get(name)?.spec;
      if (known !== undefined) checkTableSpec(name, j.spec, known, id);
    }
  }

  async #handleJoin(body: Body): Promise<View> {
    const id = str(body, 'id');
    const address = str(body, 'address');
    if (!isRecord(body.config)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'field config must be a map');
    const tables = (isRecord(body.tables) ? body.tables : {}) as Record<string, TableJoin>;
    if (!this.#isLeader()) return assertView(await this.#forward('sc.join', body));
    checkConfig({ ...DEFAULT_CONFIG, ...(body.config as Partial<ClusterConfig>) }, this.config, id);
    this.#checkTables(id, tables);
    return this.#enqueue(async () => {
      this.#checkTables(id, tables);
      if (this.#view.members.includes(id)) {
        // A restarted node: its previous incarnation's data is gone.
        await this.#changeView((v) => without(v, [id]), false, [id]);
      }
      this.#lastSeen.set(id, this.clock.now());
      return this.#changeView((v) => withMember(v, id, address, tables), true);
    });
  }

  async #handleLeave(body: Body): Promise<View> {
    const id = str(body, 'id');
    if (!this.#isLeader()) return assertView(await this.#forward('sc.leave', body));
    return this.#enqueue(async () => {
      if (!this.#view.members.includes(id)) return this.#view;
      return this.#changeView((v) => without(v, [id]), true);
    });
  }

  async #handleTableJoin(body: Body): Promise<View> {
    const id = str(body, 'id');
    const table = str(body, 'table');
    if (!isRecord(body.spec)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'field spec must be a map');
    const join: TableJoin = { spec: body.spec as unknown as TableSpec, shards: int(body, 'shards') };
    if (!this.#isLeader()) return assertView(await this.#forward('sc.tableJoin', body));
    this.#checkTables(id, { [table]: join });
    return this.#enqueue(async () => {
      this.#checkTables(id, { [table]: join });
      if (!this.#view.members.includes(id)) {
        throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${id} is not a member`, { retryable: true });
      }
      if (hostsOf(this.#view, table).includes(id)) return this.#view;
      return this.#changeView((v) => withMember(v, id, v.addresses[id] ?? id, { [table]: join }), true);
    });
  }

  // ---------------------------------------------------------------------------
  // Handoff: source and target handlers

  async #handlePrepare(body: Body): Promise<Body> {
    const h = str(body, 'h');
    const prev = assertView(body.prev);
    const next = assertView(body.next);
    this.adoptView(prev);
    if (this.#view.epoch !== prev.epoch || this.#view.cluster !== prev.cluster) {
      // This node follows another leader's view: refuse to hand data over under this one.
      throw new SuperCacheError(
        'SC_ERR_STALE_EPOCH',
        `handoff ${h} prepared at epoch ${prev.epoch}, node ${this.nodeId} is at epoch ${this.#view.epoch}`,
        { retryable: true, details: { view: this.#view } },
      );
    }
    // The targets of this handoff may be members this node has never heard
    // of (a joiner): learn their addresses before streaming to them.
    for (const m of next.members) {
      if (m !== this.nodeId) this.transport.setPeerAddress(m, next.addresses[m] ?? m);
    }
    const started = this.clock.now();
    const moving: DistributedTable[] = [];
    for (const t of this.#tables.values()) if (t.planSource(h, prev, next)) moving.push(t);
    if (moving.length === 0) return { entries: 0, bytes: 0 };
    const report = (phase: 'snapshot' | 'delta') => {
      let entries = 0;
      let bytes = 0;
      for (const t of moving) {
        const c = t.sourceCounts();
        entries += c.entries;
        bytes += c.bytes;
      }
      this.progress({
        handoff: h,
        role: 'source',
        phase,
        entries,
        bytes,
        durationMs: this.clock.now() - started,
      });
      return { entries, bytes };
    };
    this.progress({ handoff: h, role: 'source', phase: 'start', entries: 0, bytes: 0, durationMs: 0 });
    // Pass 1: snapshot, streamed while the tables keep serving.
    for (const t of moving) await t.streamSnapshot(h);
    report('snapshot');
    // Pass 2: re-send what changed meanwhile, until it is quiet.
    for (let round = 0; round < 8; round++) {
      let pending = 0;
      for (const t of moving) pending += t.pendingDelta();
      if (pending === 0) break;
      for (const t of moving) await t.sendDelta(h);
      if (pending < 32) break;
    }
    return report('delta');
  }

  async #handleSwitch(body: Body): Promise<Body> {
    const h = str(body, 'h');
    const moving = [...this.#tables.values()].filter((t) => t.sourceHandoff === h);
    if (moving.length === 0) return { entries: 0, bytes: 0 };
    const targets = new Set<string>();
    for (const t of moving) for (const target of await t.holdAndFinish(h)) targets.add(target);
    await Promise.all(
      [...targets].map((target) => this.callNode(target, 'sc.handoffDone', { h, from: this.nodeId })),
    );
    let entries = 0;
    let bytes = 0;
    for (const t of moving) {
      const c = t.sourceCounts();
      entries += c.entries;
      bytes += c.bytes;
    }
    this.progress({ handoff: h, role: 'source', phase: 'switch', entries, bytes, durationMs: 0 });
    return { entries, bytes };
  }

  #handleAbort(body: Body): boolean {
    const h = str(body, 'h');
    let touched = false;
    for (const t of this.#tables.values()) {
      if (t.sourceHandoff === h) {
        t.abortSource();
        touched = true;
      }
      if (t.stagedCounts(h) !== undefined) {
        t.discardStaged(h);
        touched = true;
      }
    }
    if (touched) {
      this.counters.handoffsAborted++;
      this.progress({ handoff: h, role: 'source', phase: 'aborted', entries: 0, bytes: 0, durationMs: 0 });
    }
    return true;
  }

  #tableOf(body: Body): DistributedTable {
    const name = str(body, 't');
    const t = this.#tables.get(name);
    if (t === undefined) {
      throw new SuperCacheError('SC_ERR_NO_TABLE', `node ${this.nodeId} has no table ${name}`, {
        retryable: true,
        details: { table: name, node: this.nodeId },
      });
    }
    return t;
  }

  #handleStage(body: Body, from: string, delta: boolean): number {
    const t = this.#tableOf(body);
    const h = str(body, 'h');
    const e = int(body, 'e');
    const items = list<unknown>(body, 'items');
    for (const item of items) {
      if (!Array.isArray(item) || item.length < 3 || typeof item[0] !== 'number') {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed handoff item');
      }
    }
    const n = delta ? t.stageDelta(h, e, items as DeltaItem[]) : t.stageChunk(h, e, items as ChunkItem[]);
    const c = t.stagedCounts(h);
    this.progress({
      handoff: h,
      role: 'target',
      phase: 'staged',
      table: t.name,
      peer: from,
      entries: n,
      bytes: c?.bytes ?? 0,
      durationMs: c === undefined ? 0 : this.clock.now() - c.started,
    });
    return n;
  }

  // ---------------------------------------------------------------------------
  // Peer handlers

  #on(method: string, fn: Handler): void {
    const wrapped = async (body: unknown, ctx: CallContext | { from: string }) => {
      if (this.#stopped) throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} is stopped`);
      if (!isRecord(body)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${method} expects a map body`);
      if (ctx.from !== this.nodeId && this.#view.members.includes(ctx.from)) {
        this.#lastSeen.set(ctx.from, this.clock.now());
      }
      this.#inflight++;
      try {
        return await fn(body, ctx.from);
      } finally {
        this.#inflight--;
      }
    };
    this.#handlers.set(method, (body, from) => wrapped(body, { from }));
    this.transport.handle(method, wrapped);
  }

  #registerHandlers(): void {
    this.#on('sc.ping', (b, from) => {
      const e = typeof b.e === 'number' ? b.e : 0;
      const sameCluster = b.c === undefined || b.c === this.#view.cluster;
      if (sameCluster && e > this.#view.epoch) void this.syncView(from, e);
      const reply = this.#pingBody();
      if (!sameCluster && this.#weakerThan(b))
        void this.#mergeInto(from, typeof b.a === 'string' ? b.a : from);
      return reply;
    });
    this.#on('sc.view', () => this.#view);
    this.#on('sc.viewPropose', (b) => ({ ok: this.#promise(assertView(b.view)), e: this.#view.epoch }));
    this.#on('sc.viewCommit', (b) => {
      this.adoptView(assertView(b.view));
      return { e: this.#view.epoch };
    });
    this.#on('sc.join', (b) => this.#handleJoin(b));
    this.#on('sc.leave', (b) => this.#handleLeave(b));
    this.#on('sc.tableJoin', (b) => this.#handleTableJoin(b));
    this.#on('sc.exec', (b, from) =>
      this.#tableOf(b).serveShard(
        (b.pd ?? null) as Term,
        str(b, 'c'),
        list(b, 'a'),
        {
          from,
          epoch: int(b, 'e'),
          clock: typeof b.v === 'string' ? b.v : undefined,
        },
        b.p === undefined ? undefined : int(b, 'p'),
      ),
    );
    this.#on('sc.node', (b, from) =>
      this.#tableOf(b).serveNode(
        str(b, 'c'),
        list(b, 'a'),
        { from, epoch: int(b, 'e') },
        b.s === undefined ? undefined : intList(b, 's'),
      ),
    );
    this.#on('sc.cursorOpen', async (b, from) => ({
      id: await this.#tableOf(b).openCursor(str(b, 'k') as never, b.a, { from, epoch: int(b, 'e') }),
    }));
    this.#on('sc.cursorNext', (b) => {
      const n = int(b, 'n');
      if (n < 1) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'n must be positive');
      return this.#tableOf(b).cursorNext(int(b, 'id'), n);
    });
    this.#on('sc.cursorClose', (b) => {
      this.#tableOf(b).cursorClose(int(b, 'id'));
      return true;
    });
    this.#on('sc.handoffPrepare', (b) => this.#handlePrepare(b));
    this.#on('sc.handoffSwitch', (b) => this.#handleSwitch(b));
    this.#on('sc.handoffChunk', (b, from) => this.#handleStage(b, from, false));
    this.#on('sc.handoffDelta', (b, from) => this.#handleStage(b, from, true));
    this.#on('sc.handoffDone', (b, from) => {
      const h = str(b, 'h');
      let entries = 0;
      let bytes = 0;
      for (const t of this.#tables.values()) {
        const c = t.stagedCounts(h);
        if (c !== undefined) {
          entries += c.entries;
          bytes += c.bytes;
        }
      }
      this.progress({
        handoff: h,
        role: 'target',
        phase: 'staged',
        peer: from,
        entries,
        bytes,
        durationMs: 0,
      });
      return true;
    });
    this.#on('sc.handoffAbort', (b) => this.#handleAbort(b));
  }

  // ---------------------------------------------------------------------------
  // Health

  /**
   * A health report: members with heartbeat RTT and liveness, epoch, leader,
   * partition balance per table, operation success rate and handoff stats.
   * Also published on `supercache:health:check` and emitted as `health`.
   */
  health(): HealthReport {
    const now = this.clock.now();
    const view = this.#view;
    const members: MemberHealth[] = view.members.map((id) => {
      const rtt = this.#rtt.get(id);
      const seen = this.#lastSeen.get(id);
      return {
        id,
        address: view.addresses[id] ?? id,
        alive: this.#alive(id),
        rttMs: id === this.nodeId ? 0 : (rtt?.last ?? -1),
        rttAvgMs: id === this.nodeId ? 0 : (rtt?.avg ?? -1),
        lastSeenMsAgo: id === this.nodeId ? 0 : seen === undefined ? -1 : now - seen,
      };
    });
    const balance: Record<string, TableBalance> = {};
    for (const [name, t] of this.#tables) {
      const owned = t.ownedCounts(view);
      const { mean, stdDev } = meanStdDev(Object.values(owned));
      balance[name] = { placement: t.spec.placement, owned, mean, stdDev, localObjects: t.ownedSize(view) };
    }
    const c = this.counters;
    const total = c.opsOk + c.opsFailed;
    const report: HealthReport = {
      node: this.nodeId,
      status: this.#status,
      epoch: view.epoch,
      leader: this.leader,
      members,
      balance,
      successRate: total === 0 ? 1 : c.opsOk / total,
      handoff: {
        active: this.#changing || [...this.#tables.values()].some((t) => t.handingOff),
        committed: c.handoffs,
        aborted: c.handoffsAborted,
        entriesSent: c.handoffEntriesSent,
        entriesReceived: c.handoffEntriesReceived,
        lastDurationMs: c.lastHandoffMs,
        lastEntries: c.lastHandoffEntries,
      },
      stats: { ...c },
      at: now,
    };
    this.#safeEmit(() => this.emit('health', report));
    if (healthChannel.hasSubscribers) healthChannel.publish(report);
    return report;
  }
}

/** Identifies one view among the views proposed for an epoch. */
function viewSig(view: View): string {
  return `${view.epoch}|${view.members.join(',')}|${view.handoffs.at(-1) ?? ''}`;
}

/**
 * True when `voters` may decide for `members`: a strict majority, or exactly
 * half including the smallest member id (so a two-node cluster can lose one).
 */
function isQuorum(members: readonly string[], voters: readonly string[]): boolean {
  const n = voters.filter((v) => members.includes(v)).length;
  if (n * 2 > members.length) return true;
  return n * 2 === members.length && voters.includes(members[0] as string);
}

/** `view` without the given members (and without their table hosting). */
function without(view: View, ids: readonly string[]): View {
  const members = view.members.filter((m) => !ids.includes(m));
  const addresses: Record<string, string> = {};
  for (const m of members) addresses[m] = view.addresses[m] ?? m;
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) {
    const kept: Record<string, number> = {};
    for (const [n, c] of Object.entries(per)) if (!ids.includes(n)) kept[n] = c;
    shards[t] = kept;
  }
  return { ...view, members, addresses, shards };
}

/** `view` with a member (and the tables it hosts). */
function withMember(view: View, id: string, address: string, tables: Record<string, TableJoin>): View {
  const members = view.members.includes(id) ? [...view.members] : [...view.members, id];
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) shards[t] = { ...per };
  const specs: Record<string, TableSpec> = { ...view.tables };
  for (const [name, j] of Object.entries(tables)) {
    shards[name] = { ...(shards[name] ?? {}), [id]: j.shards };
    if (specs[name] === undefined) specs[name] = j.spec;
  }
  return { ...view, members, addresses: { ...view.addresses, [id]: address }, shards, tables: specs };
}
