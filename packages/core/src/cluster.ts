/**
 * @packageDocumentation
 * `@supercache/core/cluster` — distributed mode's entry point: the
 * {@link clusterProvider} that plugs a {@link ClusterNode} into `SuperCache`
 * and `PartitionedTable`, and the cluster package's node and transports.
 *
 * Kept apart from `@supercache/core` so that an application in local mode
 * loads no HTTP stack (Fastify, undici, msgpackr): only this entry imports
 * `@supercache/cluster`, an optional peer dependency of core.
 */

export type {
  ClusterNodeOptions,
  DnsDiscoveryOptions,
  DnsResolver,
  DnsTarget,
  PeerInfo,
} from '@supercache/cluster';
export {
  CHANNELS,
  ClusterNode,
  dnsDiscovery,
  HttpTransport,
  identifyPeer,
  MemoryNetwork,
  MemoryTransport,
  resolveDnsPeers,
} from '@supercache/cluster';
export type { ClusterProviderOptions } from './cluster-provider.js';
export { clusterProvider, parsePeer } from './cluster-provider.js';
