/**
 * What the parts of a cluster node (heartbeats, the view coordinator, the
 * handoff participant, the peer handlers, health) share: the node's
 * settings, its state, and the few operations they call on it. The node
 * builds one and hands it to each part, so no part reaches into another.
 */

import type { DistributedTable } from './distributed-table.js';
import type { HandoffProgressEvent } from './events.js';
import type { ClusterCounters } from './health.js';
import type { FailureDetector, PeerDirectory, ServingLease } from './membership.js';
import type { NodeSettings, NodeStatus } from './node-options.js';
import type { View } from './view.js';
import type { ViewGuard } from './view-guard.js';
import type { TableJoin } from './view-ops.js';

/** The shared state and operations of one node. */
export interface NodeContext {
  readonly settings: NodeSettings;
  readonly nodeId: string;
  readonly counters: ClusterCounters;
  readonly detector: FailureDetector;
  readonly lease: ServingLease;
  readonly peers: PeerDirectory;
  /** The tables opened on this node, by name. */
  readonly tables: ReadonlyMap<string, DistributedTable>;
  /** The view this node holds. */
  readonly view: View;
  /** Lifecycle state. */
  readonly status: NodeStatus;
  /** True once the node was stopped (it cannot start again). */
  readonly stopped: boolean;
  /** The smallest member this node believes alive. */
  readonly leader: string | undefined;
  setStatus(status: NodeStatus): void;
  /** Adopts a newer view this node made; true when adopted. */
  adoptView(view: View): boolean;
  /**
   * Adopts a newer view `from` sent, after the guard's checks.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when they refuse it (the view is unchanged).
   */
  adoptFrom(view: View, from: string): boolean;
  /** The checks of views, proposals and announcements from peers. */
  readonly guard: ViewGuard;
  /** Drops the view and all data: the node is about to join another cluster. */
  resetForMerge(): void;
  /** Joins the cluster through any known peer (see ClusterNode.start). */
  join(): Promise<void>;
  /** Pulls the view from `from` when it is newer. */
  syncView(from: string, epoch: number): Promise<void>;
  /** Calls a node (this one directly); control-plane calls travel alone. */
  callNode<T = unknown>(peer: string, method: string, body: unknown, timeoutMs?: number): Promise<T>;
  /** Emits a handoff progress event. */
  progress(event: Omit<HandoffProgressEvent, 'node'>): void;
  /** The tables this node would host, as a join registers them. */
  localTableJoins(): Record<string, TableJoin>;
  /** Counts and reports an error a background task swallowed. */
  swallowed(where: string, error: unknown): void;
}
