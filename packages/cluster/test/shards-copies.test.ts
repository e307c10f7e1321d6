/**
 * The copy ranking of a `'shards'` table (ShardsPlacement.copiesOf): the
 * property a shards replica engine relies on — removing a key's primary
 * host makes its second copy, in the same shard, the owner — checked over
 * a fixed set of keys and shard layouts.
 */

import { describe, expect, it } from 'vitest';
import { ShardsPlacement } from '../src/placement.js';
import { EMPTY_VIEW, type View } from '../src/view.js';

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

const KEYS = Array.from({ length: 2000 }, (_x, i) => (i % 3 === 0 ? `k${i}` : i));
const LAYOUT = { a: 3, b: 1, c: 4, d: 2 };

describe('ShardsPlacement.copiesOf', () => {
  const place = new ShardsPlacement('t', 'a', 3, 0, undefined);
  const r = place.routing(shardsView(1, LAYOUT));

  it('ranks distinct hosts, the router owner first, each copy in one of its host shards', () => {
    for (const k of KEYS) {
      const copies = place.copiesOf(r, k, 3);
      expect(copies).toHaveLength(3);
      expect(copies[0]).toEqual(place.ownerIn(r, k));
      expect(new Set(copies.map((c) => c.node)).size).toBe(3);
      for (const c of copies) {
        expect(c.shard).toBeGreaterThanOrEqual(0);
        expect(c.shard).toBeLessThan(LAYOUT[c.node as keyof typeof LAYOUT]);
      }
    }
  });

  it('gives every host a copy when there are fewer hosts than copies', () => {
    expect(new Set(place.copiesOf(r, 'x', 7).map((c) => c.node))).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(place.copiesOf(r, 'x', 1)).toEqual([place.ownerIn(r, 'x')]);
  });

  it('makes the second copy the owner, in the same shard, when the primary host leaves', () => {
    for (const k of KEYS) {
      const [primary, second] = place.copiesOf(r, k, 2);
      const rest: Record<string, number> = { ...LAYOUT };
      delete rest[primary?.node as string];
      const after = place.routing(shardsView(2, rest));
      expect(place.ownerIn(after, k)).toEqual(second);
    }
  });

  it('keeps every surviving copy in its shard when another host joins', () => {
    const after = place.routing(shardsView(2, { ...LAYOUT, e: 2 }));
    for (const k of KEYS) {
      const before = place.copiesOf(r, k, 2);
      const now = place.copiesOf(after, k, 2);
      for (const c of now) {
        if (c.node === 'e') continue;
        const was = before.find((b) => b.node === c.node);
        // A copy that was already held stays where it was.
        if (was !== undefined) expect(c).toEqual(was);
      }
    }
  });

  it('numbers replica groups so that a group names its copies, primary first', () => {
    const rf = new ShardsPlacement('t', 'a', 3, 0, undefined, 3);
    const rr = rf.routing(shardsView(1, LAYOUT));
    const groups = new Set<number>();
    for (const k of KEYS) {
      const g = rf.groupOf(rr, k);
      groups.add(g);
      expect(rf.replicas(rr, g)).toEqual(rf.copiesOf(rr, k, 3).map((c) => c.node));
    }
    // 4 hosts, 3 copies: at most 4 × 3 × 2 ordered lists, and keys use many of them.
    expect(groups.size).toBeLessThanOrEqual(24);
    expect(groups.size).toBeGreaterThan(12);
    // A number that names no list of distinct hosts has no copies; one copy has no groups.
    expect(rf.replicas(rr, 0)).toEqual([]);
    expect(place.groupOf(r, 'x')).toBe(-1);
  });

  it('returns only the owner with a user hash (no ranking to follow)', () => {
    const custom = new ShardsPlacement('t', 'a', 3, 0, () => 0);
    const cr = custom.routing(shardsView(1, LAYOUT));
    expect(custom.copiesOf(cr, 'x', 3)).toEqual([custom.ownerIn(cr, 'x')]);
  });
});
