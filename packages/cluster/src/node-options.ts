/**
 * The options of a cluster node, their defaults, and their validation.
 */

import { DEFAULT_MAX_DRIFT_MS, HybridLogicalClock, MAX_DRIFT_LIMIT_MS } from '@supercache/replication';
import type { Transport } from '@supercache/router';
import { type Clock, SuperCacheError } from '@supercache/storage';
import type { RetryPolicy } from './distributed-table.js';
import { type ClusterConfig, DEFAULT_CONFIG } from './view.js';

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
  /**
   * How long a node keeps serving after its last heartbeat round trip with a
   * quorum of its view, in ms: a node cut off (or frozen) longer refuses
   * reads and writes with `SC_ERR_NO_QUORUM` (retryable) until it hears from
   * a quorum again. Must be shorter than `failureTimeoutMs`, so that a node
   * stops serving before the others remove it. @defaultValue 2/3 of `failureTimeoutMs`
   */
  leaseMs?: number;
  /** The six settings every member must share; a joiner that differs is refused. */
  config?: Partial<ClusterConfig>;
  /** Wall clock for failure detection, TTL and the HLC. @defaultValue `{ now: Date.now }` */
  clock?: Clock;
  /** The hybrid logical clock that versions writes. @defaultValue one over `clock` with `maxClockSkewMs` */
  hlc?: HybridLogicalClock;
  /**
   * Most ms a peer's version or clock may lead this node's wall clock. A
   * write, handoff item or replication record carrying a version further
   * ahead is refused with `SC_ERR_CLOCK_SKEW` (HTTP 400) and never stored
   * or merged into the clock, so no input can push this node's clock into
   * the future. Keep the nodes' wall clocks (NTP) well within it. An integer
   * from 1 to 2^40; ignored when `hlc` is given (its own `maxDriftMs` rules).
   * @defaultValue 60000
   */
  maxClockSkewMs?: number;
  /** Retry policy of routed operations. @defaultValue `{ attempts: 8, baseMs: 5, maxMs: 200 }` */
  retry?: Partial<RetryPolicy>;
  /** Timeout of routed peer calls and handoff chunks, in ms. @defaultValue 5000 */
  callTimeoutMs?: number;
  /** Timeout of a whole view change (join, leave, handoff prepare), in ms. @defaultValue 120000 */
  handoffTimeoutMs?: number;
  /** Entries per handoff chunk. @defaultValue 2000 */
  handoffChunkSize?: number;
  /**
   * Most bytes (estimated as the handoff counts them) this node stages for
   * one incoming handoff; past it the handoff's staged data is dropped and
   * its senders get `SC_ERR_LIMIT`, so the leader aborts it. Keep it above
   * the share of data one node receives when another joins or leaves.
   * @defaultValue 1073741824 (1 GiB)
   */
  maxStagedBytes?: number;
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

/** Every setting of a node, validated and defaulted. */
export interface NodeSettings {
  readonly nodeId: string;
  readonly address: string;
  readonly transport: Transport;
  readonly config: ClusterConfig;
  readonly clock: Clock;
  readonly hlc: HybridLogicalClock;
  readonly retry: RetryPolicy;
  readonly peers: readonly PeerInfo[];
  readonly discover: (() => Promise<readonly PeerInfo[]>) | undefined;
  readonly refreshMs: number;
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
  readonly leaseMs: number;
  readonly callTimeoutMs: number;
  readonly handoffTimeoutMs: number;
  readonly handoffChunkSize: number;
  readonly maxStagedBytes: number;
  readonly holdTimeoutMs: number;
  readonly joinAttempts: number;
  readonly cursorIdleMs: number;
  readonly healthIntervalMs: number;
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

/** Most copies of a partition (primary included). */
export const MAX_REPLICATION_FACTOR = 7;

/** Validates the cluster-wide settings a node requires. @throws SuperCacheError `SC_ERR_BAD_CONFIG` */
export function resolveConfig(partial: Partial<ClusterConfig> | undefined): ClusterConfig {
  const config = { ...DEFAULT_CONFIG, ...partial };
  positiveInt(config.numPartition, 'config.numPartition');
  positiveInt(config.replicationFactor, 'config.replicationFactor');
  if (config.replicationFactor > MAX_REPLICATION_FACTOR) {
    throw badConfig(
      `config.replicationFactor must be from 1 to ${MAX_REPLICATION_FACTOR}, got ${config.replicationFactor}`,
    );
  }
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
  return Object.freeze(config);
}

/** Validates and defaults every option. @throws SuperCacheError `SC_ERR_BAD_CONFIG` */
export function resolveNodeOptions(options: ClusterNodeOptions): NodeSettings {
  if (typeof options.nodeId !== 'string' || options.nodeId.length === 0) {
    throw badConfig('nodeId must be a non-empty string');
  }
  if (options.transport.nodeId !== options.nodeId) {
    throw badConfig(`transport is for node ${options.transport.nodeId}, not ${options.nodeId}`);
  }
  const config = resolveConfig(options.config);
  const clock = options.clock ?? { now: Date.now };
  const retry = Object.freeze({ attempts: 8, baseMs: 5, maxMs: 200, ...options.retry });
  positiveInt(retry.attempts, 'retry.attempts');
  const failureTimeoutMs = positiveInt(options.failureTimeoutMs ?? 3000, 'failureTimeoutMs');
  const leaseMs = positiveInt(options.leaseMs ?? Math.floor((failureTimeoutMs * 2) / 3), 'leaseMs');
  if (leaseMs >= failureTimeoutMs) {
    throw badConfig(`leaseMs (${leaseMs}) must be shorter than failureTimeoutMs (${failureTimeoutMs})`);
  }
  const heartbeatMs = positiveInt(options.heartbeatMs ?? 500, 'heartbeatMs');
  if (heartbeatMs * 2 > leaseMs) {
    throw badConfig(
      `heartbeatMs (${heartbeatMs}) must be at most half of leaseMs (${leaseMs}), ` +
        'or a node would lose its lease between two heartbeats',
    );
  }
  const maxClockSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_DRIFT_MS;
  if (!Number.isInteger(maxClockSkewMs) || maxClockSkewMs < 1 || maxClockSkewMs > MAX_DRIFT_LIMIT_MS) {
    throw badConfig(`maxClockSkewMs must be an integer from 1 to 2^40, got ${String(maxClockSkewMs)}`);
  }
  return {
    nodeId: options.nodeId,
    address: options.address ?? options.nodeId,
    transport: options.transport,
    config,
    clock,
    hlc: options.hlc ?? new HybridLogicalClock({ nodeId: options.nodeId, clock, maxDriftMs: maxClockSkewMs }),
    retry,
    peers: options.peers ?? [],
    discover: options.discover,
    refreshMs: nonNegative(options.refreshMs ?? 5000, 'refreshMs'),
    heartbeatMs,
    failureTimeoutMs,
    leaseMs,
    callTimeoutMs: positiveInt(options.callTimeoutMs ?? 5000, 'callTimeoutMs'),
    handoffTimeoutMs: positiveInt(options.handoffTimeoutMs ?? 120_000, 'handoffTimeoutMs'),
    handoffChunkSize: positiveInt(options.handoffChunkSize ?? 2000, 'handoffChunkSize'),
    maxStagedBytes: positiveInt(options.maxStagedBytes ?? 2 ** 30, 'maxStagedBytes'),
    holdTimeoutMs: positiveInt(options.holdTimeoutMs ?? 5000, 'holdTimeoutMs'),
    joinAttempts: positiveInt(options.joinAttempts ?? 5, 'joinAttempts'),
    cursorIdleMs: positiveInt(options.cursorIdleMs ?? 60_000, 'cursorIdleMs'),
    healthIntervalMs: nonNegative(options.healthIntervalMs ?? 0, 'healthIntervalMs'),
  };
}
