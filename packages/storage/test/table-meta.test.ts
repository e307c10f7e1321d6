import { describe, expect, it } from 'vitest';
import { Table } from '../src/table.js';
import type { Term } from '../src/terms.js';
import type { TableType } from '../src/types.js';
import { codeOf, ManualClock } from './table-helpers.js';

const ALL_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

describe('Table', () => {
  describe('metadata API', () => {
    it('stores version and absolute expiry beside the tuple', () => {
      const clock = new ManualClock(1000);
      const t = new Table({ clock, sweepIntervalMs: 0 });
      t.insertEntry(['k', 1], { expiresAt: 1500, version: '0001' });
      expect(t.lookup('k')).toEqual([['k', 1]]);
      expect(t.lookupEntries('k')).toEqual([{ obj: ['k', 1], expiresAt: 1500, version: '0001' }]);
      clock.advance(500);
      expect(t.lookupEntries('k')).toEqual([]);
    });

    it('replaces the version on a set key and clears it on a plain insert', () => {
      const t = new Table();
      t.insertEntry(['k', 1], { version: 'a' });
      t.insertEntry(['k', 2], { version: 'b' });
      expect(t.lookupEntries('k')).toEqual([{ obj: ['k', 2], expiresAt: 0, version: 'b' }]);
      t.insert(['k', 3]);
      expect(t.lookupEntries('k')).toEqual([{ obj: ['k', 3], expiresAt: 0, version: undefined }]);
    });

    it('keeps one entry per object in a bag', () => {
      const t = new Table({ type: 'bag' });
      t.insertEntry(['k', 1], { version: 'a' });
      t.insertEntry(['k', 2], { version: 'b' });
      t.insertEntry(['k', 1], { version: 'c', expiresAt: 0 });
      expect(t.lookupEntries('k')).toEqual([
        { obj: ['k', 1], expiresAt: 0, version: 'c' },
        { obj: ['k', 2], expiresAt: 0, version: 'b' },
      ]);
    });

    it.each(ALL_TYPES)('stores the version given in insert options in a %s', (type) => {
      const clock = new ManualClock(1000);
      const t = new Table({ type, clock, sweepIntervalMs: 0 });
      t.insert(['a', 1], { version: 'v1' });
      t.insertMany(
        [
          ['b', 1],
          ['c', 1],
        ],
        { ttl: 50, version: 'v2' },
      );
      expect(t.insertNew(['d', 1], { version: 'v3' })).toBe(true);
      expect(t.insertNewMany([['e', 1]], { version: 'v4' })).toBe(true);
      expect(t.lookupEntries('a')).toEqual([{ obj: ['a', 1], expiresAt: 0, version: 'v1' }]);
      expect(t.lookupEntries('c')).toEqual([{ obj: ['c', 1], expiresAt: 1050, version: 'v2' }]);
      expect(t.lookupEntries('d')[0]?.version).toBe('v3');
      expect(t.lookupEntries('e')[0]?.version).toBe('v4');
      expect(t.tab2list().map((o) => o[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(codeOf(() => t.insert(['f', 1], { version: 1 as never }))).toBe('SC_ERR_BAD_ARG');
      expect(t.member('f')).toBe(false);
    });

    it('does not count lookupEntries as a hit or a miss', () => {
      const t = new Table();
      t.insert(['k']);
      t.lookupEntries('k');
      t.lookupEntries('x');
      expect(t.stats()).toMatchObject({ hits: 0, misses: 0 });
    });

    it('rejects bad metadata', () => {
      const t = new Table();
      expect(codeOf(() => t.insertEntry(['k'], null as never))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.insertEntry(['k'], { expiresAt: -1 }))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.insertEntry(['k'], { version: 5 as never }))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.insertEntry([] as never, {}))).toBe('SC_ERR_TUPLE_TOO_SHORT');
      expect(t.size).toBe(0);
    });

    it.each(ALL_TYPES)('lists every live entry in table order in a %s', (type) => {
      const t = new Table({ type });
      t.insertEntry(['b', 1], { version: 'v1' });
      t.insertEntry(['a', 1], { version: 'v2', expiresAt: 9e15 });
      t.insert(['b', 2]);
      const entries = [...t.entries()];
      expect(entries.map((e) => e.obj)).toEqual(t.tab2list());
      expect(entries.find((e) => e.obj[0] === 'a')).toEqual({
        obj: ['a', 1],
        expiresAt: 9e15,
        version: 'v2',
      });
    });

    it.each(ALL_TYPES)('visits every key present for a whole entries() walk exactly once in a %s', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 300; i++) t.insert([i, 'x']);
      const seen = new Map<Term, number>();
      let extra = 1000;
      let step = 0;
      for (const e of t.entries()) {
        const k = e.obj[0] as number;
        seen.set(k, (seen.get(k) ?? 0) + 1);
        // Modify the table between steps: delete ahead and behind, insert.
        expect(step).toBeLessThan(2000);
        if (step++ % 2 === 0 && step < 300) {
          t.delete(k + 2);
          t.delete(k - 2);
          t.insert([extra++, 'new']);
          t.insert([-extra, 'new']);
        }
      }
      // A key below 300 still present was present throughout (deleted keys
      // are never re-inserted).
      const deleted = new Set<number>();
      for (let i = 0; i < 300; i++) if (!t.member(i)) deleted.add(i);
      for (let i = 0; i < 300; i++) if (!deleted.has(i)) expect(seen.get(i), `key ${i}`).toBe(1);
      for (const n of seen.values()) expect(n).toBe(1);
    });
  });
});
