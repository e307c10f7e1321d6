/**
 * Health and stats of one cluster node: counters kept on the hot paths, and
 * the report {@link ClusterNode.health} computes from them, the view and the
 * failure detector (RTT per peer, partition balance, success rate, handoffs).
 */

/** Counters of one node since it was created. Plain numbers; read, don't write. */
export interface ClusterCounters {
  /** Peer calls made for routed operations (exec, fan-out, cursors). */
  remoteCalls: number;
  /** `SC_ERR_NOT_OWNER` / `SC_ERR_STALE_EPOCH` answers received (each one a retry). */
  redirects: number;
  /** Attempts repeated after a redirect, a handoff wait or an unreachable owner. */
  retries: number;
  /** Routed operations that succeeded. */
  opsOk: number;
  /** Routed operations that failed after their retries. */
  opsFailed: number;
  /** Commands this node ran as an owner (for itself or for peers). */
  served: number;
  /** View changes this node committed as leader. */
  viewChanges: number;
  /** Handoffs this node committed as leader. */
  handoffs: number;
  /** Handoffs aborted (any role). */
  handoffsAborted: number;
  /** Entries this node sent as a handoff source. */
  handoffEntriesSent: number;
  /** Entries (and delta keys) this node staged as a handoff target. */
  handoffEntriesReceived: number;
  /** Duration in ms of the last handoff this node led. */
  lastHandoffMs: number;
  /** Entries moved by the last handoff this node led. */
  lastHandoffEntries: number;
  /** Heartbeats sent. */
  heartbeats: number;
  /** Heartbeats that failed. */
  heartbeatFailures: number;
  /** Requests refused because this node's serving lease had lapsed (no quorum heard from recently). */
  leaseRefusals: number;
  /** Requests refused because their sender was removed from the view after the epoch they were made at. */
  fencedRequests: number;
  /** Replication records this node appended as a primary. */
  replicationRecords: number;
  /** Replication calls to a backup that failed (retried later). */
  replicationFailures: number;
  /** `sync`/`strong` writes whose majority acknowledgement timed out (outcome unknown). */
  replicationTimeouts: number;
  /** Backups resynced from a snapshot (a gap, a new copy, or a digest mismatch). */
  replicaResyncs: number;
  /** Entries sent in resync snapshots. */
  replicaSnapshotEntries: number;
  /** `local` reads sent to the primary because this node's copy had not applied the caller's own write yet. */
  sessionRedirects: number;
  /** Copies a quorum read found behind the newest one. */
  readRepairs: number;
  /** Partitions whose copies differed at a digest check (anti-entropy repairs). */
  antiEntropyRepairs: number;
  /** Errors a background task caught and could not report to a caller (also logged under NODE_DEBUG=supercache). */
  swallowedErrors: number;
}

/** Fresh zeroed counters. */
export function newCounters(): ClusterCounters {
  return {
    remoteCalls: 0,
    redirects: 0,
    retries: 0,
    opsOk: 0,
    opsFailed: 0,
    served: 0,
    viewChanges: 0,
    handoffs: 0,
    handoffsAborted: 0,
    handoffEntriesSent: 0,
    handoffEntriesReceived: 0,
    lastHandoffMs: 0,
    lastHandoffEntries: 0,
    heartbeats: 0,
    heartbeatFailures: 0,
    leaseRefusals: 0,
    fencedRequests: 0,
    replicationRecords: 0,
    replicationFailures: 0,
    replicationTimeouts: 0,
    replicaResyncs: 0,
    replicaSnapshotEntries: 0,
    antiEntropyRepairs: 0,
    sessionRedirects: 0,
    readRepairs: 0,
    swallowedErrors: 0,
  };
}

/** One member as this node sees it. */
export interface MemberHealth {
  readonly id: string;
  readonly address: string;
  /** True for this node, or a peer heard from within `failureTimeoutMs`. */
  readonly alive: boolean;
  /** Last heartbeat round-trip in ms (`0` for this node, `-1` when never measured). */
  readonly rttMs: number;
  /** Smoothed round-trip (EWMA, α = 0.2) in ms; `-1` when never measured. */
  readonly rttAvgMs: number;
  /** Milliseconds since this node last heard from the member (`0` for itself). */
  readonly lastSeenMsAgo: number;
}

/** How evenly one table's data is spread. */
export interface TableBalance {
  readonly placement: 'partitions' | 'shards';
  /** Partitions owned per host (`'partitions'`), or shards per host (`'shards'`). */
  readonly owned: Readonly<Record<string, number>>;
  /** Mean of `owned`. */
  readonly mean: number;
  /** Population standard deviation of `owned`. */
  readonly stdDev: number;
  /** Objects this node serves for the table. */
  readonly localObjects: number;
}

/** Replication lag of one backup of one partition this node leads. */
export interface ReplicaLag {
  readonly partition: number;
  readonly backup: string;
  /** Records the backup has not acknowledged yet. */
  readonly records: number;
  /** Age in ms of the oldest record it has not acknowledged (0 when caught up). */
  readonly ms: number;
  /** False while the backup is unknown, catching up or being resynced: it counts for no `sync` acknowledgement. */
  readonly inSync: boolean;
}

/** Replication state of one table on this node. */
export interface TableReplication {
  readonly placement: 'partitions' | 'shards';
  /** Copies wanted per partition: the cluster's `replicationFactor`, or a `'shards'` table's `replicas`. */
  readonly factor: number;
  /** Copies each partition (or key of a `'shards'` table) actually has: `min(factor, hosts)`. */
  readonly copies: number;
  /** `factor - copies`: missing copies per partition (too few hosts). */
  readonly shortfall: number;
  readonly mode: 'async' | 'sync' | 'strong';
  /** Members hosting the table. */
  readonly hosts: number;
  /** Partitions this node leads (shards it serves, for a `'shards'` table). */
  readonly primaries: number;
  /** Copies this node holds as a backup (replica groups, for a `'shards'` table). */
  readonly backups: number;
  /** Highest lag over the backups of partitions this node leads. */
  readonly maxLagRecords: number;
  readonly maxLagMs: number;
  /** Backups of partitions this node leads that are not in sync. */
  readonly outOfSync: number;
  /** Per backup of every partition this node leads. */
  readonly lag: readonly ReplicaLag[];
}

/** What {@link ClusterNode.health} reports. Published on `supercache:health:check`. */
export interface HealthReport {
  readonly node: string;
  readonly status: 'stopped' | 'joining' | 'running' | 'leaving';
  readonly epoch: number;
  /** The leader as this node sees it (smallest live member), if any. */
  readonly leader: string | undefined;
  readonly members: readonly MemberHealth[];
  readonly balance: Readonly<Record<string, TableBalance>>;
  /** `opsOk / (opsOk + opsFailed)`; 1 when nothing ran yet. */
  readonly successRate: number;
  readonly handoff: {
    readonly active: boolean;
    readonly committed: number;
    readonly aborted: number;
    readonly entriesSent: number;
    readonly entriesReceived: number;
    readonly lastDurationMs: number;
    readonly lastEntries: number;
  };
  /** Replication per table (every table, replicated or not: see `shortfall`). */
  readonly replication: Readonly<Record<string, TableReplication>>;
  readonly stats: Readonly<ClusterCounters>;
  /** `clock.now()` when the report was made. */
  readonly at: number;
}

/** Mean and population standard deviation. */
export function meanStdDev(values: readonly number[]): { mean: number; stdDev: number } {
  if (values.length === 0) return { mean: 0, stdDev: 0 };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, stdDev: Math.sqrt(sq / values.length) };
}
