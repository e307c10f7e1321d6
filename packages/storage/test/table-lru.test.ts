import { describe, expect, it } from 'vitest';
import { _, $ } from '../src/match.js';
import { Table } from '../src/table.js';
import { type Term, termBytes } from '../src/terms.js';
import type { Entry, RemovalReason, TableOptions } from '../src/types.js';
import { codeOf, ManualClock } from './table-helpers.js';

function capped(options: TableOptions) {
  const evicted: Array<[Entry, RemovalReason]> = [];
  const t = new Table({ sweepIntervalMs: 0, onRemove: (e, r) => evicted.push([e, r]), ...options });
  const keys = (): Term[] => t.tab2list().map((o) => o[0] as Term);
  return { t, evicted, keys };
}

describe('Table', () => {
  describe('LRU eviction', () => {
    it('evicts the least recently written key past maxEntries', () => {
      const { t, evicted, keys } = capped({ maxEntries: 3 });
      for (const k of ['a', 'b', 'c', 'd']) t.insert([k, 1]);
      expect(keys()).toEqual(['b', 'c', 'd']);
      expect(evicted).toEqual([[{ obj: ['a', 1], expiresAt: 0, version: undefined }, 'evicted']]);
      expect(t.stats().evictions).toBe(1);
    });

    it('marks a key recently used on lookup, lookupElement and member', () => {
      const { t, keys } = capped({ maxEntries: 3 });
      for (const k of ['a', 'b', 'c']) t.insert([k, 1]);
      t.lookup('a');
      t.insert(['d', 1]);
      expect(keys()).toEqual(['a', 'c', 'd']);
      // Recency now c, a, d: reading c saves it and a goes instead.
      t.lookupElement('c', 1);
      t.insert(['e', 1]);
      expect(keys()).toEqual(['c', 'd', 'e']);
      // Recency d, c, e: reading d saves it and c goes instead.
      t.member('d');
      t.insert(['f', 1]);
      expect(keys()).toEqual(['d', 'e', 'f']);
    });

    it('does not mark keys used on scans, iteration, misses or lookupEntries', () => {
      const { t, keys } = capped({ maxEntries: 2 });
      t.insert(['a', 1]);
      t.insert(['b', 1]);
      t.match(['a', $(1)]);
      t.select([[_, [], [true]]]);
      t.tab2list();
      t.foldl((_o, n: number) => n, 0);
      t.first();
      t.next('a');
      t.lookupEntries('a');
      [...t.entries()];
      t.lookup('zzz');
      t.insert(['c', 1]);
      expect(keys()).toEqual(['b', 'c']);
    });

    it('marks a key recently used on overwrites and counter updates', () => {
      const { t, keys } = capped({ maxEntries: 2 });
      t.insert(['a', 1]);
      t.insert(['b', 1]);
      t.insert(['a', 2]);
      t.insert(['c', 1]);
      expect(keys()).toEqual(['a', 'c']);
      t.updateCounter('a', 1);
      t.insert(['d', 1]);
      expect(keys()).toEqual(['a', 'd']);
      t.updateElement('d', [1, 'x']);
      t.insert(['e', 1]);
      expect(keys()).toEqual(['d', 'e']);
    });

    it('evicts every object of a bag key together and counts each', () => {
      const { t, keys, evicted } = capped({ type: 'duplicate_bag', maxEntries: 4 });
      t.insert(['a', 1]);
      t.insert(['a', 2]);
      t.insert(['b', 1]);
      t.insert(['c', 1]);
      t.insert(['c', 2]);
      expect(keys()).toEqual(['b', 'c', 'c']);
      expect(evicted.map(([e]) => e.obj)).toEqual([
        ['a', 1],
        ['a', 2],
      ]);
      expect(t.stats().evictions).toBe(2);
    });

    it('evicts least recently used keys until the estimated bytes fit maxBytes', () => {
      const obj = (k: string): [string, string] => [k, 'x'.repeat(100)];
      const each = termBytes(obj('a'));
      const { t, keys } = capped({ maxBytes: each * 3 + 10 });
      for (const k of ['a', 'b', 'c']) t.insert(obj(k));
      expect(keys()).toEqual(['a', 'b', 'c']);
      t.lookup('a');
      t.insert(obj('d'));
      expect(keys()).toEqual(['a', 'c', 'd']);
      t.insert(['e', 'x'.repeat(200)]);
      expect(keys()).toEqual(['d', 'e']);
      expect(t.info().memory).toBeLessThanOrEqual(each * 3 + 10);
    });

    it('throws SC_ERR_TOO_LARGE for an object larger than maxBytes, changing nothing', () => {
      const { t, keys } = capped({ maxBytes: 100 });
      t.insert(['a']);
      expect(codeOf(() => t.insert(['big', 'y'.repeat(200)]))).toBe('SC_ERR_TOO_LARGE');
      expect(codeOf(() => t.insertMany([['ok'], ['big', 'y'.repeat(200)]]))).toBe('SC_ERR_TOO_LARGE');
      expect(codeOf(() => t.updateElement('a', [0, 'a'] as never))).toBe('SC_ERR_KEY_UPDATE');
      t.insert(['a', 1]);
      expect(codeOf(() => t.updateElement('a', [1, 'y'.repeat(200)]))).toBe('SC_ERR_TOO_LARGE');
      expect(keys()).toEqual(['a']);
      expect(t.lookup('a')).toEqual([['a', 1]]);
    });

    it('throws SC_ERR_TOO_LARGE when one bag key would exceed maxEntries', () => {
      const { t } = capped({ type: 'duplicate_bag', maxEntries: 2 });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      expect(codeOf(() => t.insert(['k', 3]))).toBe('SC_ERR_TOO_LARGE');
      expect(
        codeOf(() =>
          t.insertMany([
            ['j', 1],
            ['j', 2],
            ['j', 3],
          ]),
        ),
      ).toBe('SC_ERR_TOO_LARGE');
      expect(t.size).toBe(2);
      const bag = capped({ type: 'bag', maxEntries: 2 }).t;
      bag.insert(['k', 1]);
      bag.insert(['k', 2]);
      bag.insert(['k', 2]);
      expect(bag.lookup('k')).toHaveLength(2);
    });

    it('keeps the newest keys of a batch larger than maxEntries', () => {
      const { t, keys } = capped({ maxEntries: 3 });
      t.insertMany([['a'], ['b'], ['c'], ['d'], ['e']]);
      expect(keys()).toEqual(['c', 'd', 'e']);
      expect(t.size).toBe(3);
    });

    it('reclaims expired objects before evicting live ones', () => {
      const clock = new ManualClock();
      const { t, keys, evicted } = capped({ maxEntries: 2, clock });
      t.insert(['old', 1]);
      t.insert(['ttl', 1], { ttl: 5 });
      clock.advance(5);
      t.insert(['new', 1]);
      expect(keys()).toEqual(['old', 'new']);
      expect(evicted.map(([e, r]) => [e.obj[0], r])).toEqual([['ttl', 'expired']]);
      expect(t.stats()).toMatchObject({ evictions: 0, expirations: 1 });
    });

    it('keeps exact LRU order through many reads (queue compaction)', () => {
      const { t, keys } = capped({ maxEntries: 5 });
      for (let i = 0; i < 5; i++) t.insert([i]);
      for (let round = 0; round < 3000; round++) t.lookup(round % 4);
      // 4 is the least recently used; then 0,1,2,3 in the order last read.
      t.insert([5]);
      expect(keys()).toEqual([0, 1, 2, 3, 5]);
      t.insert([6]);
      // 3000 reads: the last ones were ... 2996%4=0, 1, 2, 3(2999)
      expect(keys()).toEqual([1, 2, 3, 5, 6]);
    });

    it('never holds more than maxEntries objects under random use', () => {
      const { t } = capped({ maxEntries: 50 });
      let seed = 7;
      const rnd = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
        return seed >>> 8;
      };
      for (let i = 0; i < 5000; i++) {
        const k = rnd() % 200;
        if (rnd() % 3 === 0) t.lookup(k);
        else if (rnd() % 7 === 0) t.delete(k);
        else t.insert([k, i]);
        expect(t.size).toBeLessThanOrEqual(50);
      }
      expect(t.stats().evictions).toBeGreaterThan(0);
    });
  });
});
