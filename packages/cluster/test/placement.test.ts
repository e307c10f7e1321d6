/**
 * The two placement strategies on their own: owners, replica sets, owned
 * shards, what moves between two views, and what a node drops.
 */

import { Table } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { PartitionsPlacement, ShardsPlacement } from '../src/placement.js';
import { EMPTY_VIEW, type View } from '../src/view.js';

const P = 32;

function partitionsView(epoch: number, hosts: readonly string[], promoted?: Record<number, string>): View {
  return {
    ...EMPTY_VIEW,
    cluster: 'c1',
    epoch,
    members: [...hosts].sort(),
    addresses: Object.fromEntries(hosts.map((h) => [h, h])),
    shards: { t: Object.fromEntries(hosts.map((h) => [h, P])) },
    ...(promoted === undefined ? {} : { promoted: { t: promoted } }),
  };
}

function shardsView(epoch: number, shards: Record<string, number>): View {
  const hosts = Object.keys(shards);
  return {
    ...EMPTY_VIEW,
    cluster: 'c1',
    epoch,
    members: [...hosts].sort(),
    addresses: Object.fromEntries(hosts.map((h) => [h, h])),
    shards: { t: shards },
  };
}

describe('PartitionsPlacement', () => {
  const place = new PartitionsPlacement('t', P, 2, undefined);

  it('gives every partition RF distinct copies, the owner first, and owners their partitions', () => {
    const r = place.routing(partitionsView(1, ['a', 'b', 'c']));
    let owned = 0;
    for (let p = 0; p < P; p++) {
      const copies = place.replicas(r, p);
      expect(new Set(copies).size).toBe(2);
      expect(place.ownedShards(r, copies[0] as string)).toContain(p);
    }
    for (const n of ['a', 'b', 'c']) owned += place.ownedShards(r, n).length;
    expect(owned).toBe(P);
    expect(Object.values(place.ownedCounts(r)).reduce((x, y) => x + y, 0)).toBe(P);
    const pd = 'some-key';
    expect(place.ownerIn(r, pd)).toEqual({
      node: place.replicas(r, place.shardOf(pd))[0],
      shard: place.shardOf(pd),
    });
  });

  it('lets a promoted copy lead its partition', () => {
    const plain = place.routing(partitionsView(1, ['a', 'b', 'c']));
    const backup = place.replicas(plain, 0)[1] as string;
    const r = place.routing(partitionsView(2, ['a', 'b', 'c'], { 0: backup }));
    expect(place.replicas(r, 0)[0]).toBe(backup);
    expect(place.replicas(r, 0)).toHaveLength(2);
  });

  it('moves, on a join, only the partitions whose copies change, to the joiner alone', () => {
    const before = place.routing(partitionsView(1, ['a', 'b']));
    const after = place.routing(partitionsView(2, ['a', 'b', 'c']));
    const moving = place.moving(before, after, 'a');
    expect(moving.size).toBeGreaterThan(0);
    for (const [p, targets] of moving) {
      expect(place.replicas(before, p)[0]).toBe('a');
      expect(targets).toEqual(['c']);
      expect(place.replicas(after, p)).toContain('c');
    }
    // A partition a leads whose copies c does not join stays put.
    for (const p of place.ownedShards(before, 'a')) {
      if (!place.replicas(after, p).includes('c')) expect(moving.has(p)).toBe(false);
    }
  });

  it('drops the partitions this node holds no copy of', () => {
    const r = place.routing(partitionsView(1, ['a', 'b', 'c']));
    const tables = Array.from({ length: P }, () => new Table({ type: 'set' }));
    for (const t of tables) t.insert(['x', 1]);
    place.dropUnowned(r, 'a', tables);
    for (let p = 0; p < P; p++) {
      expect(tables[p]?.size).toBe(place.replicas(r, p).includes('a') ? 1 : 0);
    }
  });
});

describe('ShardsPlacement', () => {
  const place = new ShardsPlacement('t', 'a', 4, 0, undefined);

  it('routes each key to one shard of one host; counts are the hosts’ shard counts', () => {
    const r = place.routing(shardsView(1, { a: 4, b: 2 }));
    expect(place.ownedCounts(r)).toEqual({ a: 4, b: 2 });
    expect(place.ownedShards(r, 'a')).toEqual([0, 1, 2, 3]);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const o = place.ownerIn(r, `k${i}`);
      expect(o.shard).toBeLessThan(o.node === 'a' ? 4 : 2);
      seen.add(o.node);
    }
    expect([...seen].sort()).toEqual(['a', 'b']);
    expect(place.replicas(r, 0)).toEqual([]);
    expect(place.moving()).toBeUndefined();
  });

  it('refuses to route when no member hosts the table', () => {
    const r = place.routing(shardsView(1, {}));
    expect(() => place.ownerIn(r, 'k')).toThrowError(expect.objectContaining({ code: 'SC_ERR_NO_TABLE' }));
  });

  it('drops exactly the objects whose owner is no longer this node’s shard', () => {
    const alone = place.routing(shardsView(1, { a: 4 }));
    const tables = Array.from({ length: 4 }, () => new Table({ type: 'set' }));
    for (let i = 0; i < 200; i++) tables[place.ownerIn(alone, `k${i}`).shard]?.insert([`k${i}`, i]);
    const shared = place.routing(shardsView(2, { a: 4, b: 4 }));
    place.dropUnowned(shared, 'a', tables);
    let kept = 0;
    for (let i = 0; i < 200; i++) {
      const o = place.ownerIn(shared, `k${i}`);
      const here = tables.some((t) => t.lookup(`k${i}`).length > 0);
      expect(here).toBe(o.node === 'a');
      if (here) kept++;
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200);
  });
});
