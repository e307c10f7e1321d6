import type { Term } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareShards,
  createShardRouter,
  hashTerm,
  nodeShards,
  ownerShard,
  type Shard,
  type ShardHashFn,
  score,
  shardScore,
} from '../src/index.js';
import { expectCode } from './support/errors.js';
import { le32, referenceMurmur3 } from './support/reference.js';
import { looksUniform } from './support/stats.js';

const SEED = 0x54a2;
const KEYS = 60_000;
const keyOf = (i: number): Term => (i % 2 === 0 ? `user:${i}` : ['order', i]);

const cluster = (spec: Record<string, number>): Shard[] =>
  Object.entries(spec).flatMap(([node, count]) => nodeShards(node, count));

const shardKey = (s: Shard): string => `${s.node}#${s.partition}`;

function route(shards: readonly Shard[]): string[] {
  const router = createShardRouter({ shards });
  return Array.from({ length: KEYS }, (_, i) => shardKey(router.ownerOf(keyOf(i))));
}

describe('shardScore and ownerShard', () => {
  it.each([
    ['node-a', 0, 0, 0x03df2eb4],
    ['node-a', 3, 0xc19af5fa, 0x46dc4839],
    ['node-b', 1, 0xffffffff, 0xe118a5b6],
  ])('scores shard (%s, %i) for key hash %i with its pinned value', (node, partition, keyHash, expected) => {
    expect(shardScore({ node, partition }, keyHash)).toBe(expected);
  });

  it('is MurmurHash3 of le32(score(node, partition)) ‖ le32(keyHash), checked by an independent implementation', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.nat({ max: 64 }),
        fc.nat({ max: 0xffffffff }),
        (node, partition, keyHash) => {
          expect(shardScore({ node, partition }, keyHash)).toBe(
            referenceMurmur3(le32(score(node, partition), keyHash), 0),
          );
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('routes a key hash to the shard with the highest score, whatever the order of the shards', () => {
    const shards = cluster({ a: 2, b: 4, c: 3 });
    for (let i = 0; i < 500; i++) {
      const h = hashTerm(keyOf(i));
      const best = [...shards].sort((x, y) => shardScore(y, h) - shardScore(x, h) || compareShards(x, y))[0];
      expect(ownerShard(h, shards)).toBe(best);
      expect(ownerShard(h, [...shards].reverse())).toBe(best);
    }
  });

  it('breaks a score tie by node id, then partition', () => {
    // 'node-2563' and 'node-97049' have the same hashTerm, so equal shard scores for every key.
    const a = { node: 'node-2563', partition: 0 };
    const b = { node: 'node-97049', partition: 0 };
    for (let k = 0; k < 10; k++) {
      expect(shardScore(a, k)).toBe(shardScore(b, k));
      expect(ownerShard(k, [b, a])).toBe(a);
    }
  });

  it('rejects no shards, duplicate shards, bad shards and bad key hashes with SC_ERR_BAD_ARG', () => {
    expectCode(() => ownerShard(1, []), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(1, [...nodeShards('a', 2), { node: 'a', partition: 1 }]), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(1, [{ node: '', partition: 0 }]), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(1, [{ node: 'a', partition: -1 }]), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(1, [null as unknown as Shard]), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(-1, nodeShards('a', 1)), 'SC_ERR_BAD_ARG');
    expectCode(() => ownerShard(2 ** 32, nodeShards('a', 1)), 'SC_ERR_BAD_ARG');
    expectCode(() => shardScore({ node: 'a', partition: 0 }, 1.5), 'SC_ERR_BAD_ARG');
  });
});

describe('nodeShards', () => {
  it('lists partitions 0..count-1 of one node', () => {
    expect(nodeShards('a', 3)).toEqual([
      { node: 'a', partition: 0 },
      { node: 'a', partition: 1 },
      { node: 'a', partition: 2 },
    ]);
  });

  it.each([0, -1, 1.5])('rejects count %s with SC_ERR_BAD_ARG', (count) => {
    expectCode(() => nodeShards('a', count), 'SC_ERR_BAD_ARG');
  });
});

describe('createShardRouter', () => {
  it('routes like ownerShard(hashTerm(key), shards) and sorts its shards', () => {
    const shards = cluster({ c: 3, a: 2, b: 4 });
    const router = createShardRouter({ shards });
    expect(router.shards.map(shardKey)).toEqual([...shards].sort(compareShards).map(shardKey));
    expect(Object.isFrozen(router.shards)).toBe(true);
    for (let i = 0; i < 2000; i++) {
      const owner = router.ownerOf(keyOf(i));
      expect(shardKey(owner)).toBe(shardKey(ownerShard(hashTerm(keyOf(i)), shards)));
      expect(router.shards[router.indexOf(keyOf(i))]).toBe(owner);
    }
  });

  it('spreads keys evenly over shards of nodes with different partition counts (chi-square, p = 0.001)', () => {
    const shards = cluster({ a: 2, b: 4, c: 3 });
    const counts = new Map<string, number>(shards.map((s) => [shardKey(s), 0]));
    for (const k of route(shards)) counts.set(k, (counts.get(k) as number) + 1);
    const r = looksUniform([...counts.values()]);
    expect(r.ok, `chi-square ${r.statistic.toFixed(1)} > ${r.critical.toFixed(1)}`).toBe(true);
  });

  it("moves only keys onto a joining node's shards, about k/(S+k) of them", () => {
    const before = route(cluster({ a: 2, b: 4, c: 3 }));
    const after = route(cluster({ a: 2, b: 4, c: 3, d: 4 }));
    let moved = 0;
    for (let i = 0; i < KEYS; i++) {
      if (before[i] !== after[i]) {
        moved++;
        expect(after[i]?.startsWith('d#')).toBe(true);
      }
    }
    const expected = 4 / 13;
    expect(moved / KEYS).toBeLessThanOrEqual(1.5 * expected);
    expect(moved / KEYS).toBeGreaterThanOrEqual(0.5 * expected);
  });

  it("moves exactly the leaving node's keys when it leaves", () => {
    const before = route(cluster({ a: 2, b: 4, c: 3 }));
    const after = route(cluster({ a: 2, c: 3 }));
    for (let i = 0; i < KEYS; i++) {
      const wasOnB = before[i]?.startsWith('b#') === true;
      expect(before[i] !== after[i]).toBe(wasOnB);
    }
  });

  it('moves keys only onto the new shards when a node grows from 2 to 4 partitions', () => {
    const before = route(cluster({ a: 2, b: 4 }));
    const after = route(cluster({ a: 4, b: 4 }));
    let moved = 0;
    for (let i = 0; i < KEYS; i++) {
      if (before[i] !== after[i]) {
        moved++;
        expect(['a#2', 'a#3']).toContain(after[i]);
      }
    }
    expect(moved / KEYS).toBeLessThanOrEqual(1.5 * (2 / 8));
  });

  it('calls a user hash with the key and the sorted shards, and accepts a shard or an index', () => {
    const shards = cluster({ b: 2, a: 2 });
    const seen: [Term, readonly Shard[]][] = [];
    const hash: ShardHashFn = (key, list) => {
      seen.push([key, list]);
      return key === 'by-index' ? 3 : { node: 'a', partition: 1 };
    };
    const router = createShardRouter({ shards, hash });
    expect(router.ownerOf('by-index')).toEqual({ node: 'b', partition: 1 });
    expect(router.ownerOf('by-value')).toEqual({ node: 'a', partition: 1 });
    expect(router.indexOf('by-value')).toBe(1);
    expect(seen[0]?.[0]).toBe('by-index');
    expect(seen[0]?.[1]).toBe(router.shards);
    expect(router.shards.map(shardKey)).toEqual(['a#0', 'a#1', 'b#0', 'b#1']);
  });

  it.each([
    ['an index past the end', 4],
    ['a negative index', -1],
    ['a fractional index', 0.5],
    ['a shard that is not in the list', { node: 'z', partition: 0 }],
    ['a string', 'a#0'],
    ['null', null],
  ])('rejects a user hash that returns %s with SC_ERR_BAD_ARG', (_name, value) => {
    const router = createShardRouter({ shards: cluster({ a: 2, b: 2 }), hash: () => value as number });
    const e = expectCode(() => router.ownerOf('k'), 'SC_ERR_BAD_ARG');
    expect(e.message).toMatch(/hash callback returned/);
  });

  it('rejects bad options with SC_ERR_BAD_ARG', () => {
    expectCode(() => createShardRouter({ shards: [] }), 'SC_ERR_BAD_ARG');
    expectCode(
      () => createShardRouter({ shards: nodeShards('a', 1), hash: 42 as unknown as ShardHashFn }),
      'SC_ERR_BAD_ARG',
    );
    expectCode(() => createShardRouter(undefined as unknown as { shards: Shard[] }), 'SC_ERR_BAD_ARG');
  });
});
