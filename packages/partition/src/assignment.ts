/** Whole-cluster placement: the owners of every partition, and what changes between two views. */

import { badArg, SuperCacheError } from '@supercache/storage';
import { nodeHashes, ownersWithHashes } from './rendezvous.js';
import { checkNodeIdArray, checkPartitionCount, checkReplicationFactor, show } from './validate.js';

/** The most partitions {@link computeAssignment} materializes (2^24). */
export const MAX_ASSIGNED_PARTITIONS = 1 << 24;

/**
 * The owners of every partition under one membership: `owners[p]` is
 * `owners(p, nodes, replicationFactor)`, primary first. Deeply frozen.
 */
export interface PartitionMap {
  /** The partition count. */
  readonly numPartitions: number;
  /** The requested replication factor; a partition has `min(rf, nodes.length)` owners. */
  readonly replicationFactor: number;
  /** The member node ids, sorted ascending. */
  readonly nodes: readonly string[];
  /** For each partition, its owners: the primary, then the replicas in rank order. */
  readonly owners: readonly (readonly string[])[];
}

/**
 * The owners of every partition, computed with rendezvous hashing
 * ({@link owners}). Costs `numPartitions × nodeIds.length` scores.
 *
 * @param numPartitions - an integer in `[1, 2^24]`.
 * @param nodeIds - distinct, non-empty node ids; may be empty (no owners).
 * @param replicationFactor - owners per partition, primary included. @defaultValue 1
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when an argument is invalid.
 */
export function computeAssignment(
  numPartitions: number,
  nodeIds: readonly string[],
  replicationFactor = 1,
): PartitionMap {
  checkPartitionCount(numPartitions);
  if (numPartitions > MAX_ASSIGNED_PARTITIONS) {
    throw badArg(`computeAssignment supports at most 2^24 partitions, got ${numPartitions}`, {
      numPartitions,
    });
  }
  checkReplicationFactor(replicationFactor);
  checkNodeIdArray(nodeIds);
  // Sorting first makes the map independent of the caller's order (owners are anyway).
  const nodes = Object.freeze([...nodeIds].sort());
  const hashes = nodeHashes(nodes);
  const k = Math.min(replicationFactor, nodes.length);
  const idx = new Int32Array(k);
  const scores = new Float64Array(k);
  const table = new Array<readonly string[]>(numPartitions);
  for (let p = 0; p < numPartitions; p++)
    table[p] = Object.freeze(ownersWithHashes(nodes, hashes, p, idx, scores));
  return Object.freeze({ numPartitions, replicationFactor, nodes, owners: Object.freeze(table) });
}

/** How one partition's owners differ between two {@link PartitionMap}s. */
export interface PartitionChange {
  /** The partition index. */
  readonly partition: number;
  /** Its owners before, primary first. */
  readonly before: readonly string[];
  /** Its owners after, primary first. */
  readonly after: readonly string[];
  /** True when the primary changed (including from or to no primary). */
  readonly primaryChanged: boolean;
  /** Owners after that were not owners before: they must receive the data. */
  readonly gained: readonly string[];
  /** Owners before that are not owners after: they may drop the data once handoff completes. */
  readonly lost: readonly string[];
}

/**
 * The partitions whose primary or owner set differs between two maps, in
 * partition order. A partition whose replicas only swapped rank is not
 * listed.
 *
 * @throws SuperCacheError `SC_ERR_PARTITION_MISMATCH` when the maps have
 *   different partition counts; `SC_ERR_BAD_ARG` when either is not a
 *   partition map.
 */
export function diffAssignments(before: PartitionMap, after: PartitionMap): PartitionChange[] {
  checkMap(before, 'before');
  checkMap(after, 'after');
  if (before.numPartitions !== after.numPartitions) {
    throw new SuperCacheError(
      'SC_ERR_PARTITION_MISMATCH',
      `cannot diff partition maps with ${before.numPartitions} and ${after.numPartitions} partitions`,
      { details: { before: before.numPartitions, after: after.numPartitions } },
    );
  }
  const changes: PartitionChange[] = [];
  for (let p = 0; p < before.numPartitions; p++) {
    const b = before.owners[p] as readonly string[];
    const a = after.owners[p] as readonly string[];
    if (b === a) continue;
    const primaryChanged = b[0] !== a[0];
    const gained = a.filter((n) => !b.includes(n));
    const lost = b.filter((n) => !a.includes(n));
    if (primaryChanged || gained.length > 0 || lost.length > 0) {
      changes.push(
        Object.freeze({
          partition: p,
          before: b,
          after: a,
          primaryChanged,
          gained: Object.freeze(gained),
          lost: Object.freeze(lost),
        }),
      );
    }
  }
  return changes;
}

function checkMap(map: unknown, name: string): void {
  const m = map as Partial<PartitionMap> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.numPartitions !== 'number' ||
    !Array.isArray(m.owners) ||
    m.owners.length !== m.numPartitions
  ) {
    throw badArg(`${name} must be a PartitionMap from computeAssignment, got ${show(map)}`);
  }
}
