/**
 * ETS semantics that outside suites (OTP's ets_SUITE) check and that the
 * table follows on purpose: select_reverse, lookup_element/4,
 * update_element/4, select_replace's up-front key check, typed errors for
 * malformed arguments, and how a read of an expired object is counted.
 */

import { describe, expect, it } from 'vitest';
import { SuperCacheError } from '../src/errors.js';
import { _, $, $_, decodeMatchSpec, type MatchSpec } from '../src/match.js';
import { type Continuation, Table } from '../src/table.js';
import type { TableType } from '../src/types.js';
import { codeOf, ManualClock } from './table-helpers.js';

const ALL_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const ALL: MatchSpec = [[_, [], [$_]]];

function filled(type: TableType): Table {
  const t = new Table({ type, sweepIntervalMs: 0 });
  for (const k of ['m', 'c', 'x', 'a']) t.insert([k, 1]);
  if (type !== 'set' && type !== 'ordered_set') t.insert(['c', 2]);
  return t;
}

function detailsOf(f: () => unknown): Record<string, unknown> | undefined {
  try {
    f();
  } catch (e) {
    if (SuperCacheError.is(e)) return e.details as Record<string, unknown> | undefined;
    throw e;
  }
  throw new Error('did not throw');
}

describe('Table (ETS semantics)', () => {
  describe('selectReverse', () => {
    it('reverses the key order of an ordered_set', () => {
      const t = filled('ordered_set');
      expect(t.selectReverse([[[$(1), _], [], [$(1)]]])).toEqual(['x', 'm', 'c', 'a']);
    });

    it.each(['set', 'bag', 'duplicate_bag'] as const)('returns the same list as select on a %s', (type) => {
      const t = filled(type);
      expect(t.selectReverse(ALL)).toEqual(t.select(ALL));
      expect(t.selectReverse(ALL)).not.toEqual([...t.select(ALL)].reverse());
    });
  });

  describe('selectReversePage', () => {
    it.each(ALL_TYPES)('adds up to selectReverse page by page on a %s', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 17; i++) t.insert([i % 7, i]);
      const whole = t.selectReverse(ALL);
      for (const limit of [1, 3, 17, 50]) {
        const got: unknown[] = [];
        let page = t.selectReversePage(ALL, limit);
        for (let n = 0; n < 100; n++) {
          expect(page.items.length).toBeLessThanOrEqual(limit);
          got.push(...page.items);
          if (page.continuation === undefined) break;
          page = t.selectReversePage(page.continuation);
        }
        expect(got).toEqual(whole);
      }
    });

    it('resumes an ordered_set below the last key even after it was deleted', () => {
      const t = new Table({ type: 'ordered_set' });
      for (let i = 0; i < 6; i++) t.insert([i]);
      const p1 = t.selectReversePage(ALL, 2);
      expect(p1.items).toEqual([[5], [4]]);
      t.delete(4);
      t.insert([4.5]);
      const p2 = t.selectReversePage(p1.continuation as Continuation);
      expect(p2.items).toEqual([[3], [2]]);
    });

    it('refuses a forward continuation, and a reverse one given to selectPage', () => {
      const t = filled('ordered_set');
      const fwd = t.selectPage(ALL, 1).continuation as Continuation;
      const rev = t.selectReversePage(ALL, 1).continuation as Continuation;
      expect(codeOf(() => t.selectReversePage(fwd))).toBe('SC_ERR_BAD_CONTINUATION');
      expect(codeOf(() => t.selectPage(rev))).toBe('SC_ERR_BAD_CONTINUATION');
      expect(codeOf(() => t.selectReversePage(ALL, 0))).toBe('SC_ERR_BAD_ARG');
    });
  });

  describe('lookupElement with a default', () => {
    it.each(ALL_TYPES)('answers the default for a missing key of a %s, and counts a miss', (type) => {
      const t = filled(type);
      expect(t.lookupElement('nope', 1, 'dflt')).toBe('dflt');
      expect(t.lookupElement('nope', 9, 0)).toBe(0);
      expect(t.stats().misses).toBe(2);
      expect(codeOf(() => t.lookupElement('nope', 1))).toBe('SC_ERR_NOT_FOUND');
    });

    it('answers the element, not the default, for a present key', () => {
      expect(filled('set').lookupElement('c', 1, 'dflt')).toBe(1);
      expect(filled('bag').lookupElement('c', 1, 'dflt')).toEqual([1, 2]);
    });

    it('still refuses a position past the end of a present object', () => {
      expect(codeOf(() => filled('set').lookupElement('c', 5, 'dflt'))).toBe('SC_ERR_TUPLE_TOO_SHORT');
    });

    it('answers the default for a key whose object expired', () => {
      const clock = new ManualClock();
      const t = new Table({ clock, sweepIntervalMs: 0 });
      t.insert(['k', 1], { ttl: 5 });
      clock.advance(5);
      expect(t.lookupElement('k', 1, 'gone')).toBe('gone');
    });

    it('refuses a default that is not a term', () => {
      expect(codeOf(() => filled('set').lookupElement('nope', 1, (() => 1) as never))).toBe(
        'SC_ERR_INVALID_TERM',
      );
    });
  });

  describe('updateElement with a default', () => {
    it('inserts the default under the key, then applies the update', () => {
      const t = new Table();
      expect(t.updateElement('k', [2, 'new'], ['ignored', 0, 'old'])).toBe(true);
      expect(t.lookup('k')).toEqual([['k', 0, 'new']]);
      expect(t.stats().inserts).toBe(1);
    });

    it('updates a present object and leaves the default unused', () => {
      const t = new Table({ type: 'ordered_set' });
      t.insert(['k', 1, 2]);
      expect(
        t.updateElement(
          'k',
          [
            [1, 'a'],
            [2, 'b'],
          ],
          ['k', 0, 0],
        ),
      ).toBe(true);
      expect(t.lookup('k')).toEqual([['k', 'a', 'b']]);
    });

    it('gives a new default object the table TTL', () => {
      const clock = new ManualClock();
      const t = new Table({ clock, ttl: 100, sweepIntervalMs: 0 });
      t.updateElement('k', [1, 'v'], ['k', 0]);
      expect(t.lookupEntries('k')[0]?.expiresAt).toBe(clock.now() + 100);
    });

    it('changes nothing when the update does not fit the default', () => {
      const t = new Table();
      expect(codeOf(() => t.updateElement('k', [3, 'v'], ['k', 0]))).toBe('SC_ERR_TUPLE_TOO_SHORT');
      expect(t.size).toBe(0);
    });

    it('refuses a bag, a key-position update and a default without a key element', () => {
      expect(codeOf(() => new Table({ type: 'bag' }).updateElement('k', [1, 'v'], ['k', 0]))).toBe(
        'SC_ERR_WRONG_TABLE_TYPE',
      );
      expect(codeOf(() => new Table().updateElement('k', [0, 'v'], ['k', 0]))).toBe('SC_ERR_KEY_UPDATE');
      expect(codeOf(() => new Table({ keyPos: 2 }).updateElement('k', [1, 'v'], ['k', 0]))).toBe(
        'SC_ERR_TUPLE_TOO_SHORT',
      );
    });
  });

  describe('selectReplace', () => {
    it.each(ALL_TYPES)('refuses a body that can change the key up front, on an empty %s', (type) => {
      const t = new Table({ type });
      const specs: MatchSpec[] = [
        [[[$(1), $(2)], [], [['tuple', ['+', $(1), 0], $(2)]]]],
        [[[$(1), $(2)], [], [['tuple', $(2), $(2)]]]],
        [[[_, $(2)], [], [['tuple', 'k', $(2)]]]],
        [[['k', $(2)], [], [['tuple', 'j', $(2)]]]],
        [[[['u', $(1)], $(2)], [], [['tuple', ['tuple', 'u', $(2)], $(2)]]]],
        [[[$(1), $(2)], [], [{ id: $(1) }]]],
      ];
      for (const s of specs)
        expect(
          codeOf(() => t.selectReplace(s)),
          JSON.stringify(s),
        ).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('refuses the whole spec when one clause can change the key, even if it never matches', () => {
      const t = new Table();
      t.insert(['k', 1]);
      const spec: MatchSpec = [
        [['k', $(1)], [], [['tuple', 'k', ['+', $(1), 1]]]],
        [['never', $(1)], [], [['tuple', ['+', $(1), 0], $(1)]]],
      ];
      expect(codeOf(() => t.selectReplace(spec))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(t.lookup('k')).toEqual([['k', 1]]);
    });

    it('accepts every body that provably keeps the key', () => {
      const t = new Table();
      t.insertMany([
        ['k', 1],
        [['u', 7], 1],
      ]);
      const specs: MatchSpec[] = [
        [[[$(1), $(2)], [], [['tuple', $(1), ['+', $(2), 1]]]]],
        [[['k', $(2)], [], [['tuple', 'k', ['+', $(2), 1]]]]],
        [[['k', _], [], [['const', ['k', 10]]]]],
        [[[['u', $(1)], $(2)], [], [['tuple', ['tuple', 'u', $(1)], ['+', $(2), 1]]]]],
        [[_, [], [['tuple', ['element', 1, $_], 0]]]],
        [[_, [], [$_]]],
      ];
      for (const s of specs) expect(() => t.selectReplace(s), JSON.stringify(s)).not.toThrow();
      expect(t.lookup('k')).toEqual([['k', 0]]);
    });

    it('checks the key position of a table keyed elsewhere', () => {
      const t = new Table({ keyPos: 1 });
      t.insert(['v', 'k']);
      expect(t.selectReplace([[[$(1), $(2)], [], [['tuple', 'w', $(2)]]]])).toBe(1);
      expect(codeOf(() => t.selectReplace([[[$(1), $(2)], [], [['tuple', $(2), $(1)]]]]))).toBe(
        'SC_ERR_BAD_MATCH_SPEC',
      );
    });
  });

  describe('typed errors', () => {
    it('names fn when foldl or foldr gets something else', () => {
      const t = filled('set');
      for (const f of [() => t.foldl(1 as never, 0), () => t.foldr('x' as never, 0)]) {
        expect(codeOf(f)).toBe('SC_ERR_BAD_ARG');
        expect(detailsOf(f)).toMatchObject({ argument: 'fn' });
      }
      expect(codeOf(() => new Table().foldl(null as never, 0))).toBe('SC_ERR_BAD_ARG');
    });

    it('reports a bad match variable index in the codec without a doubled word', () => {
      let message = '';
      try {
        decodeMatchSpec([[[{ $sc: 'var', n: 0 }], [], [true]]]);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/invalid match variable index: number 0/);
      expect(message).not.toMatch(/number number/);
    });
  });

  describe('an expired object found by a read', () => {
    it.each(ALL_TYPES)('counts an expiration, not a miss, and is reclaimed once in a %s', (type) => {
      const clock = new ManualClock();
      const removed: string[] = [];
      const t = new Table({ type, clock, sweepIntervalMs: 0, onRemove: (_e, r) => removed.push(r) });
      t.insert(['a', 1], { ttl: 5 });
      t.insert(['b', 1], { ttl: 5 });
      t.insert(['c', 1], { ttl: 5 });
      clock.advance(5);
      expect(t.lookup('a')).toEqual([]);
      expect(t.member('b')).toBe(false);
      expect(codeOf(() => t.lookupElement('c', 1))).toBe('SC_ERR_NOT_FOUND');
      expect(t.lookup('a')).toEqual([]);
      expect(t.sweep()).toBe(0);
      expect(t.stats()).toMatchObject({ hits: 0, misses: 1, expirations: 3 });
      expect(removed).toEqual(['expired', 'expired', 'expired']);
    });
  });
});
