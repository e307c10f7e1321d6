import { describe, expect, it } from 'vitest';
import { computeAssignment, diffAssignments, owners, type PartitionMap } from '../src/index.js';
import { expectCode } from './support/errors.js';

const nodes = ['n3', 'n1', 'n4', 'n2', 'n5'];

describe('computeAssignment', () => {
  it('lists, for each partition, the owners rendezvous hashing gives it', () => {
    const map = computeAssignment(256, nodes, 3);
    expect(map.numPartitions).toBe(256);
    expect(map.replicationFactor).toBe(3);
    expect(map.nodes).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(map.owners).toHaveLength(256);
    for (let p = 0; p < 256; p++) expect(map.owners[p]).toEqual(owners(p, nodes, 3));
  });

  it('does not depend on the order of the nodes', () => {
    expect(computeAssignment(64, [...nodes].reverse(), 2)).toEqual(computeAssignment(64, nodes, 2));
  });

  it('is deeply frozen', () => {
    const map = computeAssignment(4, nodes, 2);
    expect(Object.isFrozen(map)).toBe(true);
    expect(Object.isFrozen(map.owners)).toBe(true);
    expect(Object.isFrozen(map.owners[0])).toBe(true);
    expect(Object.isFrozen(map.nodes)).toBe(true);
  });

  it('gives every node to every partition when rf exceeds the node count, and none without nodes', () => {
    expect(computeAssignment(8, ['a', 'b'], 5).owners.every((o) => o.length === 2)).toBe(true);
    expect(computeAssignment(8, [], 3).owners.every((o) => o.length === 0)).toBe(true);
  });

  it('defaults to one owner per partition', () => {
    expect(computeAssignment(8, nodes).owners.every((o) => o.length === 1)).toBe(true);
  });

  it('rejects bad arguments with SC_ERR_BAD_ARG', () => {
    expectCode(() => computeAssignment(0, nodes), 'SC_ERR_BAD_ARG');
    expectCode(() => computeAssignment(2 ** 24 + 1, nodes), 'SC_ERR_BAD_ARG');
    expectCode(() => computeAssignment(8, ['a', 'a']), 'SC_ERR_BAD_ARG');
    expectCode(() => computeAssignment(8, nodes, 0), 'SC_ERR_BAD_ARG');
  });
});

describe('diffAssignments', () => {
  it('lists nothing for the same membership', () => {
    expect(
      diffAssignments(computeAssignment(128, nodes, 2), computeAssignment(128, [...nodes].reverse(), 2)),
    ).toEqual([]);
  });

  it('lists every partition, primary changed, when the first node joins an empty cluster', () => {
    const changes = diffAssignments(computeAssignment(16, [], 2), computeAssignment(16, ['solo'], 2));
    expect(changes).toHaveLength(16);
    for (const c of changes) {
      expect(c).toMatchObject({
        before: [],
        after: ['solo'],
        primaryChanged: true,
        gained: ['solo'],
        lost: [],
      });
    }
  });

  it('reports the partition, both owner lists, and who gained and lost it', () => {
    const before = computeAssignment(512, nodes, 2);
    const after = computeAssignment(512, [...nodes, 'n6'], 2);
    const changes = diffAssignments(before, after);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.map((c) => c.partition)).toEqual(
      [...changes.map((c) => c.partition)].sort((a, b) => a - b),
    );
    for (const c of changes) {
      expect(c.before).toBe(before.owners[c.partition]);
      expect(c.after).toBe(after.owners[c.partition]);
      expect(c.gained).toEqual(['n6']);
      expect(c.primaryChanged).toBe(c.after[0] === 'n6');
    }
  });

  it('ignores a partition whose replicas only swapped rank, but not one whose primary changed', () => {
    const make = (owners: string[][]): PartitionMap => ({
      numPartitions: owners.length,
      replicationFactor: 3,
      nodes: ['a', 'b', 'c'],
      owners,
    });
    const changes = diffAssignments(
      make([
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
      ]),
      make([
        ['a', 'c', 'b'],
        ['b', 'a', 'c'],
      ]),
    );
    expect(changes).toEqual([
      {
        partition: 1,
        before: ['a', 'b', 'c'],
        after: ['b', 'a', 'c'],
        primaryChanged: true,
        gained: [],
        lost: [],
      },
    ]);
  });

  it('refuses maps with different partition counts with SC_ERR_PARTITION_MISMATCH', () => {
    expectCode(
      () => diffAssignments(computeAssignment(8, nodes), computeAssignment(16, nodes)),
      'SC_ERR_PARTITION_MISMATCH',
    );
  });

  it('rejects something that is not a partition map with SC_ERR_BAD_ARG', () => {
    expectCode(() => diffAssignments({} as PartitionMap, computeAssignment(8, nodes)), 'SC_ERR_BAD_ARG');
  });
});
