/**
 * Reads a cluster node's partition map for the dashboard: for every table
 * of the current view, the copies of each partition, primary first.
 */

import type { ClusterNode } from '@supercache/cluster';
import type { TablePartitionMap } from './cluster-source.js';

/** The partition map of every table `node` hosts or knows of in its view. */
export function partitionMapOf(node: ClusterNode): Record<string, TablePartitionMap> {
  const view = node.view;
  const out: Record<string, TablePartitionMap> = {};
  for (const [name, spec] of Object.entries(view.tables)) {
    const table = node.getTable(name);
    if (spec.placement !== 'partitions' || table === undefined) {
      out[name] = { placement: spec.placement, partitions: [] };
      continue;
    }
    const partitions: string[][] = [];
    for (let p = 0; p < spec.numPartitions; p++) partitions.push([...table.replicasOf(p, view)]);
    out[name] = { placement: 'partitions', partitions };
  }
  return out;
}
