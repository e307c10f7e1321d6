/**
 * @packageDocumentation
 * `@supercache/cluster` — membership, failure detection, views and epochs,
 * handoff, health, and the two implementations of the router's `Transport`
 * contract: {@link MemoryTransport} on a {@link MemoryNetwork} (many nodes
 * in one process, with fault injection, for deterministic tests) and
 * {@link HttpTransport} (undici pools as the client, the
 * {@link supercachePeerPlugin} Fastify routes as the server).
 *
 * The peer protocol is versioned (`/_supercache/v1/...`), binary
 * (MessagePack through {@link encode} / {@link decode}), batched (calls to
 * one peer in one tick travel in one request) and authenticated by a
 * cluster secret. {@link HTTP_STATUS_BY_CODE} maps error codes to statuses.
 */

export const VERSION = '0.0.0';

export type { FlushMode, TransportStats } from './batcher.js';
export { ClusterBackend } from './cluster-backend.js';
export type { WireError } from './codec.js';
export { decode, encode, errorFromWire, errorToWire } from './codec.js';
export type {
  ClientTokenSpec,
  CredentialVerifierOptions,
  Principal,
} from './credentials.js';
export {
  CLIENT_METHODS,
  CredentialVerifier,
  clientToken,
  MIN_CLIENT_TOKEN_LENGTH,
  memberCredential,
} from './credentials.js';
export type {
  ChunkItem,
  DeltaItem,
  DistributedTableOptions,
  Owner,
  Remote,
  RetryPolicy,
  TableHost,
  WireEntry,
} from './distributed-table.js';
export { DistributedTable } from './distributed-table.js';
export type { DnsDiscoveryOptions, DnsResolver, DnsTarget } from './dns-discovery.js';
export { dnsDiscovery, identifyPeer, resolveDnsPeers } from './dns-discovery.js';
export type { ClusterEvents, HandoffPhase, HandoffProgressEvent, ViewChangeEvent } from './events.js';
export { CHANNELS } from './events.js';
export type {
  ClusterCounters,
  HealthReport,
  MemberHealth,
  ReplicaLag,
  TableBalance,
  TableReplication,
} from './health.js';
export { errorForHttpStatus, HTTP_STATUS_BY_CODE, httpStatusOf } from './http-status.js';
export type { ClusterNodeOptions, NodeStatus, PeerInfo } from './node.js';
export { ClusterNode } from './node.js';
export type { PeerPluginOptions } from './peer-plugin.js';
export { DEFAULT_BODY_LIMIT, supercachePeerPlugin } from './peer-plugin.js';
export type { PeerCallContext, PeerEndpoint } from './protocol.js';
export { MSGPACK_CONTENT_TYPE, NODE_HEADER, PEER_ROUTES, PROTOCOL_VERSION } from './protocol.js';
export type { ServerLimits } from './server-limits.js';
export {
  connectionStats,
  DEFAULT_SERVER_LIMITS,
  limitedServerFactory,
  resolveServerLimits,
} from './server-limits.js';
export type { Pem, ResolvedTls, TlsFiles, TlsOptions } from './tls.js';
export { readTlsFiles, resolveTls } from './tls.js';
export type { HttpTransportOptions } from './transport-http.js';
export { HttpTransport } from './transport-http.js';
export type {
  DropRule,
  MemoryNetworkOptions,
  MemoryTransportOptions,
  NetworkStats,
} from './transport-memory.js';
export { MemoryNetwork, MemoryTransport } from './transport-memory.js';
export type { ClusterConfig, Placement, TableSpec, View } from './view.js';
export { CONFIG_FIELDS, checkConfig, DEFAULT_CONFIG, EMPTY_VIEW, hostsOf } from './view.js';
