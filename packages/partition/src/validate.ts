/** Argument checks shared by the public functions; every failure is `SC_ERR_BAD_ARG`. */

import { badArg } from '@supercache/storage';

/** 2^32: the number of distinct 32-bit hashes, so the most partitions that can differ. */
export const MAX_PARTITIONS = 0x1_0000_0000;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Checks a partition count: an integer in `[1, 2^32]`. */
export function checkPartitionCount(n: unknown, name = 'numPartitions'): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw badArg(`${name} must be an integer in [1, 2^32], got ${show(n)}`, { [name]: n });
  }
  return n;
}

/** Checks a partition index: an integer in `[0, 2^32)`. */
export function checkPartitionIndex(p: unknown, name = 'partition'): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= MAX_PARTITIONS) {
    throw badArg(`${name} must be an integer in [0, 2^32), got ${show(p)}`, { [name]: p });
  }
  return p;
}

/** Checks a replication factor: a positive integer. */
export function checkReplicationFactor(rf: unknown): number {
  if (typeof rf !== 'number' || !Number.isInteger(rf) || rf < 1) {
    throw badArg(`replicationFactor must be a positive integer, got ${show(rf)}`, {
      replicationFactor: rf,
    });
  }
  return rf;
}

/** Checks a node id: a non-empty string. */
export function checkNodeId(id: unknown, name = 'nodeId'): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw badArg(`${name} must be a non-empty string, got ${show(id)}`);
  }
  return id;
}

/** Checks that `ids` is an array (its elements are checked by the caller). */
export function checkNodeIdArray(ids: unknown): readonly unknown[] {
  if (!Array.isArray(ids)) throw badArg(`nodeIds must be an array of strings, got ${show(ids)}`);
  return ids;
}

/** Checks `ids[i]`: a non-empty string (the error names the index). */
export function checkNodeIdAt(ids: readonly unknown[], i: number): string {
  const id = ids[i];
  if (typeof id !== 'string' || id.length === 0) {
    throw badArg(`nodeIds[${i}] must be a non-empty string, got ${show(id)}`);
  }
  return id;
}

/** The error for a node id listed twice. */
export function duplicateNodeId(id: string): Error {
  return badArg(`nodeIds contains ${JSON.stringify(id)} more than once`, { nodeId: id });
}

/** Checks a seed: an integer in `[0, 2^32)`. Returns it as a signed 32-bit value. */
export function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw badArg(`seed must be an integer in [0, 2^32), got ${show(seed)}`, { seed });
  }
  return seed | 0;
}

export { show };
