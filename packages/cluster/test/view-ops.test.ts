import { describe, expect, it } from 'vitest';
import { EMPTY_VIEW, type TableSpec, type View } from '../src/view.js';
import { isQuorum, viewSig, withMember, without } from '../src/view-ops.js';

const SPEC: TableSpec = {
  type: 'set',
  keyPos: 0,
  partitionPos: 0,
  placement: 'partitions',
  numPartitions: 8,
};

function base(): View {
  return {
    ...EMPTY_VIEW,
    cluster: 'c',
    epoch: 4,
    members: ['a', 'b'],
    addresses: { a: 'A', b: 'B' },
    shards: { t: { a: 8, b: 8 } },
    tables: { t: SPEC },
    handoffs: ['h1'],
  };
}

describe('view operations', () => {
  it('isQuorum: strict majority, or exactly half with the smallest id', () => {
    expect(isQuorum(['a', 'b', 'c'], ['b', 'c'])).toBe(true);
    expect(isQuorum(['a', 'b', 'c'], ['c'])).toBe(false);
    expect(isQuorum(['a', 'b'], ['a'])).toBe(true);
    expect(isQuorum(['a', 'b'], ['b'])).toBe(false);
    expect(isQuorum(['a', 'b', 'c', 'd'], ['a', 'd'])).toBe(true);
    expect(isQuorum(['a', 'b', 'c', 'd'], ['b', 'c'])).toBe(false);
    // Voters outside the member list do not count.
    expect(isQuorum(['a', 'b', 'c'], ['x', 'y', 'c'])).toBe(false);
  });

  it('without removes members, their addresses and their hosting', () => {
    const v = without(base(), ['b']);
    expect(v.members).toEqual(['a']);
    expect(v.addresses).toEqual({ a: 'A' });
    expect(v.shards).toEqual({ t: { a: 8 } });
    expect(v.tables).toEqual({ t: SPEC });
  });

  it('withMember adds a member and its tables without changing known specs', () => {
    const other: TableSpec = { ...SPEC, numPartitions: 99 };
    const v = withMember(base(), 'c', 'C', { t: { spec: other, shards: 8 }, u: { spec: SPEC, shards: 2 } });
    expect(v.members).toEqual(['a', 'b', 'c']);
    expect(v.addresses.c).toBe('C');
    expect(v.shards).toEqual({ t: { a: 8, b: 8, c: 8 }, u: { c: 2 } });
    expect(v.tables.t).toEqual(SPEC);
    expect(v.tables.u).toEqual(SPEC);
    // The input is not mutated.
    expect(base().members).toEqual(['a', 'b']);
  });

  it('viewSig tells apart two views proposed for one epoch', () => {
    const a = base();
    expect(viewSig(a)).toBe(viewSig({ ...a }));
    expect(viewSig(a)).not.toBe(viewSig(without(a, ['b'])));
    expect(viewSig(a)).not.toBe(viewSig({ ...a, handoffs: ['h2'] }));
  });
});
