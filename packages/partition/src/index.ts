/**
 * @packageDocumentation
 * `@supercache/partition` — where a key lives. A stable 32-bit term hash
 * (MurmurHash3 x86_32 over the UTF-16LE code units of storage's canonical
 * encoding), partition indexes (`hash % numPartitions` or a user hash),
 * rendezvous (HRW) owners of a partition, rendezvous routing of keys over
 * `{node, partition}` shards, and the assignment diff the cluster layer
 * uses for handoff. Pure, synchronous, no I/O; depends only on
 * `@supercache/storage`.
 */

export type { PartitionChange, PartitionMap } from './assignment.js';
export { computeAssignment, diffAssignments, MAX_ASSIGNED_PARTITIONS } from './assignment.js';
export { hashBytes, hashTerm, hashUtf16 } from './hash.js';
export type { HashFn, Partitioner, PartitionerOptions } from './partitioner.js';
export { createPartitioner, partitionOf } from './partitioner.js';
export type { Shard, ShardHashFn, ShardRouter, ShardRouterOptions } from './rendezvous.js';
export {
  compareShards,
  createShardRouter,
  nodeShards,
  ownerShard,
  owners,
  rankNodes,
  score,
  shardScore,
} from './rendezvous.js';
export { MAX_PARTITIONS } from './validate.js';
