/**
 * @packageDocumentation
 * `@supercache/core` — the two facades, composed from the layers below:
 *
 * - {@link SuperCache}: one cache per node (tuple storage over
 *   `numPartition` partitions, batch writes, `lazyPut`, KeyValue, Queue,
 *   Stack and Struct stores, stats) with a synchronous `local` view;
 * - {@link PartitionedTable}: named tables with the whole storage API,
 *   routed by rendezvous hashing (PartitionedEts), in instance, module
 *   ({@link PartitionedEts}) and definition ({@link definePartitionedTable})
 *   forms.
 *
 * Both are asynchronous and route every operation through a router
 * `Backend`, so the same code runs in local and distributed mode; the
 * cluster package plugs in through {@link ClusterProvider}, built by
 * `clusterProvider` from the `@supercache/core/cluster` entry point.
 */

// Re-exported from the layers below so one import serves an application.
// Distributed mode's names (clusterProvider, ClusterNode, the transports,
// CHANNELS) live in `@supercache/core/cluster`, so that this entry loads no
// HTTP stack.
export type { TableCursor } from '@supercache/router';
export type { Clock, MatchSpec, Page, Pattern, TableType, Term, Tuple } from '@supercache/storage';
export { _, $, $_, $$, SuperCacheError } from '@supercache/storage';
export type {
  ClusterNodeStats,
  ClusterProvider,
  ClusterProviderConfig,
  ClusterProviderFactory,
  ClusterStats,
  ClusterTableSpec,
  ReplicationMode,
  ScopedBackend,
} from './backend.js';
export type {
  BalanceHealth,
  CacheHealth,
  HealthAlert,
  HealthAlertKind,
  HealthEvents,
  NodeHealth,
  ReplicationHealth,
  ReplicationProgressEvent,
} from './health.js';
export { HEALTH_CHANNELS } from './health.js';
export type { HealthOptions, HealthThresholds } from './health-options.js';
export { DEFAULT_HEALTH } from './health-options.js';
export type { LocalScopeOptions } from './local-view.js';
export { LocalView } from './local-view.js';
export type { Logger } from './log.js';
export { debugEnabled, setDebug } from './log.js';
export type {
  ClusterMode,
  LazyPutOptions,
  ReadMode,
  SuperCacheConfig,
  SuperCacheOptions,
} from './options.js';
export type {
  PartitionedEtsModule,
  PartitionedTableApi,
  PartitionedTableCallbacks,
  PartitionedTableDefinition,
  PartitionedTableInfo,
  PartitionedTableOptions,
  TableMethod,
} from './partitioned-table.js';
export {
  definePartitionedTable,
  PartitionedEts,
  PartitionedLocalView,
  PartitionedTable,
  TABLE_METHODS,
} from './partitioned-table.js';
export type {
  PartitionScopeOptions,
  PartitionStats,
  PutOptions,
  ReadOptions,
  SuperCacheStats,
} from './super-cache.js';
export { SuperCache } from './super-cache.js';
export type { OperationContext, OperationKind } from './tracing.js';
