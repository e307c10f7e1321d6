/**
 * Distributed mode: the {@link ClusterProvider} that plugs the cluster
 * package's {@link ClusterNode} into `SuperCache` and `PartitionedTable`.
 *
 * ```ts
 * const transport = new HttpTransport({ nodeId: 'a', secret, listen: { host: '127.0.0.1', port: 4001 } });
 * const cache = new SuperCache({
 *   cluster: 'distributed',
 *   numPartition: 16,
 *   peers: ['b=http://127.0.0.1:4002'],
 *   clusterProvider: clusterProvider({ transport }),
 * });
 * await cache.start(); // joins, or forms a cluster when no peer answers
 * ```
 */

import {
  ClusterNode,
  type ClusterNodeOptions,
  type DistributedTableOptions,
  type PeerInfo,
} from '@supercache/cluster';
import type { Transport } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import type {
  ClusterNodeStats,
  ClusterProvider,
  ClusterProviderConfig,
  ClusterProviderFactory,
  ClusterStats,
  ClusterTableSpec,
  ScopedBackend,
} from './backend.js';

/** Options of {@link clusterProvider}. */
export interface ClusterProviderOptions
  extends Partial<Omit<ClusterNodeOptions, 'nodeId' | 'transport' | 'peers' | 'config'>> {
  /**
   * A started or unstarted node to share between several facades (a
   * `SuperCache` and `PartitionedTable`s in one process). The provider
   * starts it if needed and never stops it: its owner calls `leave()`.
   */
  node?: ClusterNode;
  /** The transport of a node this provider creates (required without `node`). */
  transport?: Transport;
  /**
   * Peers of a node this provider creates. @defaultValue the facade's
   * `peers`, each `'id=url'` (or a bare URL, used as both id and address)
   */
  peers?: readonly PeerInfo[];
  /** Node id of a node this provider creates. @defaultValue the facade's `nodeId`, else the transport's */
  nodeId?: string;
}

/**
 * Parses a facade `peers` entry: `'id=http://host:port'`, or a bare address
 * that then doubles as the id.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` for an empty entry.
 */
export function parsePeer(entry: string): PeerInfo {
  const s = entry.trim();
  if (s.length === 0) throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'peers: an entry is empty');
  const eq = s.indexOf('=');
  if (eq > 0 && !s.slice(0, eq).includes('/')) return { id: s.slice(0, eq), address: s.slice(eq + 1) };
  return { id: s, address: s };
}

/** Table name in the cluster: SuperCache's three tables get a reserved prefix. */
function clusterName(spec: ClusterTableSpec): string {
  return spec.kind === 'supercache' ? `supercache.${spec.table}` : spec.table;
}

/**
 * A {@link ClusterProviderFactory} over the cluster package. Pass it as the
 * `clusterProvider` option of `SuperCache` (with `cluster: 'distributed'`)
 * or of `PartitionedTable.start` (with `distributed: true`).
 */
export function clusterProvider(options: ClusterProviderOptions): ClusterProviderFactory {
  const { node: shared, transport, peers, nodeId, ...nodeOptions } = options;
  if (shared === undefined && transport === undefined) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'clusterProvider needs a `node` or a `transport`');
  }
  return (config: ClusterProviderConfig): ClusterProvider => {
    let node: ClusterNode;
    const owned = shared === undefined;
    if (shared !== undefined) {
      node = shared;
    } else {
      const t = transport as Transport;
      const id = nodeId ?? config.nodeId ?? t.nodeId;
      if (id !== t.nodeId) {
        throw new SuperCacheError(
          'SC_ERR_BAD_CONFIG',
          `nodeId ${JSON.stringify(id)} differs from the transport's node id ${JSON.stringify(t.nodeId)}`,
        );
      }
      node = new ClusterNode({
        ...nodeOptions,
        nodeId: id,
        transport: t,
        peers: peers ?? config.peers.map(parsePeer),
        config:
          config.kind === 'supercache'
            ? {
                numPartition: config.numPartition,
                replicationFactor: config.replicationFactor,
                replicationMode: config.replicationMode,
                ...(config.tableType === undefined ? {} : { tableType: config.tableType }),
                ...(config.keyPos === undefined ? {} : { keyPos: config.keyPos }),
                ...(config.partitionPos === undefined ? {} : { partitionPos: config.partitionPos }),
              }
            : {},
      });
    }
    const tables: string[] = [];
    return {
      nodeId: node.nodeId,
      async start() {
        if (!node.started) await node.start();
      },
      async createBackend(spec: ClusterTableSpec): Promise<ScopedBackend> {
        const name = clusterName(spec);
        const callbacks: NonNullable<DistributedTableOptions['callbacks']> = {};
        if (config.nodeAdded !== undefined) callbacks.nodeAdded = config.nodeAdded;
        if (config.nodeRemoved !== undefined) callbacks.nodeRemoved = config.nodeRemoved;
        const table = node.table(name, {
          type: spec.shards.type,
          keyPos: spec.shards.keyPos,
          partitionPos: spec.partitionPos ?? spec.shards.keyPos,
          placement: spec.kind === 'supercache' ? 'partitions' : 'shards',
          ...(spec.kind === 'supercache'
            ? { numPartitions: spec.shards.shardCount }
            : { localShards: spec.shards.shardCount }),
          ...(spec.hash === undefined ? {} : { hash: spec.hash }),
          ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
          ...(spec.replicationMode === undefined ? {} : { replicationMode: spec.replicationMode }),
          shards: spec.shards,
          callbacks,
        });
        await table.ready();
        tables.push(name);
        return table.backend;
      },
      async stop() {
        if (owned && node.started) await node.leave();
      },
      health: () => node.health(),
      async clusterStats(): Promise<ClusterStats> {
        const health = node.health();
        const main = node.getTable(tables[0] ?? '');
        const owned = main?.ownedCounts() ?? {};
        // Each member's object count in the main table: one `size` call per
        // peer; -1 when a peer does not answer.
        const sizes = await Promise.all(
          health.members.map(async (m) => {
            if (main === undefined) return 0;
            if (m.id === node.nodeId) return main.ownedSize();
            try {
              const epoch = node.view.epoch;
              return (await node.callNode(m.id, 'sc.node', {
                t: main.name,
                e: epoch,
                c: 'size',
                a: [],
              })) as number;
            } catch {
              return -1;
            }
          }),
        );
        // Backup copies per member: every copy of a partition but its primary.
        const backups: Record<string, number> = {};
        if (main !== undefined && main.spec.placement === 'partitions') {
          for (let p = 0; p < main.spec.numPartitions; p++) {
            for (const b of main.replicasOf(p).slice(1)) backups[b] = (backups[b] ?? 0) + 1;
          }
        }
        const nodes: ClusterNodeStats[] = health.members.map((m, i) => ({
          nodeId: m.id,
          status: m.alive ? 'up' : 'down',
          self: m.id === node.nodeId,
          primaryPartitions: owned[m.id] ?? 0,
          replicaPartitions: backups[m.id] ?? 0,
          size: sizes[i] as number,
        }));
        return {
          mode: 'distributed',
          nodeId: node.nodeId,
          nodes,
          numPartition: config.numPartition,
          replicationMode: config.replicationMode,
          replicationFactor: config.replicationFactor,
        };
      },
    };
  };
}
