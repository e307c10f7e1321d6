/**
 * One node process put together: the HTTP transport, the cluster node, the
 * distributed SuperCache over it, and the Fastify server that carries both
 * the peer routes and the client API on one port (or two servers, when the
 * client API listens on its own `--client-host/--client-port`).
 *
 * Order matters. The server listens first (with port 0 the address is only
 * known then, and peers must be able to reach this node while it joins);
 * then `join()` starts the cache, which joins the cluster and receives its
 * share of the data. `/ready` answers 503 until that is done.
 */

import { promises as dns } from 'node:dns';
import type { AddressInfo } from 'node:net';
import {
  ClusterNode,
  dnsDiscovery,
  HttpTransport,
  type ResolvedTls,
  readTlsFiles,
  resolveTls,
  type ServerLimits,
} from '@supercache/cluster';
import { SuperCache } from '@supercache/core';
import { clusterProvider } from '@supercache/core/cluster';
import type { FastifyInstance } from 'fastify';
import type { NodeConfig } from './args.js';
import type { ClientApiLimits } from './client-api.js';
import type {
  ActiveHandoff,
  ClusterSource,
  HandoffRecord,
  NodeHealthReport,
  TablePartitionMap,
} from './cluster-source.js';
import { HandoffTracker } from './dashboard-handoffs.js';
import { partitionMapOf } from './dashboard-source.js';
import { createNodeServer } from './server.js';

/** A resolver that asks the given DNS servers instead of the system's. */
function resolverOn(servers: readonly string[]): dns.Resolver {
  const resolver = new dns.Resolver();
  resolver.setServers([...servers]);
  return resolver;
}

/** How many led handoffs `/v1/stats` remembers. */
const MAX_HANDOFF_RECORDS = 32;

/** A started node process. */
export interface NodeRuntime {
  readonly id: string;
  /** The URL of the peer routes (and of the client API, unless it listens apart). */
  readonly url: string;
  /** The URL of the JSON client API (`url`, or its own with `--client-host/--client-port`). */
  readonly clientUrl: string;
  /** `'bearer'` when the client API needs a token, `'none'` when it is open (loopback only). */
  readonly clientAuth: 'bearer' | 'none';
  readonly app: FastifyInstance;
  readonly cache: SuperCache;
  /** Joins the cluster (or forms one); resolves once this node owns its partitions. */
  join(): Promise<void>;
  /** Leaves the cluster gracefully (hands its data off), then closes the server. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * A {@link ClusterSource} for a node that does not exist yet: the cluster
 * node is created when the cache starts, after the server already answers.
 */
class LateClusterSource implements ClusterSource {
  readonly nodeId: string;
  target: ClusterNode | undefined;
  readonly handoffs: HandoffRecord[] = [];
  readonly tracker = new HandoffTracker();

  recentHandoffs(): readonly HandoffRecord[] {
    return this.handoffs;
  }

  partitionMap(): Record<string, TablePartitionMap> {
    return this.target === undefined ? {} : partitionMapOf(this.target);
  }

  activeHandoffs(): readonly ActiveHandoff[] {
    if (this.target !== undefined) this.tracker.committed(this.target.view.handoffs);
    return this.tracker.active();
  }

  constructor(nodeId: string) {
    this.nodeId = nodeId;
  }

  get status(): NodeHealthReport['status'] {
    return this.target?.status ?? 'joining';
  }

  health(): NodeHealthReport {
    if (this.target !== undefined) return this.target.health();
    return {
      node: this.nodeId,
      status: 'joining',
      epoch: 0,
      leader: undefined,
      members: [],
      balance: {},
      successRate: 1,
      handoff: {
        active: false,
        committed: 0,
        aborted: 0,
        entriesSent: 0,
        entriesReceived: 0,
        lastDurationMs: 0,
        lastEntries: 0,
      },
      stats: { remoteCalls: 0, redirects: 0, retries: 0, opsOk: 0, opsFailed: 0, served: 0 },
    };
  }
}

function urlOf(app: FastifyInstance, secure: boolean): string {
  const info = app.server.address() as AddressInfo;
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return `${secure ? 'https' : 'http'}://${host}:${info.port}`;
}

/**
 * Reads and checks the TLS files once: the same certificate serves HTTPS and
 * is presented to peers; the CA checks both directions.
 */
function loadTls(config: NodeConfig): ResolvedTls | undefined {
  if (config.tls === undefined) return undefined;
  const files = readTlsFiles({
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    ...(config.tls.caFile === undefined ? {} : { caFile: config.tls.caFile }),
  });
  return resolveTls({ ...files, requireClientCert: config.tls.clientAuth === 'require' });
}

/**
 * Builds the node and starts listening; call `join()` next.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an invalid setting (a
 *   TLS file that cannot be read or loaded); the listen error (EADDRINUSE)
 *   when the port is taken.
 */
export async function startNodeRuntime(config: NodeConfig): Promise<NodeRuntime> {
  const tls = loadTls(config);
  const transport = new HttpTransport({
    nodeId: config.id,
    secret: config.secret,
    ...(tls === undefined ? {} : { tls }),
  });
  const source = new LateClusterSource(config.id);
  let node: ClusterNode | undefined;
  const cache = new SuperCache({
    cluster: 'distributed',
    nodeId: config.id,
    numPartition: config.partitions,
    tableType: config.tableType,
    replicationFactor: config.replicationFactor,
    replicationMode: config.replicationMode,
    // The node exists once the address is known (after listen); the cache
    // asks for its provider only in start().
    clusterProvider: (c) => clusterProvider({ node: node as ClusterNode })(c),
  });
  const limits: ServerLimits = {};
  if (config.headersTimeoutMs !== undefined) limits.headersTimeoutMs = config.headersTimeoutMs;
  if (config.requestTimeoutMs !== undefined) limits.requestTimeoutMs = config.requestTimeoutMs;
  else if (config.headersTimeoutMs !== undefined && config.headersTimeoutMs > 30_000) {
    limits.requestTimeoutMs = config.headersTimeoutMs;
  }
  if (config.keepAliveTimeoutMs !== undefined) limits.keepAliveTimeoutMs = config.keepAliveTimeoutMs;
  if (config.idleTimeoutMs !== undefined) limits.idleTimeoutMs = config.idleTimeoutMs;
  if (config.maxConnections !== undefined) limits.maxConnections = config.maxConnections;
  if (config.maxConnectionsPerAddress !== undefined) {
    limits.maxConnectionsPerAddress = config.maxConnectionsPerAddress;
  }
  const api: ClientApiLimits = {};
  if (config.maxPageSize !== undefined) {
    api.maxPageSize = config.maxPageSize;
    api.defaultPageSize = Math.min(1000, config.maxPageSize);
  }
  if (config.maxCursorsPerClient !== undefined) api.maxCursorsPerClient = config.maxCursorsPerClient;
  const hasTokens = config.clientTokens.length + config.readOnlyClientTokens.length > 0;
  const auth = hasTokens
    ? { secret: config.secret, tokens: config.clientTokens, readOnlyTokens: config.readOnlyClientTokens }
    : undefined;
  const clientApi = auth === undefined ? {} : { auth };
  const peerTokens = [
    ...config.clientTokens.map((token) => ({ token })),
    ...config.readOnlyClientTokens.map((token) => ({ token, readOnly: true })),
  ];
  const common = { cache, cluster: source, nodeId: config.id, logLevel: config.logLevel, limits, api };
  const app = await createNodeServer({
    ...common,
    peer: { endpoint: transport, secret: config.secret, clientTokens: peerTokens },
    clientApi: config.clientListen === undefined ? clientApi : false,
    ...(tls === undefined ? {} : { tls }),
  });
  const clientApp =
    config.clientListen === undefined
      ? undefined
      : await createNodeServer({ ...common, clientApi, ...(tls === undefined ? {} : { tls }) });
  try {
    await app.listen({ host: config.host, port: config.port });
    if (clientApp !== undefined && config.clientListen !== undefined) {
      await clientApp.listen({ host: config.clientListen.host, port: config.clientListen.port });
    }
  } catch (e) {
    await app.close().catch(() => {});
    await clientApp?.close().catch(() => {});
    throw e;
  }
  const address = urlOf(app, tls !== undefined);
  node = new ClusterNode({
    nodeId: config.id,
    transport,
    address,
    peers: config.peers,
    ...(config.discover === undefined
      ? {}
      : {
          discover: dnsDiscovery({
            name: config.discover.name,
            records: config.discover.records,
            // The bound port: peers listen on the same one (A/AAAA records carry no port).
            port: Number(new URL(address).port),
            secret: config.secret,
            nodeId: config.id,
            ...(config.discover.dnsServers === undefined
              ? {}
              : { resolver: resolverOn(config.discover.dnsServers) }),
          }),
        }),
    ...(config.failureTimeoutMs === undefined ? {} : { failureTimeoutMs: config.failureTimeoutMs }),
    ...(config.heartbeatMs === undefined ? {} : { heartbeatMs: config.heartbeatMs }),
    ...(config.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: config.maxClockSkewMs }),
    // The six settings every member must share (a joiner that differs is refused).
    config: {
      numPartition: config.partitions,
      tableType: config.tableType,
      replicationFactor: config.replicationFactor,
      replicationMode: config.replicationMode,
      keyPos: 0,
      partitionPos: 0,
    },
  });
  source.target = node;
  const clusterNode = node;
  node.on('viewChange', (e) => {
    app.log.info(
      { epoch: e.view.epoch, members: e.view.members, added: e.added, removed: e.removed },
      'view changed',
    );
  });
  node.on('handoffProgress', (e) => {
    source.tracker.observe(e);
    if (e.role !== 'leader' || (e.phase !== 'committed' && e.phase !== 'aborted')) return;
    app.log.info({ handoff: e.handoff, phase: e.phase, entries: e.entries, ms: e.durationMs }, 'handoff');
    source.handoffs.push({
      id: e.handoff,
      phase: e.phase,
      entries: e.entries,
      bytes: e.bytes,
      durationMs: e.durationMs,
      at: Date.now(),
      ...(e.error === undefined ? {} : { error: e.error }),
    });
    if (source.handoffs.length > MAX_HANDOFF_RECORDS) source.handoffs.shift();
  });
  let stopping: Promise<void> | undefined;
  return {
    id: config.id,
    url: address,
    clientUrl: clientApp === undefined ? address : urlOf(clientApp, tls !== undefined),
    clientAuth: auth === undefined ? 'none' : 'bearer',
    app,
    cache,
    async join() {
      await cache.start();
    },
    shutdown() {
      stopping ??= (async () => {
        try {
          // Leave first (the peer routes keep serving the handoff), then
          // drop the cache, then close the server.
          await clusterNode.leave();
          await clusterNode.stop();
          await cache.stop();
        } finally {
          await transport.stop().catch(() => {});
          await clientApp?.close().catch(() => {});
          await app.close();
        }
      })();
      return stopping;
    },
  };
}
