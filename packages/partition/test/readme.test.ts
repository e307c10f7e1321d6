import { describe, expect, it } from 'vitest';
import {
  computeAssignment,
  createPartitioner,
  createShardRouter,
  diffAssignments,
  hashTerm,
  nodeShards,
  owners,
  partitionOf,
} from '../src/index.js';

// Keeps the README's example honest: the same calls, the same answers.
describe('README example', () => {
  it('prints what the README says it prints', () => {
    expect(hashTerm('user:42')).toBe(3248158202);
    expect(hashTerm(['user', 1])).toBe(hashTerm(['user', 1])); // two fresh arrays
    expect(hashTerm({ a: 1, b: 2 }) === hashTerm({ b: 2, a: 1 })).toBe(true);

    expect(partitionOf('user:42', 64)).toBe(58);
    const byTenant = createPartitioner({
      numPartitions: 64,
      hash: (key, n) => partitionOf(Array.isArray(key) ? (key[0] ?? null) : key, n),
    });
    expect(byTenant.partitionOf(['acme', 'order', 7]) === byTenant.partitionOf(['acme', 'user', 9])).toBe(
      true,
    );

    const nodes = ['node-a', 'node-b', 'node-c', 'node-d'];
    expect(owners(0, nodes, 3)).toEqual(['node-d', 'node-b', 'node-a']);

    const before = computeAssignment(64, nodes, 2);
    const after = computeAssignment(64, [...nodes, 'node-e'], 2);
    const moves = diffAssignments(before, after);
    expect([moves.length, moves.every((c) => c.gained.join() === 'node-e')]).toEqual([19, true]);

    const router = createShardRouter({ shards: [...nodeShards('node-a', 2), ...nodeShards('node-b', 4)] });
    expect(router.ownerOf(['user', 42])).toEqual({ node: 'node-b', partition: 1 });
  });
});
