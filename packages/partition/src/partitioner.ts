/** Keys to partition indexes: `hashTerm(key) % numPartitions`, or a user hash. */

import { badArg, type Term } from '@supercache/storage';
import { hashTerm } from './hash.js';
import { checkPartitionCount, show } from './validate.js';

/**
 * The partition of a term: `hashTerm(term) % numPartitions`.
 *
 * @param term - the key (for a record, the element at the table's partition
 *   position).
 * @param numPartitions - an integer in `[1, 2^32]`; cluster-wide constant.
 * @returns an integer in `[0, numPartitions)`.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `numPartitions` is not an
 *   integer in `[1, 2^32]`; `SC_ERR_INVALID_TERM` when `term` is not a term.
 */
export function partitionOf(term: Term, numPartitions: number): number {
  checkPartitionCount(numPartitions);
  return hashTerm(term) % numPartitions;
}

/**
 * A user partition function (the `hash` callback): given a key and the
 * partition count, return the key's partition, an integer in
 * `[0, numPartitions)`. It must be deterministic and the same on every node.
 */
export type HashFn = (key: Term, numPartitions: number) => number;

/** Options of {@link createPartitioner}. */
export interface PartitionerOptions {
  /**
   * How many partitions keys are spread over, an integer in `[1, 2^32]`.
   * Every node of a cluster must use the same value.
   */
  readonly numPartitions: number;
  /**
   * Replaces the default `hashTerm(key) % numPartitions`. Its result is
   * checked on every call, so a wrong answer fails loudly instead of
   * misrouting.
   * @defaultValue undefined (the stable default hash)
   */
  readonly hash?: HashFn | undefined;
}

/** Maps keys to partitions; see {@link createPartitioner}. */
export interface Partitioner {
  /** The partition count this partitioner was created with. */
  readonly numPartitions: number;
  /** True when a user `hash` callback does the mapping. */
  readonly custom: boolean;
  /**
   * The partition of `key`, an integer in `[0, numPartitions)`.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` for a non-term key with the
   *   default hash; `SC_ERR_BAD_ARG` when a user `hash` returns a non-integer
   *   or a value outside `[0, numPartitions)`.
   */
  partitionOf(key: Term): number;
}

/**
 * A partitioner with a fixed partition count and, optionally, a user hash.
 *
 * @example
 * ```ts
 * const p = createPartitioner({ numPartitions: 64 });
 * p.partitionOf(['user', 42]); // the same number on every node, forever
 *
 * const byTenant = createPartitioner({
 *   numPartitions: 64,
 *   hash: (key, n) => partitionOf(Array.isArray(key) ? key[0] ?? null : key, n),
 * });
 * ```
 *
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `numPartitions` is not an
 *   integer in `[1, 2^32]` or `hash` is given and is not a function.
 */
export function createPartitioner(options: PartitionerOptions): Partitioner {
  if (typeof options !== 'object' || options === null)
    throw badArg('createPartitioner needs an options object');
  const n = checkPartitionCount(options.numPartitions);
  const hash = options.hash;
  if (hash === undefined) {
    return Object.freeze({ numPartitions: n, custom: false, partitionOf: (key: Term) => hashTerm(key) % n });
  }
  if (typeof hash !== 'function') {
    throw badArg(`hash must be a function (key, numPartitions) => partition, got ${show(hash)}`);
  }
  return Object.freeze({
    numPartitions: n,
    custom: true,
    partitionOf(key: Term): number {
      const p: unknown = hash(key, n);
      if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p < n) return p;
      throw badArg(
        `hash callback returned ${show(p)} for numPartitions ${n}; it must return an integer in [0, ${n})`,
        { returned: p, numPartitions: n },
      );
    },
  });
}
