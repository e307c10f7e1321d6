/**
 * @packageDocumentation
 * Reference SuperCache node: a Fastify server carrying the peer protocol
 * (`/_supercache/v1/*`), a JSON client API, `/health`, `/ready` and
 * Prometheus `/metrics`; the `supercache-node` CLI; and helpers to run nodes
 * as child processes (the demo, the multi-process tests, the benchmark).
 */

export const VERSION = '0.0.0';

export type { NodeConfig, ParsedArgs, PeerArg } from './args.js';
export { OPTIONS, parseNodeArgs, parsePeers, UsageError, usage } from './args.js';
export { MAX_BATCH_TUPLES, registerClientApi } from './client-api.js';
export type {
  ClusterSource,
  HandoffRecord,
  NodeHealthReport,
  NodeMemberHealth,
  NodeTableBalance,
} from './cluster-source.js';
export type { JsonErrorBody } from './http-errors.js';
export { errorBody, jsonErrorHandler, toSuperCacheError } from './http-errors.js';
export type { JsonClientOptions, NodeStatsBody } from './json-client.js';
export { JsonClient } from './json-client.js';
export { MAX_JSON_DEPTH, termFromJson, termToJson } from './json-terms.js';
export { METRIC_NAMES, NodeMetrics } from './metrics.js';
export type { NodeCommand, NodeProcess, SpawnNodeOptions } from './node-process.js';
export { builtCliCommand, sourceCliCommand, spawnNode } from './node-process.js';
export type { NodeRuntime } from './runtime.js';
export { startNodeRuntime } from './runtime.js';
export type { HealthBody, LogLevel, NodeServerOptions } from './server.js';
export { createNodeServer, LOG_LEVELS } from './server.js';
