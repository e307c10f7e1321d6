/**
 * Operation tracing: every command a facade routes (through its
 * `GatedBackend`) runs inside `diagnostics_channel.tracingChannel`
 * `supercache:operation` while someone subscribes, so OpenTelemetry or an
 * APM can time it without SuperCache knowing about them. Nobody
 * subscribing costs one `hasSubscribers` test per operation.
 */

import diagnostics from 'node:diagnostics_channel';

/** Which backend method ran the command. */
export type OperationKind = 'exec' | 'broadcast' | 'execPartition' | 'broadcastPartitions' | 'cursor';

/**
 * The context object of a traced operation: the same object reaches the
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error` subscribers, so a
 * subscriber may keep its own state on it (a span, a start time).
 */
export interface OperationContext {
  /** The table: SuperCache's `main`, `kv` or `sys`, or a PartitionedTable's name. */
  readonly table: string;
  /** The router command (`insert`, `lookup`, `kv.get`, …) or the cursor kind. */
  readonly command: string;
  /** The node that issued the operation (`'local'` in local mode unless `nodeId` is set). */
  readonly node: string;
  readonly kind: OperationKind;
  /** The partition index, for operations addressed to one (`execPartition`). */
  readonly partition?: number;
  /** Set by `tracePromise` when the operation fails. */
  error?: unknown;
  /** Set by `tracePromise` when the operation succeeds. */
  result?: unknown;
}

/** The facades' operation tracing channel (`tracing:supercache:operation:start`, …). */
export const operationChannel: diagnostics.TracingChannel<unknown, OperationContext> =
  diagnostics.tracingChannel<unknown, OperationContext>('supercache:operation');

/** Where the traced operations of one backend happen. */
export interface TraceTarget {
  readonly table: string;
  readonly node: string;
}
