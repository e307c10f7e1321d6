/**
 * A {@link ClusterHandle} over the memory transport: every node in this
 * process, on one {@link MemoryNetwork} (so tests can inject faults).
 */

import { ClusterNode, type ClusterNodeOptions } from '../src/node.js';
import { MemoryNetwork } from '../src/transport-memory.js';
import type { ClusterConfig } from '../src/view.js';
import {
  type ClusterHandle,
  type MakeCluster,
  type NodeStartOptions,
  SUITE_TABLES,
} from './cluster-suite.js';

/** A memory cluster plus direct access to its network and nodes. */
export interface MemoryCluster extends ClusterHandle {
  readonly net: MemoryNetwork;
  readonly nodes: Map<string, ClusterNode>;
  node(id: string): ClusterNode;
}

/** Options shared by every node of a memory cluster. */
export type MemoryClusterOptions = Partial<Omit<ClusterNodeOptions, 'nodeId' | 'transport' | 'peers'>> & {
  /** Seed of the network's PRNG. @defaultValue 1 */
  seed?: number;
  /** Delay of every message in ms (makes handoffs overlap the load). @defaultValue 0 */
  delayMs?: number;
};

/** Creates an empty memory cluster. */
export function memoryCluster(options: MemoryClusterOptions = {}): MemoryCluster {
  const net = new MemoryNetwork({ seed: options.seed ?? 1 });
  const nodes = new Map<string, ClusterNode>();
  const everStarted: string[] = [];
  const node = (id: string): ClusterNode => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  const { seed: _seed, delayMs, ...nodeOptions } = options;
  if (delayMs !== undefined && delayMs > 0) net.delay(delayMs);
  return {
    net,
    nodes,
    node,
    async start(id: string, o: NodeStartOptions = {}) {
      const transport = net.createTransport(id, { timeoutMs: options.callTimeoutMs ?? 2000 });
      const n = new ClusterNode({
        heartbeatMs: 50,
        failureTimeoutMs: 500,
        ...nodeOptions,
        nodeId: id,
        transport,
        peers: everStarted.map((p) => ({ id: p, address: p })),
        ...(o.config === undefined ? {} : { config: o.config as Partial<ClusterConfig> }),
      });
      for (const t of o.tables ?? SUITE_TABLES) {
        n.table(t.name, {
          type: t.type,
          placement: t.placement,
          ...(t.numPartitions === undefined ? {} : { numPartitions: t.numPartitions }),
          ...(t.placement === 'shards' ? { localShards: o.localShards?.[t.name] ?? t.localShards ?? 1 } : {}),
          ...(t.replicas === undefined ? {} : { replicas: t.replicas }),
          ...(t.replicationMode === undefined ? {} : { replicationMode: t.replicationMode }),
        });
      }
      await n.start();
      nodes.set(id, n);
      everStarted.push(id);
    },
    async leave(id: string) {
      await node(id).leave();
      nodes.delete(id);
    },
    async crash(id: string) {
      net.kill(id);
      await node(id).stop();
      nodes.delete(id);
    },
    table(id: string, table: string) {
      const t = node(id).getTable(table);
      if (t === undefined) throw new Error(`node ${id} has no table ${table}`);
      return t.router;
    },
    async members(id: string) {
      return node(id).view.members;
    },
    async ownedSize(id: string, table: string) {
      return node(id).getTable(table)?.ownedSize() ?? 0;
    },
    events(id: string) {
      return node(id);
    },
    async close() {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
      nodes.clear();
    },
  };
}

/** A factory for {@link clusterSuite}. */
export function memoryClusterFactory(options: MemoryClusterOptions = {}): MakeCluster {
  return () => memoryCluster(options);
}
