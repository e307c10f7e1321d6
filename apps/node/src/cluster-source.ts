/**
 * What the server reads from a cluster node: its id, lifecycle state and
 * health report. `@supercache/cluster`'s `ClusterNode` satisfies it; the
 * server only needs this much, so it also works in local mode (no node)
 * and in tests with a stub.
 */

/** One member in a {@link NodeHealthReport}. */
export interface NodeMemberHealth {
  readonly id: string;
  readonly address: string;
  readonly alive: boolean;
  /** Last heartbeat round-trip in ms (`0` for this node, `-1` when never measured). */
  readonly rttMs: number;
  /** Smoothed round-trip in ms; `-1` when never measured. */
  readonly rttAvgMs: number;
}

/** How one table's data is spread. */
export interface NodeTableBalance {
  /** Partitions (or shards) owned per host. */
  readonly owned: Readonly<Record<string, number>>;
  /** Objects this node serves for the table. */
  readonly localObjects: number;
}

/** Replication of one table as this node sees it. */
export interface NodeTableReplication {
  /** Copies wanted per partition. */
  readonly factor: number;
  /** Copies each partition has (`min(factor, hosts)`; 1 for tables that are not replicated). */
  readonly copies: number;
  /** `factor - copies`. */
  readonly shortfall: number;
  /** Highest lag, in records and ms, over the backups of partitions this node leads. */
  readonly maxLagRecords: number;
  readonly maxLagMs: number;
  /** Backups of partitions this node leads that are not in sync. */
  readonly outOfSync: number;
}

/** The part of the cluster package's `HealthReport` the server uses. */
export interface NodeHealthReport {
  readonly node: string;
  readonly status: 'stopped' | 'joining' | 'running' | 'leaving';
  readonly epoch: number;
  readonly leader: string | undefined;
  readonly members: readonly NodeMemberHealth[];
  readonly balance: Readonly<Record<string, NodeTableBalance>>;
  readonly successRate: number;
  /** Per table; absent from nodes built before replication existed. */
  readonly replication?: Readonly<Record<string, NodeTableReplication>>;
  readonly handoff: {
    readonly active: boolean;
    readonly committed: number;
    readonly aborted: number;
    readonly entriesSent: number;
    readonly entriesReceived: number;
    readonly lastDurationMs: number;
    readonly lastEntries: number;
  };
  readonly stats: {
    readonly remoteCalls: number;
    readonly redirects: number;
    readonly retries: number;
    readonly opsOk: number;
    readonly opsFailed: number;
    readonly served: number;
  };
}

/** One handoff this node drove as leader (a join, a leave, a table joining). */
export interface HandoffRecord {
  readonly id: string;
  readonly phase: 'committed' | 'aborted';
  /** Entries moved (summed over every source). */
  readonly entries: number;
  /** Estimated bytes moved. */
  readonly bytes: number;
  readonly durationMs: number;
  /** Wall-clock ms when it ended. */
  readonly at: number;
  readonly error?: string;
}

/** A handoff this node takes part in, as its last progress event said (see `HandoffTracker`). */
export interface ActiveHandoff {
  readonly id: string;
  readonly role: 'source' | 'target' | 'leader';
  /** The last phase reported (`start`, `snapshot`, `delta`, `switch`, `staged`, `applied`). */
  readonly phase: string;
  readonly table?: string;
  readonly peer?: string;
  readonly entries: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Share of the role's phases passed, 0 to 1. */
  readonly progress: number;
}

/** Where one table's partitions live. */
export interface TablePartitionMap {
  readonly placement: 'partitions' | 'shards';
  /**
   * The copies of every partition, primary first (`'partitions'` tables);
   * empty for `'shards'` tables, whose shards are per node (see `balance`).
   */
  readonly partitions: ReadonlyArray<readonly string[]>;
}

/** A cluster node as the server sees it (structurally, `ClusterNode`). */
export interface ClusterSource {
  readonly nodeId: string;
  readonly status: NodeHealthReport['status'];
  health(): NodeHealthReport;
  /** The last handoffs this node led, oldest first (when the source records them). */
  recentHandoffs?(): readonly HandoffRecord[];
  /** Where every table's partitions live under the current view (for `/dashboard`). */
  partitionMap?(): Readonly<Record<string, TablePartitionMap>>;
  /** Handoffs this node takes part in right now (for `/dashboard`). */
  activeHandoffs?(): readonly ActiveHandoff[];
}
