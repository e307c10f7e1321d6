import { describe, expect, it } from 'vitest';
import { _, $, $_, $$, type MatchSpec } from '../src/match.js';
import { type Continuation, Table } from '../src/table.js';
import type { Term, Tuple } from '../src/terms.js';
import type { TableType } from '../src/types.js';
import { codeOf, ManualClock } from './table-helpers.js';

const ALL_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const ALL: MatchSpec = [[_, [], [$_]]];

function people(type: TableType = 'set'): Table {
  const t = new Table({ type });
  t.insertMany([
    ['ann', 31, 'admin'],
    ['bob', 25, 'user'],
    ['cat', 42, 'user'],
    ['dan', 19, 'guest'],
  ]);
  return t;
}

/** Every page of a paging, following continuations (bounded). */
function pages<T>(
  first: { items: T[]; continuation?: Continuation },
  next: (c: Continuation) => typeof first,
) {
  const out: T[][] = [first.items];
  let p = first;
  for (let i = 0; p.continuation !== undefined; i++) {
    if (i > 10_000) throw new Error('paging does not end');
    p = next(p.continuation);
    out.push(p.items);
  }
  return out;
}

describe('Table', () => {
  describe('match and matchObject', () => {
    it('returns the bindings of every matching object in table order', () => {
      const t = people();
      expect(t.match([$(1), $(2), 'user'])).toEqual([
        ['bob', 25],
        ['cat', 42],
      ]);
      expect(t.match([_, _, 'admin'])).toEqual([[]]);
      expect(t.match([$(1), _])).toEqual([]);
    });

    it('returns every matching object', () => {
      const t = people('ordered_set');
      expect(t.matchObject([_, _, 'user'])).toEqual([
        ['bob', 25, 'user'],
        ['cat', 42, 'user'],
      ]);
      expect(t.matchObject(_)).toHaveLength(4);
    });

    it.each(ALL_TYPES)('reads only the bound key when the pattern binds it, in a %s', (type) => {
      const t = new Table({ type });
      t.insertMany([
        [['k', 1], 'a'],
        [['k', 1], 'b'],
        [['k', 2], 'c'],
      ]);
      const expected = type === 'set' || type === 'ordered_set' ? [['b']] : [['a'], ['b']];
      expect(t.match([['k', 1], $(1)])).toEqual(expected);
      expect(t.matchObject([['k', 3], _])).toEqual([]);
    });

    it.each(ALL_TYPES)('deletes every matching object and counts them in a %s', (type) => {
      const t = new Table({ type });
      t.insertMany([
        ['a', 1],
        ['a', 2],
        ['b', 1],
        ['c', 3],
      ]);
      const before = t.size;
      const n = t.matchDelete([_, 1]);
      expect(n).toBe(type === 'set' || type === 'ordered_set' ? 1 : 2);
      expect(t.size).toBe(before - n);
      expect(t.matchObject([_, 1])).toEqual([]);
      expect(t.matchDelete([['nope'], _])).toBe(0);
      expect(t.stats().deletes).toBe(n);
    });

    it('deletes the matching copies of a duplicate_bag key only', () => {
      const t = new Table({ type: 'duplicate_bag' });
      t.insertMany([
        ['k', 1],
        ['k', 2],
        ['k', 1],
      ]);
      expect(t.matchDelete(['k', 1])).toBe(2);
      expect(t.lookup('k')).toEqual([['k', 2]]);
    });
  });

  describe('select', () => {
    const adults: MatchSpec = [[[$(1), $(2), _], [['>=', $(2), 21]], [$(1)]]];

    it('returns body results in table order and in reverse', () => {
      const t = people('ordered_set');
      expect(t.select(adults)).toEqual(['ann', 'bob', 'cat']);
      expect(t.selectReverse(adults)).toEqual(['cat', 'bob', 'ann']);
      expect(t.select([[[$(1), _, _], [], [$$]]])).toEqual([['ann'], ['bob'], ['cat'], ['dan']]);
    });

    it('tries clauses in order', () => {
      const t = people();
      const spec: MatchSpec = [
        [[$(1), _, 'admin'], [], [['tuple', 'A', $(1)]]],
        [[$(1), _, _], [], [['tuple', 'other', $(1)]]],
      ];
      expect(t.select(spec)).toEqual([
        ['A', 'ann'],
        ['other', 'bob'],
        ['other', 'cat'],
        ['other', 'dan'],
      ]);
    });

    it('counts the objects for which the spec returns true', () => {
      const t = people();
      expect(t.selectCount([[[_, $(1), _], [['<', $(1), 30]], [true]]])).toBe(2);
      // A body that is not `true` does not count.
      expect(t.selectCount(adults)).toBe(0);
    });

    it.each(ALL_TYPES)('deletes the objects for which the spec returns true in a %s', (type) => {
      const t = people(type);
      expect(t.selectDelete([[[_, _, 'user'], [], [true]]])).toBe(2);
      expect(t.selectDelete(adults)).toBe(0);
      expect(t.tab2list().map((o) => o[0])).toEqual(['ann', 'dan']);
    });

    it('reads only the bound key when the spec binds it', () => {
      const t = people('bag');
      t.insert(['bob', 26, 'user']);
      expect(t.select([[['bob', $(1), _], [], [$(1)]]])).toEqual([25, 26]);
      // Not an ordered_set: selectReverse returns select's list, as in ETS.
      expect(t.selectReverse([[['bob', $(1), _], [], [$(1)]]])).toEqual([25, 26]);
      expect(t.selectCount([[['zed', _, _], [], [true]]])).toBe(0);
      expect(t.selectDelete([[['bob', 26, _], [], [true]]])).toBe(1);
      expect(t.lookup('bob')).toEqual([['bob', 25, 'user']]);
    });

    it('rejects a malformed spec with SC_ERR_BAD_MATCH_SPEC', () => {
      const t = people();
      expect(codeOf(() => t.select('nope' as never))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(codeOf(() => t.selectCount([[_, [], []]] as never))).toBe('SC_ERR_BAD_MATCH_SPEC');
    });
  });

  describe('selectReplace', () => {
    const birthday: MatchSpec = [
      [[$(1), $(2), $(3)], [['=:=', $(3), 'user']], [['tuple', $(1), ['+', $(2), 1], $(3)]]],
    ];

    it.each(ALL_TYPES)('replaces every matched object with the body result in a %s', (type) => {
      const t = people(type);
      expect(t.selectReplace(birthday)).toBe(2);
      expect(t.lookup('bob')).toEqual([['bob', 26, 'user']]);
      expect(t.lookup('cat')).toEqual([['cat', 43, 'user']]);
      expect(t.lookup('ann')).toEqual([['ann', 31, 'admin']]);
      expect(t.stats().inserts).toBe(6);
    });

    it('changes nothing and throws SC_ERR_BAD_MATCH_SPEC when a result changes the key', () => {
      const t = people();
      const before = t.tab2list();
      const rename: MatchSpec = [[[$(1), $(2), 'guest'], [], [['tuple', 'eve', $(2), 'guest']]]];
      expect(codeOf(() => t.selectReplace([...birthday, ...rename]))).toBe('SC_ERR_BAD_MATCH_SPEC');
      const mixed: MatchSpec = [
        [[$(1), $(2), 'user'], [], [['tuple', $(1), 0, 'user']]],
        [[$(1), $(2), 'guest'], [], [['tuple', 'eve', $(2), 'guest']]],
      ];
      expect(codeOf(() => t.selectReplace(mixed))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(t.tab2list()).toEqual(before);
    });

    it('throws SC_ERR_BAD_MATCH_SPEC when a result is not a tuple with a key', () => {
      const t = people();
      expect(codeOf(() => t.selectReplace([[[$(1), _, _], [], [$(1)]]]))).toBe('SC_ERR_BAD_MATCH_SPEC');
      expect(codeOf(() => t.selectReplace([[[_, _, _], [], [['tuple']]]]))).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('merges a replacement equal to another object of a bag key', () => {
      const t = new Table({ type: 'bag' });
      t.insertMany([
        ['k', 1],
        ['k', 2],
        ['k', 3],
      ]);
      expect(t.selectReplace([[['k', 2], [], [['tuple', 'k', 1]]]])).toBe(1);
      expect(t.lookup('k')).toEqual([
        ['k', 1],
        ['k', 3],
      ]);
      expect(t.size).toBe(2);
    });

    it('keeps duplicates in a duplicate_bag', () => {
      const t = new Table({ type: 'duplicate_bag' });
      t.insertMany([
        ['k', 1],
        ['k', 2],
      ]);
      expect(t.selectReplace([[['k', 2], [], [['tuple', 'k', 1]]]])).toBe(1);
      expect(t.lookup('k')).toEqual([
        ['k', 1],
        ['k', 1],
      ]);
    });

    it('keeps the TTL and version of replaced objects', () => {
      const clock = new ManualClock();
      const t = new Table({ clock, sweepIntervalMs: 0 });
      t.insertEntry(['k', 1], { expiresAt: 5000, version: 'v1' });
      t.selectReplace([[['k', $(1)], [], [['tuple', 'k', ['+', $(1), 1]]]]]);
      expect(t.lookupEntries('k')).toEqual([{ obj: ['k', 2], expiresAt: 5000, version: 'v1' }]);
    });

    it('returns 0 when nothing matches', () => {
      const t = people();
      expect(t.selectReplace([[['nobody', _, _], [], [$_]]])).toBe(0);
    });
  });

  describe('paging', () => {
    it.each(ALL_TYPES)('returns every result of select across pages of a %s', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 23; i++) t.insert([i % 9, i]);
      const all = t.select(ALL);
      for (const limit of [1, 2, 5, 23, 100]) {
        const ps = pages(t.selectPage(ALL, limit), (c) => t.selectPage(c));
        for (const p of ps) expect(p.length).toBeLessThanOrEqual(limit);
        expect(ps.flat()).toEqual(all);
        expect(ps.at(-1)?.length).toBeGreaterThan(0);
      }
    });

    it('leaves the continuation out of the last page', () => {
      const t = people();
      const p1 = t.selectPage(ALL, 3);
      expect(p1.items).toHaveLength(3);
      expect(p1.continuation).toBeDefined();
      const p2 = t.selectPage(p1.continuation as Continuation);
      expect(p2.items).toHaveLength(1);
      expect('continuation' in p2).toBe(false);
      const exact = t.selectPage(ALL, 4);
      expect(exact.items).toHaveLength(4);
      expect(exact.continuation).toBeUndefined();
    });

    it('pages match and matchObject', () => {
      const t = people('ordered_set');
      const m = pages(t.matchPage([$(1), $(2), _], 3), (c) => t.matchPage(c));
      expect(m).toEqual([
        [
          ['ann', 31],
          ['bob', 25],
          ['cat', 42],
        ],
        [['dan', 19]],
      ]);
      const o = pages(t.matchObjectPage([_, _, 'user'], 1), (c) => t.matchObjectPage(c));
      expect(o.flat()).toEqual([
        ['bob', 25, 'user'],
        ['cat', 42, 'user'],
      ]);
    });

    it('resumes inside a bag key where the previous page ended', () => {
      const t = new Table({ type: 'duplicate_bag' });
      for (let i = 0; i < 5; i++) t.insert(['k', i]);
      t.insert(['j', 9]);
      const p1 = t.matchObjectPage(_, 2);
      expect(p1.continuation).toMatchObject({ kind: 'matchObject', after: 'k', offset: 2 });
      const rest = pages(p1, (c) => t.matchObjectPage(c)).flat();
      expect(rest).toEqual(t.tab2list());
    });

    it('pages a key-bound spec within the key', () => {
      const t = new Table({ type: 'bag' });
      for (let i = 0; i < 5; i++) t.insert(['k', i]);
      t.insert(['other', 1]);
      const spec: MatchSpec = [[['k', $(1)], [], [$(1)]]];
      const ps = pages(t.selectPage(spec, 2), (c) => t.selectPage(c));
      expect(ps).toEqual([[0, 1], [2, 3], [4]]);
      expect(t.selectPage([[['none', _], [], [$_]]], 2)).toEqual({ items: [] });
    });

    it('produces continuations that are plain serializable data', () => {
      const t = new Table();
      for (let i = 0; i < 10; i++) t.insert([`k${i}`, i]);
      const spec: MatchSpec = [[[$(1), $(2)], [['>', $(2), 2]], [$(1)]]];
      const p1 = t.selectPage(spec, 3);
      const c = p1.continuation as Continuation;
      expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
      expect(c).toMatchObject({ kind: 'select', limit: 3, after: 'k5', offset: 0 });
      // Strings and numbers survive JSON; a spec without markers would too.
      const wire = JSON.parse(JSON.stringify({ ...c, spec: undefined }));
      const back = { ...wire, spec } as Continuation;
      const rest = pages(t.selectPage(back), (x) => t.selectPage(x)).flat();
      expect([...p1.items, ...rest]).toEqual(t.select(spec));
    });

    it.each(ALL_TYPES)('visits every key present for the whole paging exactly once in a %s', (type) => {
      const t = new Table({ type });
      for (let i = 0; i < 60; i++) t.insert([i, 'x']);
      const seen = new Map<Term, number>();
      let p = t.matchObjectPage(_, 7);
      const stable = new Set<Term>();
      for (let i = 0; i < 60; i++) if (i % 4 !== 0) stable.add(i);
      let extra = 100;
      for (let page = 0; ; page++) {
        expect(page).toBeLessThan(100);
        for (const o of p.items) seen.set(o[0] as Term, (seen.get(o[0] as Term) ?? 0) + 1);
        if (p.continuation === undefined) break;
        // Between the first pages: delete and re-insert unstable keys (a
        // re-inserted key is new: in insertion order it moves to the end),
        // and add new keys on both sides of the key order.
        if (page < 4) {
          for (let i = 4 * page; i < 60; i += 16) {
            t.delete(i);
            t.insert([i, 'again']);
          }
          t.insert([extra++, 'new']);
          t.insert([-extra, 'new']);
        }
        p = t.matchObjectPage(p.continuation);
      }
      for (const k of stable) expect(seen.get(k), `key ${String(k)}`).toBe(1);
      // A re-inserted key is a new key: in insertion order it may come again.
      for (const n of seen.values()) expect(n).toBeLessThanOrEqual(type === 'ordered_set' ? 1 : 2);
    });

    it('throws SC_ERR_BAD_ARG for a limit below 1', () => {
      const t = people();
      for (const limit of [0, -1, 1.5, Number.NaN]) {
        expect(codeOf(() => t.selectPage(ALL, limit))).toBe('SC_ERR_BAD_ARG');
        expect(codeOf(() => t.matchPage(_, limit))).toBe('SC_ERR_BAD_ARG');
        expect(codeOf(() => t.matchObjectPage(_, limit))).toBe('SC_ERR_BAD_ARG');
      }
    });

    it('throws SC_ERR_BAD_CONTINUATION for garbage', () => {
      const t = people();
      const good = t.selectPage(ALL, 1).continuation as Continuation;
      const garbage: unknown[] = [
        null,
        42,
        'cont',
        [],
        {},
        { ...good, kind: 'nope' },
        { ...good, limit: 0 },
        { ...good, offset: -1 },
        { ...good, seq: 1.5 },
        { ...good, after: undefined },
        { ...good, after: () => 1 },
        { ...good, spec: undefined },
        { ...good, spec: [['not a clause']] },
      ];
      for (const g of garbage)
        expect(codeOf(() => t.selectPage(g as Continuation))).toBe('SC_ERR_BAD_CONTINUATION');
      expect(codeOf(() => t.matchPage(good))).toBe('SC_ERR_BAD_CONTINUATION');
      const m = t.matchPage(_, 1).continuation as Continuation;
      expect(codeOf(() => t.matchObjectPage(m))).toBe('SC_ERR_BAD_CONTINUATION');
      expect(codeOf(() => t.matchPage({ ...m, pattern: undefined } as never))).toBe(
        'SC_ERR_BAD_CONTINUATION',
      );
    });

    it('ends on an empty last page when nothing after the continuation matches', () => {
      const t = new Table();
      const objs: Tuple[] = [
        ['a', 1],
        ['b', 1],
        ['c', 2],
      ];
      t.insertMany(objs);
      const spec: MatchSpec = [[[_, 1], [], [$_]]];
      const p1 = t.selectPage(spec, 2);
      expect(p1.items).toHaveLength(2);
      const p2 = t.selectPage(p1.continuation as Continuation);
      expect(p2).toEqual({ items: [] });
    });
  });
});
