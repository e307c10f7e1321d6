import { afterEach, describe, expect, it, vi } from 'vitest';
import { _, $, $_ } from '../src/match.js';
import { Table } from '../src/table.js';
import type { Tuple } from '../src/terms.js';
import type { Entry, RemovalReason, TableOptions, TableType } from '../src/types.js';
import { codeOf, ManualClock } from './table-helpers.js';

const ALL_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

function ttlTable(type: TableType, extra: TableOptions = {}) {
  const clock = new ManualClock();
  const removed: Array<[Entry, RemovalReason]> = [];
  const t = new Table({
    type,
    clock,
    sweepIntervalMs: 0,
    onRemove: (e, r) => removed.push([e, r]),
    ...extra,
  });
  return { t, clock, removed };
}

describe('Table', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('TTL', () => {
    it.each(ALL_TYPES)('hides an expired object from every read of a %s at once', (type) => {
      const { t, clock } = ttlTable(type);
      t.insert(['a', 1], { ttl: 100 });
      t.insert(['b', 2]);
      clock.advance(99);
      expect(t.lookup('a')).toEqual([['a', 1]]);
      clock.advance(1);
      expect(t.lookup('a')).toEqual([]);
      expect(t.member('a')).toBe(false);
      expect(codeOf(() => t.lookupElement('a', 1))).toBe('SC_ERR_NOT_FOUND');
      expect(t.lookupEntries('a')).toEqual([]);
      expect(t.tab2list()).toEqual([['b', 2]]);
      expect(t.size).toBe(1);
      expect(t.info().size).toBe(1);
      expect(t.first()).toBe('b');
      expect(t.last()).toBe('b');
      expect(t.match(['a', $(1)])).toEqual([]);
      expect(t.matchObject(_)).toEqual([['b', 2]]);
      expect(t.select([[_, [], [$_]]])).toEqual([['b', 2]]);
      expect(t.selectCount([[_, [], [true]]])).toBe(1);
      expect(t.foldl((o, acc: Tuple[]) => [...acc, o], [])).toEqual([['b', 2]]);
      expect([...t.entries()].map((e) => e.obj)).toEqual([['b', 2]]);
      expect(t.selectPage([[_, [], [$_]]], 10).items).toEqual([['b', 2]]);
      expect(t.insertNew(['a', 3])).toBe(true);
      expect(t.lookup('a')).toEqual([['a', 3]]);
    });

    it.each(ALL_TYPES)('applies the table default ttl, overridden per insert, in a %s', (type) => {
      const { t, clock } = ttlTable(type, { ttl: 50 });
      t.insert(['d', 1]);
      t.insert(['long', 1], { ttl: 500 });
      t.insert(['never', 1], { ttl: 0 });
      t.insert(['inf', 1], { ttl: Number.POSITIVE_INFINITY });
      expect(t.lookupEntries('d')[0]?.expiresAt).toBe(1050);
      expect(t.lookupEntries('never')[0]?.expiresAt).toBe(0);
      clock.advance(50);
      expect(t.tab2list().map((o) => o[0])).toEqual(
        type === 'ordered_set' ? ['inf', 'long', 'never'] : ['long', 'never', 'inf'],
      );
      clock.advance(1_000_000);
      expect(
        t
          .tab2list()
          .map((o) => o[0])
          .sort(),
      ).toEqual(['inf', 'never']);
    });

    it('expires the objects of a bag key one by one', () => {
      const { t, clock } = ttlTable('bag');
      t.insert(['k', 1], { ttl: 10 });
      t.insert(['k', 2], { ttl: 20 });
      t.insert(['k', 3]);
      clock.advance(10);
      expect(t.lookup('k')).toEqual([
        ['k', 2],
        ['k', 3],
      ]);
      expect(t.lookupElement('k', 1)).toEqual([2, 3]);
      clock.advance(10);
      expect(t.lookup('k')).toEqual([['k', 3]]);
      expect(t.size).toBe(1);
    });

    it('renews the ttl of an equal object inserted again into a bag', () => {
      const { t, clock } = ttlTable('bag');
      t.insert(['k', 1], { ttl: 10 });
      clock.advance(5);
      t.insert(['k', 1], { ttl: 10 });
      clock.advance(7);
      expect(t.lookup('k')).toEqual([['k', 1]]);
      t.insert(['k', 1]);
      clock.advance(1000);
      expect(t.lookup('k')).toEqual([['k', 1]]);
    });

    it('moves a set key that expired and was written again to the end of the insertion order', () => {
      const { t, clock } = ttlTable('set');
      t.insert(['a'], { ttl: 10 });
      t.insert(['b']);
      clock.advance(10);
      t.insert(['a']);
      expect(t.tab2list()).toEqual([['b'], ['a']]);
    });

    it('keeps the ttl of an object through updateCounter and updateElement', () => {
      const { t, clock } = ttlTable('set');
      t.insert(['c', 0, 'x'], { ttl: 100 });
      t.updateCounter('c', 1);
      t.updateElement('c', [2, 'y']);
      expect(t.lookupEntries('c')[0]?.expiresAt).toBe(1100);
      clock.advance(100);
      expect(t.updateElement('c', [2, 'z'])).toBe(false);
      expect(codeOf(() => t.updateCounter('c', 1))).toBe('SC_ERR_NOT_FOUND');
      expect(t.updateCounter('c', 1, ['c', 10])).toBe(11);
    });

    it('counts expirations and reports them to onRemove when swept', () => {
      const { t, clock, removed } = ttlTable('set');
      t.insert(['a', 1], { ttl: 10 });
      t.insert(['b', 2], { ttl: 20 });
      t.insert(['c', 3]);
      clock.advance(15);
      expect(removed).toEqual([]);
      expect(t.sweep()).toBe(1);
      expect(removed).toEqual([[{ obj: ['a', 1], expiresAt: 1010, version: undefined }, 'expired']]);
      expect(t.stats().expirations).toBe(1);
      clock.advance(100);
      expect(t.sweep()).toBe(1);
      expect(t.sweep()).toBe(0);
      expect(t.stats().expirations).toBe(2);
      expect(t.size).toBe(1);
    });

    it('does bounded work per sweep', () => {
      const { t, clock } = ttlTable('duplicate_bag');
      for (let i = 0; i < 25; i++) t.insert([i % 3, i], { ttl: 5 });
      clock.advance(5);
      expect(t.size).toBe(0);
      expect(t.sweep(10)).toBe(10);
      expect(t.sweep(10)).toBe(10);
      expect(t.sweep(10)).toBe(5);
      expect(t.sweep(10)).toBe(0);
      expect(t.stats().expirations).toBe(25);
      expect(t.tab2list()).toEqual([]);
      expect(codeOf(() => t.sweep(0))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.sweep(1.5))).toBe('SC_ERR_BAD_ARG');
    });

    it('reports an expired object removed by a write as expired, not deleted', () => {
      const { t, clock, removed } = ttlTable('set');
      t.insert(['a', 1], { ttl: 10 });
      t.insert(['b', 1], { ttl: 10 });
      t.insert(['c', 1], { ttl: 10 });
      clock.advance(10);
      t.insert(['a', 2]);
      t.delete('b');
      expect(t.take('c')).toEqual([]);
      expect(removed.map(([e, r]) => [e.obj[0], r])).toEqual([
        ['a', 'expired'],
        ['b', 'expired'],
        ['c', 'expired'],
      ]);
      expect(t.stats()).toMatchObject({ deletes: 0, expirations: 3 });
    });

    it.each(ALL_TYPES)('counts only live objects as deleted by deleteAllObjects in a %s', (type) => {
      const { t, clock, removed } = ttlTable(type);
      t.insert(['a', 1], { ttl: 10 });
      t.insert(['b', 1]);
      clock.advance(10);
      t.deleteAllObjects();
      expect(t.stats()).toMatchObject({ deletes: 1, expirations: 1 });
      expect(removed.map(([e, r]) => [e.obj[0], r])).toEqual([['a', 'expired']]);
    });

    it('stores an entry whose expiresAt is already past as invisible', () => {
      const { t, clock, removed } = ttlTable('set');
      t.insert(['k', 'old']);
      t.insertEntry(['k', 'new'], { expiresAt: clock.now() - 1 });
      expect(t.size).toBe(0);
      // The read finds it expired and reclaims it: an expiration, not a miss.
      expect(t.lookup('k')).toEqual([]);
      expect(t.sweep()).toBe(0);
      expect(t.stats()).toMatchObject({ expirations: 1, misses: 0 });
      expect(removed.map(([e, r]) => [e.obj[1], r])).toEqual([['new', 'expired']]);
    });

    it('delivers every onRemove call and then rethrows the first error', () => {
      const clock = new ManualClock();
      const seen: string[] = [];
      const t = new Table({
        clock,
        sweepIntervalMs: 0,
        onRemove: (e) => {
          seen.push(e.obj[0] as string);
          throw new Error(`boom ${String(e.obj[0])}`);
        },
      });
      t.insert(['a'], { ttl: 1 });
      t.insert(['b'], { ttl: 2 });
      clock.advance(5);
      expect(() => t.sweep()).toThrow('boom a');
      expect(seen).toEqual(['a', 'b']);
      expect(t.size).toBe(0);
      expect(t.stats().expirations).toBe(2);
    });
  });

  describe('sweep timer', () => {
    it('starts lazily, sweeps on its interval, and stops on close()', () => {
      vi.useFakeTimers();
      const clock = new ManualClock();
      const t = new Table({ clock, sweepIntervalMs: 100, sweepBatch: 2 });
      t.insert(['plain', 1]);
      expect(vi.getTimerCount()).toBe(0);
      for (let i = 0; i < 5; i++) t.insert([i], { ttl: 10 });
      expect(vi.getTimerCount()).toBe(1);
      clock.advance(10);
      vi.advanceTimersByTime(100);
      expect(t.stats().expirations).toBe(2);
      vi.advanceTimersByTime(200);
      expect(t.stats().expirations).toBe(5);
      t.close();
      t.close();
      expect(vi.getTimerCount()).toBe(0);
      t.insert(['late'], { ttl: 1 });
      expect(vi.getTimerCount()).toBe(0);
      clock.advance(1);
      expect(t.sweep()).toBe(1);
      expect(t.lookup('late')).toEqual([]);
    });

    it('stops the timer by itself once nothing can expire', () => {
      vi.useFakeTimers();
      const clock = new ManualClock();
      const t = new Table({ clock, sweepIntervalMs: 50 });
      t.insert(['a'], { ttl: 10 });
      clock.advance(10);
      vi.advanceTimersByTime(50);
      expect(t.size).toBe(0);
      vi.advanceTimersByTime(50);
      expect(vi.getTimerCount()).toBe(0);
      t.insert(['b'], { ttl: 10 });
      expect(vi.getTimerCount()).toBe(1);
      t.close();
    });

    it('unrefs its timer so it never keeps the process alive', () => {
      const t = new Table({ sweepIntervalMs: 60_000 });
      const spy = vi.spyOn(globalThis, 'setInterval');
      t.insert(['a'], { ttl: 1000 });
      expect(spy).toHaveBeenCalledTimes(1);
      const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      spy.mockRestore();
      t.close();
    });

    it('never starts a timer when sweepIntervalMs is 0', () => {
      vi.useFakeTimers();
      const t = new Table({ sweepIntervalMs: 0 });
      t.insert(['a'], { ttl: 10 });
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});
