/**
 * Rendezvous (highest random weight) hashing.
 *
 * Every candidate gets a pseudo-random score for the thing being placed; the
 * highest score wins. Because a candidate's score does not depend on the
 * other candidates, adding one only takes what it now wins and removing one
 * only gives away what it held: about `1/N` of the placements move.
 */

import { badArg, type Term } from '@supercache/storage';
import { hashTerm } from './hash.js';
import { hashPair } from './murmur3.js';
import {
  checkNodeId,
  checkNodeIdArray,
  checkNodeIdAt,
  checkPartitionIndex,
  checkReplicationFactor,
  duplicateNodeId,
  show,
} from './validate.js';

/** True when (score `sa`, id `a`) ranks above (score `sb`, id `b`): higher score, then smaller id. */
function beats(sa: number, a: string, sb: number, b: string): boolean {
  return sa > sb || (sa === sb && a < b);
}

// Node ids repeat on every call, so their hashes are memoized. The cache is
// bounded and simply cleared when full: ids change rarely and rehashing is cheap.
const NODE_HASH_CACHE_MAX = 4096;
const nodeHashCache = new Map<string, number>();

/** The per-node input to every score: the node id hashed as a string term. */
function nodeHash(nodeId: string): number {
  let h = nodeHashCache.get(nodeId);
  if (h === undefined) {
    h = hashTerm(nodeId);
    if (nodeHashCache.size >= NODE_HASH_CACHE_MAX) nodeHashCache.clear();
    nodeHashCache.set(nodeId, h);
  }
  return h;
}

// Reused by owners() so the common call allocates only its result.
let scratchHashes = new Int32Array(16);

// Below this many nodes a quadratic scan over the hashes beats building a Set.
const SMALL = 16;

/**
 * Validates a node id list (an array of distinct non-empty strings) and
 * returns their hashes: in a fresh array, or in a shared scratch array that
 * the caller must consume before the next call.
 */
function checkedNodeHashes(nodeIds: readonly string[], fresh: boolean): Int32Array {
  const ids = checkNodeIdArray(nodeIds);
  const n = ids.length;
  let hashes: Int32Array;
  if (fresh) hashes = new Int32Array(n);
  else {
    if (scratchHashes.length < n) scratchHashes = new Int32Array(n * 2);
    hashes = scratchHashes;
  }
  for (let i = 0; i < n; i++) hashes[i] = nodeHash(checkNodeIdAt(ids, i));
  // Equal ids have equal hashes, so comparing the numbers first finds duplicates cheaply.
  if (n <= SMALL) {
    for (let i = 1; i < n; i++) {
      const h = hashes[i];
      for (let j = 0; j < i; j++) {
        if (hashes[j] === h && ids[j] === ids[i]) throw duplicateNodeId(ids[i] as string);
      }
    }
  } else {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const id = ids[i] as string;
      if (seen.has(id)) throw duplicateNodeId(id);
      seen.add(id);
    }
  }
  return hashes;
}

/**
 * The rendezvous score of a node for a partition: a stable unsigned 32-bit
 * number, identical everywhere.
 *
 * `score(nodeId, p) = MurmurHash3_x86_32(le32(hashTerm(nodeId)) ‖ le32(p), seed 0)`
 *
 * @param nodeId - a non-empty node id.
 * @param partition - an integer in `[0, 2^32)`.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `nodeId` is not a non-empty
 *   string or `partition` is out of range.
 */
export function score(nodeId: string, partition: number): number {
  checkNodeId(nodeId);
  checkPartitionIndex(partition);
  return hashPair(nodeHash(nodeId), partition);
}

/**
 * Selects the `k` best of `ids` for `partition` into `outIdx` (best first);
 * returns how many were selected. `hashes[i]` is `nodeHash(ids[i])`.
 */
function selectTop(
  ids: readonly string[],
  hashes: ArrayLike<number>,
  partition: number,
  k: number,
  outIdx: Int32Array,
  outScore: Float64Array,
): number {
  let count = 0;
  for (let i = 0; i < ids.length; i++) {
    const s = hashPair(hashes[i] as number, partition);
    const id = ids[i] as string;
    if (count === k) {
      const last = count - 1;
      if (!beats(s, id, outScore[last] as number, ids[outIdx[last] as number] as string)) continue;
      count--;
    }
    let j = count;
    while (j > 0 && beats(s, id, outScore[j - 1] as number, ids[outIdx[j - 1] as number] as string)) {
      outIdx[j] = outIdx[j - 1] as number;
      outScore[j] = outScore[j - 1] as number;
      j--;
    }
    outIdx[j] = i;
    outScore[j] = s;
    count++;
  }
  return count;
}

/**
 * All nodes ranked for a partition: highest score first; equal scores (a
 * 32-bit collision) in ascending node id order (UTF-16 code units). The
 * result does not depend on the order of `nodeIds`.
 *
 * @param partition - an integer in `[0, 2^32)`.
 * @param nodeIds - distinct, non-empty node ids; may be empty.
 * @returns a new array, a permutation of `nodeIds`.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `partition` is out of range
 *   or `nodeIds` is not an array of distinct non-empty strings.
 */
export function rankNodes(partition: number, nodeIds: readonly string[]): string[] {
  checkPartitionIndex(partition);
  const hashes = checkedNodeHashes(nodeIds, true);
  const n = nodeIds.length;
  const scores = new Float64Array(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    scores[i] = hashPair(hashes[i] as number, partition);
    order[i] = i;
  }
  order.sort((a, b) => {
    const sa = scores[a] as number;
    const sb = scores[b] as number;
    if (sa !== sb) return sb - sa;
    const ia = nodeIds[a] as string;
    const ib = nodeIds[b] as string;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return order.map((i) => nodeIds[i] as string);
}

/**
 * The owners of a partition: the primary first, then the replicas, i.e. the
 * first `min(replicationFactor, nodeIds.length)` entries of
 * {@link rankNodes}. Costs one score per node and no sort.
 *
 * @param partition - an integer in `[0, 2^32)`.
 * @param nodeIds - distinct, non-empty node ids; may be empty (no owners).
 * @param replicationFactor - how many owners, primary included. @defaultValue 1
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `partition` is out of range,
 *   `nodeIds` is not an array of distinct non-empty strings, or
 *   `replicationFactor` is not a positive integer.
 */
export function owners(partition: number, nodeIds: readonly string[], replicationFactor = 1): string[] {
  checkPartitionIndex(partition);
  checkReplicationFactor(replicationFactor);
  const hashes = checkedNodeHashes(nodeIds, false);
  const n = nodeIds.length;
  if (n === 0) return [];
  if (replicationFactor === 1) {
    // The common case: an argmax, no scratch arrays.
    let best = 0;
    let bestScore = hashPair(hashes[0] as number, partition);
    for (let i = 1; i < n; i++) {
      const s = hashPair(hashes[i] as number, partition);
      if (beats(s, nodeIds[i] as string, bestScore, nodeIds[best] as string)) {
        best = i;
        bestScore = s;
      }
    }
    return [nodeIds[best] as string];
  }
  const k = Math.min(replicationFactor, n);
  const idx = new Int32Array(k);
  const count = selectTop(nodeIds, hashes, partition, k, idx, new Float64Array(k));
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = nodeIds[idx[i] as number] as string;
  return out;
}

/** @internal Used by computeAssignment to rank many partitions with one set of node hashes. */
export function ownersWithHashes(
  nodeIds: readonly string[],
  hashes: Int32Array,
  partition: number,
  idx: Int32Array,
  scores: Float64Array,
): string[] {
  const count = selectTop(nodeIds, hashes, partition, idx.length, idx, scores);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = nodeIds[idx[i] as number] as string;
  return out;
}

/**
 * Validates `nodeIds` (distinct non-empty strings) and returns their hashes.
 * @internal
 */
export function nodeHashes(nodeIds: readonly string[]): Int32Array {
  return checkedNodeHashes(nodeIds, true);
}

// ---------------------------------------------------------------------------
// Shards: PartitionedEts routes keys over {node, localPartition} pairs.

/**
 * One local partition of one node: the unit a key is routed to when every
 * node chooses its own number of local partitions (PartitionedEts).
 */
export interface Shard {
  /** The node that hosts the shard. */
  readonly node: string;
  /** The local partition on that node, an integer in `[0, 2^32)`. */
  readonly partition: number;
}

function checkShard(shard: unknown, name: string): Shard {
  if (typeof shard !== 'object' || shard === null) {
    throw badArg(`${name} must be a {node, partition} object, got ${show(shard)}`);
  }
  const s = shard as { node?: unknown; partition?: unknown };
  checkNodeId(s.node, `${name}.node`);
  checkPartitionIndex(s.partition, `${name}.partition`);
  return shard as Shard;
}

function checkKeyHash(keyHash: unknown): number {
  if (typeof keyHash !== 'number' || !Number.isInteger(keyHash) || keyHash < 0 || keyHash > 0xffffffff) {
    throw badArg(`keyHash must be an unsigned 32-bit integer (from hashTerm), got ${show(keyHash)}`);
  }
  return keyHash;
}

/** Ascending by node id (UTF-16 code units), then by partition. */
export function compareShards(a: Shard, b: Shard): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.partition - b.partition;
}

/**
 * The rendezvous score of a shard for a key hash (from {@link hashTerm}):
 *
 * `shardScore(s, h) = MurmurHash3_x86_32(le32(score(s.node, s.partition)) ‖ le32(h), seed 0)`
 *
 * @param shard - `{ node, partition }`.
 * @param keyHash - an unsigned 32-bit key hash.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when the shard or `keyHash` is invalid.
 */
export function shardScore(shard: Shard, keyHash: number): number {
  checkShard(shard, 'shard');
  checkKeyHash(keyHash);
  return hashPair(hashPair(nodeHash(shard.node), shard.partition), keyHash);
}

/**
 * The shard a key hash is routed to: the highest {@link shardScore}; on
 * equal scores the smaller shard by node id, then partition. The result does
 * not depend on the order of `shards`. To route many keys over the same
 * shards, {@link createShardRouter} precomputes the per-shard half.
 *
 * @param keyHash - an unsigned 32-bit key hash (from {@link hashTerm}).
 * @param shards - distinct shards, at least one.
 * @returns one of the `shards` objects.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `shards` is empty, holds an
 *   invalid or duplicate shard, or `keyHash` is invalid.
 */
export function ownerShard(keyHash: number, shards: readonly Shard[]): Shard {
  checkKeyHash(keyHash);
  const ids = checkShards(shards);
  return shards[argmaxShard(shards, ids, keyHash)] as Shard;
}

/** Validates `shards`; returns each shard's id `hashPair(nodeHash, partition)`. */
function checkShards(shards: readonly Shard[]): Int32Array {
  if (!Array.isArray(shards) || shards.length === 0) {
    throw badArg(`shards must be a non-empty array of {node, partition}, got ${show(shards)}`);
  }
  const ids = new Int32Array(shards.length);
  const seen = new Set<string>();
  for (let i = 0; i < shards.length; i++) {
    const s = checkShard(shards[i], `shards[${i}]`);
    // A string key that cannot be ambiguous: the partition has no ':' in it.
    const key = `${s.partition}:${s.node}`;
    if (seen.has(key)) {
      throw badArg(`shards contains {node: ${JSON.stringify(s.node)}, partition: ${s.partition}} twice`);
    }
    seen.add(key);
    ids[i] = hashPair(nodeHash(s.node), s.partition);
  }
  return ids;
}

function argmaxShard(shards: readonly Shard[], ids: Int32Array, keyHash: number): number {
  let best = 0;
  let bestScore = hashPair(ids[0] as number, keyHash);
  for (let i = 1; i < shards.length; i++) {
    const s = hashPair(ids[i] as number, keyHash);
    if (s > bestScore || (s === bestScore && compareShards(shards[i] as Shard, shards[best] as Shard) < 0)) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/**
 * The shards of one node: `{ node, partition: 0 }` to `partition: count - 1`.
 *
 * @param node - a non-empty node id.
 * @param count - the node's number of local partitions, a positive integer.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `node` or `count` is invalid.
 */
export function nodeShards(node: string, count: number): Shard[] {
  checkNodeId(node, 'node');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 0xffffffff) {
    throw badArg(`count must be a positive integer, got ${show(count)}`);
  }
  const out = new Array<Shard>(count);
  for (let p = 0; p < count; p++) out[p] = Object.freeze({ node, partition: p });
  return out;
}

/**
 * A user routing function (PartitionedEts `callbacks.hash(key, shards)`): it
 * gets the key and the router's sorted shard list and returns one of those
 * shards, or its index in the list.
 */
export type ShardHashFn = (key: Term, shards: readonly Shard[]) => Shard | number;

/** Options of {@link createShardRouter}. */
export interface ShardRouterOptions {
  /** Every shard of the table across the cluster; distinct, at least one. */
  readonly shards: readonly Shard[];
  /**
   * Replaces rendezvous routing. Called on every `ownerOf`/`indexOf`; its
   * result is checked, so a wrong answer fails loudly instead of misrouting.
   * @defaultValue undefined (rendezvous hashing over {@link shardScore})
   */
  readonly hash?: ShardHashFn | undefined;
}

/** Routes keys to shards; see {@link createShardRouter}. */
export interface ShardRouter {
  /** The shards, sorted by node id then partition (a frozen copy). */
  readonly shards: readonly Shard[];
  /**
   * The shard that owns `key`.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` for a non-term key;
   *   `SC_ERR_BAD_ARG` when a user `hash` returns something that is not one
   *   of the shards or a valid index.
   */
  ownerOf(key: Term): Shard;
  /**
   * The index in {@link ShardRouter.shards} of the shard that owns `key`.
   * @throws SuperCacheError as {@link ShardRouter.ownerOf}.
   */
  indexOf(key: Term): number;
}

/**
 * A router over a fixed set of shards. With the default rendezvous routing a
 * key goes to the shard with the highest {@link shardScore}, and
 * `ownerOf(key)` equals `ownerShard(hashTerm(key), shards)`; the per-shard
 * half of each score is computed once here, so a lookup costs one term hash
 * plus one 8-byte MurmurHash3 per shard.
 *
 * Adding a node with `k` shards to a table of `S` shards moves only the keys
 * the new shards now win, about `k / (S + k)` of them; removing a node moves
 * only the keys it held.
 *
 * @example
 * ```ts
 * const router = createShardRouter({
 *   shards: [...nodeShards('a@host1', 2), ...nodeShards('b@host2', 4)],
 * });
 * router.ownerOf(['user', 42]); // e.g. { node: 'b@host2', partition: 3 }
 * ```
 *
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `shards` is empty or holds an
 *   invalid or duplicate shard, or `hash` is given and is not a function.
 */
export function createShardRouter(options: ShardRouterOptions): ShardRouter {
  if (typeof options !== 'object' || options === null)
    throw badArg('createShardRouter needs an options object');
  const hash = options.hash;
  if (hash !== undefined && typeof hash !== 'function') {
    throw badArg(`hash must be a function (key, shards) => shard | index, got ${show(hash)}`);
  }
  checkShards(options.shards);
  const shards: readonly Shard[] = Object.freeze(
    options.shards.map((s) => Object.freeze({ node: s.node, partition: s.partition })).sort(compareShards),
  );
  const ids = checkShards(shards);

  const indexOf =
    hash === undefined
      ? (key: Term): number => argmaxShard(shards, ids, hashTerm(key))
      : (key: Term): number => resolveUserShard(hash(key, shards), shards);
  return Object.freeze({
    shards,
    indexOf,
    ownerOf: (key: Term): Shard => shards[indexOf(key)] as Shard,
  });
}

function resolveUserShard(result: unknown, shards: readonly Shard[]): number {
  if (typeof result === 'number') {
    if (Number.isInteger(result) && result >= 0 && result < shards.length) return result;
    throw badArg(
      `hash callback returned ${show(result)}; it must return one of the ${shards.length} shards or an integer index in [0, ${shards.length})`,
      { returned: result, shards: shards.length },
    );
  }
  if (typeof result === 'object' && result !== null) {
    const i = shards.indexOf(result as Shard);
    if (i >= 0) return i;
    const r = result as { node?: unknown; partition?: unknown };
    for (let j = 0; j < shards.length; j++) {
      const s = shards[j] as Shard;
      if (s.node === r.node && s.partition === r.partition) return j;
    }
    throw badArg(
      `hash callback returned {node: ${show(r.node)}, partition: ${show(r.partition)}}, which is not one of the router's shards`,
      { returned: result },
    );
  }
  throw badArg(`hash callback returned ${show(result)}; it must return a shard or an integer index`, {
    returned: result,
  });
}
