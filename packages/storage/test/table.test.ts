import { describe, expect, it } from 'vitest';
import { flatHash } from '../src/flat-key.js';
import { Table } from '../src/table.js';
import { type Term, type Tuple, termBytes } from '../src/terms.js';
import type { TableOptions, TableType } from '../src/types.js';
import { codeOf } from './table-helpers.js';

const ALL_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const SET_TYPES: readonly TableType[] = ['set', 'ordered_set'];
const BAG_TYPES: readonly TableType[] = ['bag', 'duplicate_bag'];

// Pairs of flat tuple keys with the same 32-bit hash, by a birthday search.
// Three elements: pairs of primitives live in a two-level map instead.
function collidingPairs(n: number): Array<[Term[], Term[]]> {
  const seen = new Map<number, Term[]>();
  const pairs: Array<[Term[], Term[]]> = [];
  for (let i = 0; pairs.length < n; i++) {
    const k = ['c', `v${i}`, 0];
    const h = flatHash(k) as number;
    const other = seen.get(h);
    if (other !== undefined) pairs.push([other, k]);
    else seen.set(h, k);
  }
  return pairs;
}

describe('Table', () => {
  describe('options', () => {
    it('defaults to a set keyed at position 0', () => {
      const t = new Table();
      expect(t.info()).toEqual({ type: 'set', keyPos: 0, size: 0, memory: 0 });
      expect(t.type).toBe('set');
      expect(t.keyPos).toBe(0);
    });

    it.each<[string, TableOptions]>([
      ['unknown type', { type: 'hash' as TableType }],
      ['negative keyPos', { keyPos: -1 }],
      ['fractional keyPos', { keyPos: 1.5 }],
      ['NaN ttl', { ttl: Number.NaN }],
      ['negative ttl', { ttl: -1 }],
      ['string ttl', { ttl: '5' as unknown as number }],
      ['negative maxEntries', { maxEntries: -1 }],
      ['fractional maxEntries', { maxEntries: 2.5 }],
      ['negative maxBytes', { maxBytes: -10 }],
      ['negative sweepIntervalMs', { sweepIntervalMs: -1 }],
      ['infinite sweepIntervalMs', { sweepIntervalMs: Number.POSITIVE_INFINITY }],
      ['zero sweepBatch', { sweepBatch: 0 }],
      ['clock without now', { clock: {} as never }],
      ['onRemove not a function', { onRemove: 1 as never }],
    ])('rejects %s with SC_ERR_BAD_ARG', (_name, options) => {
      expect(codeOf(() => new Table(options))).toBe('SC_ERR_BAD_ARG');
    });

    it('rejects options that are not an object', () => {
      expect(codeOf(() => new Table(null as never))).toBe('SC_ERR_BAD_ARG');
    });

    it('accepts Infinity as "no limit" for ttl, maxEntries and maxBytes', () => {
      const t = new Table({
        ttl: Number.POSITIVE_INFINITY,
        maxEntries: Number.POSITIVE_INFINITY,
        maxBytes: Infinity,
      });
      for (let i = 0; i < 100; i++) t.insert([i]);
      expect(t.size).toBe(100);
      expect(t.lookupEntries(1)[0]?.expiresAt).toBe(0);
    });
  });

  describe('insert and lookup', () => {
    it('keeps one object per key in a set', () => {
      const t = new Table({ type: 'set' });
      t.insert(['a', 1]);
      t.insert(['a', 2]);
      t.insert(['b', 3]);
      expect(t.lookup('a')).toEqual([['a', 2]]);
      expect(t.size).toBe(2);
    });

    it('keeps one object per key in an ordered_set, in key order', () => {
      const t = new Table({ type: 'ordered_set' });
      for (const k of ['m', 'c', 'x', 'a']) t.insert([k, 0]);
      t.insert(['c', 1]);
      expect(t.tab2list()).toEqual([
        ['a', 0],
        ['c', 1],
        ['m', 0],
        ['x', 0],
      ]);
    });

    it('keeps distinct objects per key in a bag', () => {
      const t = new Table({ type: 'bag' });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      t.insert(['k', 1]);
      expect(t.lookup('k')).toEqual([
        ['k', 1],
        ['k', 2],
      ]);
      expect(t.size).toBe(2);
    });

    it('treats -0 and 0 as equal objects in a bag, keeping the newest array', () => {
      const t = new Table({ type: 'bag' });
      t.insert(['k', -0]);
      const zero = ['k', 0] as const;
      t.insert(zero);
      expect(t.lookup('k')).toHaveLength(1);
      expect(t.lookup('k')[0]).toBe(zero);
    });

    it('keeps duplicates in a duplicate_bag, in insertion order', () => {
      const t = new Table({ type: 'duplicate_bag' });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      t.insert(['k', 1]);
      expect(t.lookup('k')).toEqual([
        ['k', 1],
        ['k', 2],
        ['k', 1],
      ]);
      expect(t.size).toBe(3);
    });

    it.each(ALL_TYPES)('compares composite keys by value in a %s', (type) => {
      const t = new Table({ type });
      t.insert([['user', 1], 'alice']);
      t.insert([{ id: 7, kind: ['x'] }, 'obj']);
      t.insert([new Uint8Array([1, 2]), 'bytes']);
      expect(t.lookup(['user', 1])).toEqual([[['user', 1], 'alice']]);
      expect(t.lookup({ kind: ['x'], id: 7 })).toEqual([[{ id: 7, kind: ['x'] }, 'obj']]);
      expect(t.lookup(new Uint8Array([1, 2]))).toHaveLength(1);
      expect(t.lookup(['user', 2])).toEqual([]);
      expect(t.member(['user', '1'])).toBe(false);
    });

    it.each(ALL_TYPES)('treats -0 and 0, and NaN and NaN, as the same key in a %s', (type) => {
      const t = new Table({ type });
      t.insert([-0, 'a']);
      t.insert([Number.NaN, 'n']);
      t.insert([['p', -0], 'c']);
      expect(t.member(0)).toBe(true);
      expect(t.member(Number.NaN)).toBe(true);
      expect(t.member(['p', 0])).toBe(true);
      expect(t.member([Number.NaN])).toBe(false);
    });

    it.each(ALL_TYPES)('keeps 1 and 1n as different keys in a %s', (type) => {
      const t = new Table({ type });
      t.insert([1, 'number']);
      t.insert([1n, 'bigint']);
      t.insert([[1], 'n']);
      t.insert([[1n], 'b']);
      expect(t.lookup(1)).toEqual([[1, 'number']]);
      expect(t.lookup(1n)).toEqual([[1n, 'bigint']]);
      expect(t.lookup([1])).toEqual([[[1], 'n']]);
      expect(t.lookup([1n])).toEqual([[[1n], 'b']]);
      expect(t.size).toBe(4);
    });

    it('never confuses string keys with encoded composite keys', () => {
      const t = new Table();
      const tricky = ['["user",1]', '\uD800', '\uD800x', '\uD800c', '', '[', 'user'];
      for (const s of tricky) t.insert([s, `s:${s}`]);
      t.insert([['user', 1], 'composite']);
      t.insert([['user'], 'single']);
      for (const s of tricky) expect(t.lookup(s)).toEqual([[s, `s:${s}`]]);
      expect(t.lookup(['user', 1])).toEqual([[['user', 1], 'composite']]);
      expect(t.lookup(['user'])).toEqual([[['user'], 'single']]);
      expect(t.size).toBe(tricky.length + 2);
    });

    it('distinguishes flat composite keys whose hashes collide', () => {
      const [[a, b], [c, d]] = collidingPairs(2) as [[Term[], Term[]], [Term[], Term[]]];
      expect(flatHash(c)).toBe(flatHash(d));
      expect(flatHash(a)).toBe(flatHash(b));
      for (const type of ALL_TYPES) {
        const t = new Table({ type });
        t.insert([a, 'a']);
        t.insert([b, 'b']);
        expect(t.lookup([...a])).toEqual([[a, 'a']]);
        expect(t.lookup([...b])).toEqual([[b, 'b']]);
        // Deleting the first leaves the second reachable, and vice versa.
        t.delete([...a]);
        expect(t.lookup(a)).toEqual([]);
        expect(t.lookup(b)).toEqual([[b, 'b']]);
        t.insert([a, 'a2']);
        expect(t.lookup(a)).toEqual([[a, 'a2']]);
        t.delete(b);
        expect(t.lookup(b)).toEqual([]);
        expect(t.lookup(a)).toEqual([[a, 'a2']]);
        t.insert([b, 'b2']);
        expect(t.tab2list()).toHaveLength(2);
        // A second colliding pair while the first collision is stored.
        t.insert([c, 'c']);
        t.insert([d, 'd']);
        expect(t.lookup([...c])).toEqual([[c, 'c']]);
        expect(t.lookup([...d])).toEqual([[d, 'd']]);
        t.delete(c);
        expect(t.lookup(d)).toEqual([[d, 'd']]);
        t.delete(d);
        expect(t.take(b)).toEqual([[b, 'b2']]);
        expect(t.take(a)).toEqual([[a, 'a2']]);
        expect(t.size).toBe(0);
      }
    });

    it.each(ALL_TYPES)(
      'keeps pair keys reachable when they move out of the two-level map in a %s',
      (type) => {
        const t = new Table({ type });
        // Pairs keyed by id first: one inner map each, which moves them all.
        for (let i = 0; i < 3000; i++) t.insert([[i, 'f'], i]);
        t.insert([[1n, 'big'], 'b']);
        t.insert([['ns', 1], 'n']);
        for (let i = 0; i < 3000; i += 97) expect(t.lookup([i, 'f'])).toEqual([[[i, 'f'], i]]);
        expect(t.lookup([1n, 'big'])).toEqual([[[1n, 'big'], 'b']]);
        expect(t.lookup(['ns', 1])).toEqual([[['ns', 1], 'n']]);
        expect(t.size).toBe(3002);
        const keys: Term[] = [];
        for (let k = t.first(); k !== undefined; k = t.next(k)) keys.push(k);
        expect(keys).toHaveLength(3002);
        if (type !== 'ordered_set')
          expect(keys.slice(0, 3)).toEqual([
            [0, 'f'],
            [1, 'f'],
            [2, 'f'],
          ]);
        for (let i = 0; i < 3000; i++) t.delete([i, 'f']);
        expect(t.tab2list()).toHaveLength(2);
        t.insert([[5, 'f'], 'again']);
        expect(t.lookup([5, 'f'])).toEqual([[[5, 'f'], 'again']]);
      },
    );

    it('keeps the insertion order when a plain set converts to records', () => {
      const t = new Table();
      for (const k of ['c', 'a', 7, { o: 1 }, 'b']) t.insert([k, 1]);
      t.insert(['a', 2]);
      t.delete('c');
      expect(t.tab2list()).toEqual([
        ['a', 2],
        [7, 1],
        [{ o: 1 }, 1],
        ['b', 1],
      ]);
      // An array key needs records: the table converts, order unchanged.
      t.insert([['k', 1], 1]);
      t.insert(['c', 3]);
      const keys: Term[] = [];
      for (let k = t.first(); k !== undefined; k = t.next(k)) keys.push(k);
      expect(keys).toEqual(['a', 7, { o: 1 }, 'b', ['k', 1], 'c']);
      expect(t.stats()).toMatchObject({ inserts: 8, deletes: 1 });
      expect(t.info().size).toBe(6);
    });

    it('uses the element at keyPos as the key', () => {
      const t = new Table({ keyPos: 1 });
      t.insert(['x', 'k1', 1]);
      t.insert(['y', 'k1', 2]);
      expect(t.lookup('k1')).toEqual([['y', 'k1', 2]]);
      expect(codeOf(() => t.insert(['only']))).toBe('SC_ERR_TUPLE_TOO_SHORT');
    });

    it('returns an empty array for a missing key', () => {
      const t = new Table();
      expect(t.lookup('nope')).toEqual([]);
      expect(t.member('nope')).toBe(false);
    });

    it('returns a fresh array from a set lookup, so mutating it does not affect the table', () => {
      const t = new Table();
      t.insert(['a', 1]);
      const r = t.lookup('a') as Tuple[];
      r.length = 0;
      expect(t.lookup('a')).toEqual([['a', 1]]);
    });

    it.each<[string, unknown, string]>([
      ['a non-array', 'a', 'SC_ERR_INVALID_TERM'],
      ['null', null, 'SC_ERR_INVALID_TERM'],
      ['an empty tuple', [], 'SC_ERR_TUPLE_TOO_SHORT'],
      ['an undefined element', ['a', undefined], 'SC_ERR_INVALID_TERM'],
      ['a function element', ['a', () => 1], 'SC_ERR_INVALID_TERM'],
      ['a Date element', ['a', new Date()], 'SC_ERR_INVALID_TERM'],
      ['a Map element', ['a', new Map()], 'SC_ERR_INVALID_TERM'],
      ['a nested undefined', ['a', { x: [undefined] }], 'SC_ERR_INVALID_TERM'],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point.
      ['a sparse array', [, 1], 'SC_ERR_INVALID_TERM'],
    ])('rejects %s', (_name, obj, code) => {
      const t = new Table();
      expect(codeOf(() => t.insert(obj as Tuple))).toBe(code);
      expect(t.size).toBe(0);
    });

    it('rejects keys that are not terms on reads', () => {
      const t = new Table();
      expect(codeOf(() => t.lookup(undefined as never))).toBe('SC_ERR_INVALID_TERM');
      expect(codeOf(() => t.member((() => 1) as never))).toBe('SC_ERR_INVALID_TERM');
      expect(codeOf(() => t.lookup([new Date()] as never))).toBe('SC_ERR_INVALID_TERM');
    });

    it('rejects bad insert options', () => {
      const t = new Table();
      expect(codeOf(() => t.insert(['a'], { ttl: -5 }))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.insert(['a'], { ttl: Number.NaN }))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.insert(['a'], 5 as never))).toBe('SC_ERR_BAD_ARG');
      expect(t.size).toBe(0);
    });
  });

  describe('insertMany', () => {
    it.each(ALL_TYPES)('inserts every object in order in a %s', (type) => {
      const t = new Table({ type });
      t.insertMany([
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ]);
      const expected =
        type === 'set' || type === 'ordered_set'
          ? [['a', 3]]
          : [
              ['a', 1],
              ['a', 3],
            ];
      expect(t.lookup('a')).toEqual(expected);
      expect(t.lookup('b')).toEqual([['b', 2]]);
    });

    it('validates every object first, so a rejected call changes nothing', () => {
      const t = new Table();
      t.insert(['a', 0]);
      expect(codeOf(() => t.insertMany([['a', 1], ['b', 2], [] as never]))).toBe('SC_ERR_TUPLE_TOO_SHORT');
      expect(codeOf(() => t.insertMany('ab' as never))).toBe('SC_ERR_BAD_ARG');
      expect(t.tab2list()).toEqual([['a', 0]]);
    });
  });

  describe('insertNew', () => {
    it.each(ALL_TYPES)('inserts only when the key is absent in a %s', (type) => {
      const t = new Table({ type });
      expect(t.insertNew(['a', 1])).toBe(true);
      expect(t.insertNew(['a', 2])).toBe(false);
      expect(t.lookup('a')).toEqual([['a', 1]]);
    });

    it('validates the object even when the key exists', () => {
      const t = new Table();
      t.insert(['a', 1]);
      expect(codeOf(() => t.insertNew(['a', undefined] as never))).toBe('SC_ERR_INVALID_TERM');
    });
  });

  describe('insertNewMany', () => {
    it.each(ALL_TYPES)('writes nothing and returns false when one key exists in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['b', 0]);
      expect(
        t.insertNewMany([
          ['a', 1],
          ['b', 2],
        ]),
      ).toBe(false);
      expect(t.tab2list()).toEqual([['b', 0]]);
      expect(
        t.insertNewMany([
          ['a', 1],
          ['c', 2],
        ]),
      ).toBe(true);
      expect(t.size).toBe(3);
    });

    it.each(SET_TYPES)('returns false for duplicate keys inside the list in a %s', (type) => {
      const t = new Table({ type });
      expect(
        t.insertNewMany([
          ['a', 1],
          [['k'], 1],
          [['k'], 2],
        ]),
      ).toBe(false);
      expect(t.size).toBe(0);
    });

    it.each(BAG_TYPES)('inserts every object of a new key in a %s, as ETS does', (type) => {
      const t = new Table({ type });
      expect(
        t.insertNewMany([
          ['a', 1],
          ['a', 2],
        ]),
      ).toBe(true);
      expect(t.lookup('a')).toEqual([
        ['a', 1],
        ['a', 2],
      ]);
    });
  });

  describe('updateCounter', () => {
    it.each(SET_TYPES)('increments the element after the key by default in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['c', 10, 0]);
      expect(t.updateCounter('c', 5)).toBe(15);
      expect(t.updateCounter('c', -20)).toBe(-5);
      expect(t.lookup('c')).toEqual([['c', -5, 0]]);
    });

    it('uses keyPos + 1 as the default position', () => {
      const t = new Table({ keyPos: 1 });
      t.insert([100, 'c', 1]);
      expect(t.updateCounter('c', 1)).toBe(2);
      expect(t.lookup('c')).toEqual([[100, 'c', 2]]);
    });

    it('updates [pos, incr] and applies thresholds in the direction of incr', () => {
      const t = new Table();
      t.insert(['c', 0, 10]);
      expect(t.updateCounter('c', [2, 5])).toBe(15);
      expect(t.updateCounter('c', [2, 5, 18, 0])).toBe(0);
      expect(t.updateCounter('c', [2, 5, 5, 100])).toBe(5);
      expect(t.updateCounter('c', [1, -3, -2, 50])).toBe(50);
      expect(t.updateCounter('c', [1, -10, 40, 7])).toBe(40);
      expect(t.updateCounter('c', [1, 0, 39, 1])).toBe(1);
    });

    it('applies a list of ops in order and returns every result', () => {
      const t = new Table();
      t.insert(['c', 1, 1]);
      expect(
        t.updateCounter('c', [
          [1, 1],
          [2, 10],
          [1, 1],
        ]),
      ).toEqual([2, 11, 3]);
      expect(t.updateCounter('c', [])).toEqual([]);
      expect(t.updateCounter('c', [[2, 1], 4])).toEqual([12, 7]);
    });

    it('applies a list all or nothing', () => {
      const t = new Table();
      t.insert(['c', 1, 'text']);
      expect(
        codeOf(() =>
          t.updateCounter('c', [
            [1, 1],
            [2, 1],
          ]),
        ),
      ).toBe('SC_ERR_BAD_COUNTER');
      expect(t.lookup('c')).toEqual([['c', 1, 'text']]);
    });

    it('inserts the default object, with the key replaced, when the key is missing', () => {
      const t = new Table();
      expect(t.updateCounter('new', [1, 5], ['ignored', 100, 0])).toBe(105);
      expect(t.lookup('new')).toEqual([['new', 105, 0]]);
      expect(t.updateCounter('new', [1, 5], ['ignored', 100, 0])).toBe(110);
    });

    it('copies on write: a tuple returned earlier does not change', () => {
      const t = new Table();
      const orig = ['c', 1] as const;
      t.insert(orig);
      const before = t.lookup('c')[0];
      t.updateCounter('c', 1);
      expect(before).toEqual(['c', 1]);
      expect(orig).toEqual(['c', 1]);
      expect(t.lookup('c')).toEqual([['c', 2]]);
    });

    it('throws SC_ERR_NOT_FOUND for a missing key without a default', () => {
      const t = new Table();
      expect(codeOf(() => t.updateCounter('x', 1))).toBe('SC_ERR_NOT_FOUND');
    });

    it.each<[string, unknown]>([
      ['the key position', [0, 1]],
      ['a position past the end', [5, 1]],
      ['a negative position', [-1, 1]],
      ['a non-number element', [2, 1]],
    ])('throws SC_ERR_BAD_COUNTER for %s', (_name, op) => {
      const t = new Table();
      t.insert(['c', 1, 'text']);
      expect(codeOf(() => t.updateCounter('c', op as never))).toBe('SC_ERR_BAD_COUNTER');
      expect(t.lookup('c')).toEqual([['c', 1, 'text']]);
    });

    it('throws SC_ERR_BAD_COUNTER when the counter is a bigint', () => {
      const t = new Table();
      t.insert(['c', 1n]);
      expect(codeOf(() => t.updateCounter('c', 1))).toBe('SC_ERR_BAD_COUNTER');
    });

    it.each<[string, unknown]>([
      ['a string op', 'x'],
      ['a 3-element op', [1, 1, 1]],
      ['a non-finite increment', [1, Number.POSITIVE_INFINITY]],
      ['a non-number threshold', [1, 1, 'x', 0]],
    ])('throws SC_ERR_BAD_ARG for %s', (_name, op) => {
      const t = new Table();
      t.insert(['c', 1]);
      expect(codeOf(() => t.updateCounter('c', op as never))).toBe('SC_ERR_BAD_ARG');
    });

    it.each(BAG_TYPES)('throws SC_ERR_WRONG_TABLE_TYPE on a %s', (type) => {
      const t = new Table({ type });
      t.insert(['c', 1]);
      expect(codeOf(() => t.updateCounter('c', 1))).toBe('SC_ERR_WRONG_TABLE_TYPE');
    });
  });

  describe('updateElement', () => {
    it.each(SET_TYPES)('replaces one element or a list of them in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['k', 1, 2, 3]);
      expect(t.updateElement('k', [1, 'one'])).toBe(true);
      expect(
        t.updateElement('k', [
          [2, 'two'],
          [3, { three: 3 }],
          [2, 'again'],
        ]),
      ).toBe(true);
      expect(t.lookup('k')).toEqual([['k', 'one', 'again', { three: 3 }]]);
    });

    it('returns false for a missing key', () => {
      const t = new Table();
      expect(t.updateElement('k', [1, 'x'])).toBe(false);
    });

    it('throws SC_ERR_KEY_UPDATE when the position is the key position, even for a missing key', () => {
      const t = new Table({ keyPos: 1 });
      expect(codeOf(() => t.updateElement('k', [1, 'x']))).toBe('SC_ERR_KEY_UPDATE');
    });

    it('throws SC_ERR_TUPLE_TOO_SHORT past the end, changing nothing', () => {
      const t = new Table();
      t.insert(['k', 1]);
      expect(
        codeOf(() =>
          t.updateElement('k', [
            [1, 2],
            [2, 3],
          ]),
        ),
      ).toBe('SC_ERR_TUPLE_TOO_SHORT');
      expect(t.lookup('k')).toEqual([['k', 1]]);
    });

    it('rejects malformed updates and values that are not terms', () => {
      const t = new Table();
      t.insert(['k', 1]);
      expect(codeOf(() => t.updateElement('k', 'x' as never))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.updateElement('k', [1.5, 'x']))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.updateElement('k', [[1]] as never))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.updateElement('k', [1, undefined as never]))).toBe('SC_ERR_INVALID_TERM');
    });

    it.each(BAG_TYPES)('throws SC_ERR_WRONG_TABLE_TYPE on a %s', (type) => {
      const t = new Table({ type });
      expect(codeOf(() => t.updateElement('k', [1, 'x']))).toBe('SC_ERR_WRONG_TABLE_TYPE');
    });
  });

  describe('deletes', () => {
    it.each(ALL_TYPES)('takes every object of a key in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      t.insert(['j', 3]);
      const expected = SET_TYPES.includes(type)
        ? [['k', 2]]
        : [
            ['k', 1],
            ['k', 2],
          ];
      expect(t.take('k')).toEqual(expected);
      expect(t.take('k')).toEqual([]);
      expect(t.tab2list()).toEqual([['j', 3]]);
    });

    it.each(ALL_TYPES)('deletes every object of a key in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      expect(t.delete('k')).toBe(true);
      expect(t.delete('missing')).toBe(true);
      expect(t.size).toBe(0);
    });

    it('deletes an object from a set only when it is equal to the stored one', () => {
      const t = new Table();
      t.insert(['k', 1]);
      t.deleteObject(['k', 2]);
      expect(t.member('k')).toBe(true);
      t.deleteObject(['k', 1]);
      expect(t.member('k')).toBe(false);
    });

    it('deletes exactly the equal object from a bag', () => {
      const t = new Table({ type: 'bag' });
      t.insert(['k', 1]);
      t.insert(['k', { a: [1, 2] }]);
      t.deleteObject(['k', { a: [1, 2] }]);
      expect(t.lookup('k')).toEqual([['k', 1]]);
    });

    it('deletes every copy of the object from a duplicate_bag', () => {
      const t = new Table({ type: 'duplicate_bag' });
      t.insert(['k', 1]);
      t.insert(['k', 2]);
      t.insert(['k', 1]);
      t.deleteObject(['k', 1]);
      expect(t.lookup('k')).toEqual([['k', 2]]);
      t.deleteObject(['k', 2]);
      expect(t.member('k')).toBe(false);
      expect(t.size).toBe(0);
    });

    it('validates the object given to deleteObject', () => {
      const t = new Table();
      expect(codeOf(() => t.deleteObject([] as never))).toBe('SC_ERR_TUPLE_TOO_SHORT');
    });

    it.each(ALL_TYPES)('deletes every object in a %s, and the table stays usable', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 50; i++) t.insert([i % 7, i]);
      t.insert([['c', 1], 0]);
      expect(t.deleteAllObjects()).toBe(true);
      expect(t.size).toBe(0);
      expect(t.tab2list()).toEqual([]);
      expect(t.first()).toBeUndefined();
      expect(t.info().memory).toBe(0);
      t.insert([['c', 1], 1]);
      t.insert(['z', 2]);
      expect(t.tab2list()).toHaveLength(2);
    });
  });

  describe('lookupElement', () => {
    it('returns the element of a set object', () => {
      const t = new Table();
      t.insert(['k', 'a', 'b']);
      expect(t.lookupElement('k', 2)).toBe('b');
      expect(t.lookupElement('k', 0)).toBe('k');
    });

    it.each(BAG_TYPES)('returns the element of every object in a %s', (type) => {
      const t = new Table({ type });
      t.insert(['k', 'a']);
      t.insert(['k', 'b']);
      expect(t.lookupElement('k', 1)).toEqual(['a', 'b']);
    });

    it('throws SC_ERR_NOT_FOUND, SC_ERR_TUPLE_TOO_SHORT and SC_ERR_BAD_ARG', () => {
      const t = new Table({ type: 'bag' });
      t.insert(['k', 'a', 'b']);
      t.insert(['k', 'a']);
      expect(codeOf(() => t.lookupElement('x', 1))).toBe('SC_ERR_NOT_FOUND');
      expect(codeOf(() => t.lookupElement('k', 2))).toBe('SC_ERR_TUPLE_TOO_SHORT');
      expect(codeOf(() => t.lookupElement('k', -1))).toBe('SC_ERR_BAD_ARG');
      expect(codeOf(() => t.lookupElement('k', 0.5))).toBe('SC_ERR_BAD_ARG');
    });
  });

  describe('info and stats', () => {
    it('reports the live size and the estimated bytes of the stored terms', () => {
      const t = new Table({ type: 'bag' });
      const objs: Tuple[] = [
        ['a', 1],
        ['a', 'two'],
        [['c', 1], { x: [1, 2, 3] }],
      ];
      t.insertMany(objs);
      const bytes = objs.reduce((n, o) => n + termBytes(o), 0);
      expect(t.info()).toEqual({ type: 'bag', keyPos: 0, size: 3, memory: bytes });
      t.delete('a');
      expect(t.info().memory).toBe(termBytes(objs[2] as Tuple));
      t.deleteAllObjects();
      expect(t.info()).toEqual({ type: 'bag', keyPos: 0, size: 0, memory: 0 });
    });

    it('counts hits, misses, inserts and deletes', () => {
      const t = new Table();
      t.insert(['a', 1]);
      t.insertMany([
        ['b', 1],
        ['c', 1],
      ]);
      t.lookup('a');
      t.lookup('zz');
      t.member('b');
      t.member('zz');
      t.lookupElement('c', 1);
      expect(codeOf(() => t.lookupElement('zz', 1))).toBe('SC_ERR_NOT_FOUND');
      t.updateCounter('a', 1);
      t.updateElement('b', [1, 5]);
      t.take('a');
      t.delete('b');
      t.delete('missing');
      expect(t.stats()).toEqual({ hits: 3, misses: 3, inserts: 5, deletes: 2, expirations: 0, evictions: 0 });
    });

    it('returns a snapshot from stats()', () => {
      const t = new Table();
      const s = t.stats();
      t.insert(['a']);
      expect(s.inserts).toBe(0);
      expect(t.stats().inserts).toBe(1);
    });
  });

  describe('iteration', () => {
    it('walks an ordered_set in term order across types', () => {
      const t = new Table({ type: 'ordered_set' });
      const keys: Term[] = [
        { b: 1 },
        [1, 2],
        [1],
        new Uint8Array([0]),
        'b',
        'a',
        2n,
        1.5,
        1,
        true,
        false,
        null,
      ];
      for (const k of keys) t.insert([k]);
      const walked: Term[] = [];
      for (let k = t.first(); k !== undefined; k = t.next(k)) walked.push(k);
      expect(walked).toEqual([
        null,
        false,
        true,
        1,
        1.5,
        2n,
        'a',
        'b',
        new Uint8Array([0]),
        [1],
        [1, 2],
        { b: 1 },
      ]);
      const back: Term[] = [];
      for (let k = t.last(); k !== undefined; k = t.prev(k)) back.push(k);
      expect(back).toEqual([...walked].reverse());
    });

    it('returns the next greater key for a key missing from an ordered_set', () => {
      const t = new Table({ type: 'ordered_set' });
      for (const k of [10, 20, 30]) t.insert([k]);
      expect(t.next(15)).toBe(20);
      expect(t.prev(15)).toBe(10);
      expect(t.next(30)).toBeUndefined();
      expect(t.prev(10)).toBeUndefined();
      expect(t.next(-Infinity)).toBe(10);
      expect(t.next('a')).toBeUndefined();
    });

    it.each(['set', 'bag', 'duplicate_bag'] as const)('walks a %s in insertion order of its keys', (type) => {
      const t = new Table({ type });
      for (const k of ['m', 'c', ['x', 1], 'a']) t.insert([k, 1]);
      t.insert(['c', 2]);
      t.delete('m');
      t.insert(['m', 3]);
      const walked: Term[] = [];
      for (let k = t.first(); k !== undefined; k = t.next(k)) walked.push(k);
      expect(walked).toEqual(['c', ['x', 1], 'a', 'm']);
      expect(t.last()).toBe('m');
      expect(t.prev('m')).toBe('a');
      expect(t.prev('c')).toBeUndefined();
      expect(t.tab2list().map((o) => o[0])).toEqual(
        type === 'set' ? ['c', ['x', 1], 'a', 'm'] : ['c', 'c', ['x', 1], 'a', 'm'],
      );
    });

    it.each(ALL_TYPES)('keeps interleaved walks of a %s independent', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 100; i++) t.insert([(i * 37) % 100, i]);
      const expected: Term[] = [];
      for (let k = t.first(); k !== undefined; k = t.next(k)) expected.push(k);
      // Two walks stepping alternately, one forwards and one backwards.
      const fwd: Term[] = [];
      const bwd: Term[] = [];
      let a = t.first();
      let b = t.last();
      while (a !== undefined || b !== undefined) {
        if (a !== undefined) {
          fwd.push(a);
          a = t.next(a);
        }
        if (b !== undefined) {
          bwd.push(b);
          b = t.prev(b);
        }
      }
      expect(fwd).toEqual(expected);
      expect(bwd).toEqual([...expected].reverse());
      // Positions survive deletes of many keys (index compaction).
      for (let i = 0; i < 100; i += 2) t.delete(i);
      const kept = expected.filter((k) => (k as number) % 2 === 1);
      const again: Term[] = [];
      for (let k = t.first(); k !== undefined; k = t.next(k)) again.push(k);
      expect(again).toEqual(kept);
    });

    it('compacts its insertion-order index without losing walk positions', () => {
      const t = new Table();
      for (let i = 0; i < 5000; i++) t.insert([i]);
      expect(t.first()).toBe(0);
      let k: Term | undefined = 0;
      const seen: Term[] = [];
      while (k !== undefined) {
        seen.push(k);
        // Delete far ahead so that the index compacts mid-walk.
        if (k === 10) for (let i = 20; i < 4000; i++) t.delete(i);
        k = t.next(k);
      }
      expect(seen).toEqual([
        ...Array.from({ length: 20 }, (_, i) => i),
        ...Array.from({ length: 1000 }, (_, i) => 4000 + i),
      ]);
    });

    it.each(['set', 'bag', 'duplicate_bag'] as const)(
      'throws SC_ERR_BAD_ARG for next of a missing key in a %s',
      (type) => {
        const t = new Table({ type });
        t.insert(['a']);
        expect(codeOf(() => t.next('zz'))).toBe('SC_ERR_BAD_ARG');
        expect(codeOf(() => t.prev('zz'))).toBe('SC_ERR_BAD_ARG');
      },
    );

    it.each(ALL_TYPES)('returns undefined from first and last of an empty %s', (type) => {
      const t = new Table({ type });
      expect(t.first()).toBeUndefined();
      expect(t.last()).toBeUndefined();
    });

    it.each(ALL_TYPES)('folds left and right over every object of a %s', (type) => {
      const t = new Table({ type });
      for (const o of [
        ['b', 1],
        ['a', 2],
        ['b', 3],
        ['c', 4],
      ] as const)
        t.insert(o);
      const l = t.foldl<Tuple[]>((o, acc) => [...acc, o], []);
      const r = t.foldr<Tuple[]>((o, acc) => [...acc, o], []);
      expect(l).toEqual(t.tab2list());
      expect(r).toEqual([...l].reverse());
      expect(codeOf(() => t.foldl(1 as never, 0))).toBe('SC_ERR_BAD_ARG');
    });

    it.each(ALL_TYPES)(
      'visits every key present for a whole foldl exactly once while fn modifies a %s',
      (type) => {
        const t = new Table({ type });
        for (let i = 0; i < 200; i++) t.insert([i, 'x']);
        const seen = new Map<Term, number>();
        let extra = 1000;
        t.foldl((o, acc) => {
          const k = o[0] as number;
          seen.set(k, (seen.get(k) ?? 0) + 1);
          if (k % 3 === 0) t.delete(k + 1);
          if (k % 5 === 0) t.insert([extra++, 'new']);
          if (k % 7 === 0) t.insert([k, 'again']);
          return acc + 1;
        }, 0);
        for (let i = 0; i < 200; i++) {
          const deletedBeforeVisit = i % 3 === 1;
          if (!deletedBeforeVisit) expect(seen.get(i), `key ${i}`).toBe(1);
        }
        for (const n of seen.values()) expect(n).toBe(1);
      },
    );
  });

  describe('tab2list', () => {
    it.each(ALL_TYPES)('lists every live object of a %s', (type) => {
      const t = new Table({ type });
      t.insertMany([
        [1, 'a'],
        [2, 'b'],
      ]);
      expect(t.tab2list()).toEqual([
        [1, 'a'],
        [2, 'b'],
      ]);
    });
  });
});
