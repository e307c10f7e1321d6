import { partitionOf } from '@supercache/partition';
import { _, $, $_, SuperCacheError, type TableType, type Term, type Tuple } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import {
  CommandRegistry,
  createRegistry,
  LocalBackend,
  mergeKeyed,
  ShardSet,
  TableCursor,
  TableRouter,
} from '../src/index.js';

function makeRouter(type: TableType = 'set', shards = 4, keyPos = 0, partitionPos?: number): TableRouter {
  const set = new ShardSet({ type, keyPos, shards, sweepIntervalMs: 0 });
  const backend = new LocalBackend({ shards: set, shardOf: (pd) => partitionOf(pd, shards) });
  return new TableRouter(backend, partitionPos === undefined ? {} : { partitionPos });
}

const TYPES: TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

describe('TableRouter (local backend)', () => {
  it('routes a write and a read of the same key to the same shard', async () => {
    const r = makeRouter();
    for (let i = 0; i < 200; i++) await r.insert([`k${i}`, i]);
    for (let i = 0; i < 200; i++) expect(await r.lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
    expect(await r.size()).toBe(200);
    // The data really is spread over several shards.
    const sizes = r.backend.local.shards.tables.map((t) => t.size);
    expect(sizes.filter((s) => s > 0).length).toBeGreaterThan(1);
  });

  it('routes by partition data when it differs from the key', async () => {
    const r = makeRouter('set', 8, 0, 1);
    await r.insertMany([
      ['a', 'p1', 1],
      ['b', 'p1', 2],
      ['c', 'p2', 3],
    ]);
    expect(await r.lookup('a', { partition: 'p1' })).toEqual([['a', 'p1', 1]]);
    const idx = partitionOf('p1', 8);
    const t = r.backend.local.shards.table(idx);
    expect(t.lookup('a')).toEqual([['a', 'p1', 1]]);
    expect(t.lookup('b')).toEqual([['b', 'p1', 2]]);
  });

  it('rejects a tuple without a key element with SC_ERR_TUPLE_TOO_SHORT and changes nothing', async () => {
    const r = makeRouter('set', 4, 2);
    await expect(r.insert(['a', 1])).rejects.toMatchObject({ code: 'SC_ERR_TUPLE_TOO_SHORT' });
    await expect(r.insertMany([['a', 1, 'k'], ['b']])).rejects.toMatchObject({
      code: 'SC_ERR_TUPLE_TOO_SHORT',
    });
    expect(await r.size()).toBe(0);
  });

  it.each(TYPES)('merges fan-out results from every shard (%s)', async (type) => {
    const r = makeRouter(type);
    const objs: Tuple[] = [];
    for (let i = 0; i < 100; i++) objs.push([i, i % 3 === 0 ? 'fizz' : 'no']);
    await r.insertMany(objs);
    const fizz = await r.matchObject([_, 'fizz']);
    expect(fizz.length).toBe(34);
    const sel = await r.select([[[$(1), 'fizz'], [], [$(1)]]]);
    expect([...sel].sort((a, b) => (a as number) - (b as number))).toEqual(
      objs.filter((o) => o[1] === 'fizz').map((o) => o[0]),
    );
    expect(await r.selectCount([[[_, 'fizz'], [], [true]]])).toBe(34);
    if (type === 'ordered_set') {
      // Term order across shards.
      expect(sel).toEqual([...sel].sort((a, b) => (a as number) - (b as number)));
      const all = await r.tab2list();
      expect(all.map((o) => o[0])).toEqual(objs.map((o) => o[0]));
    }
  });

  it('walks every key once with first/next across shards (set and ordered_set)', async () => {
    for (const type of ['set', 'ordered_set'] as const) {
      const r = makeRouter(type, 5);
      const keys = Array.from({ length: 60 }, (_v, i) => `key-${String(i).padStart(3, '0')}`);
      await r.insertMany(keys.map((k) => [k, 1]));
      const seen: Term[] = [];
      for (let k = await r.first(); k !== undefined; k = await r.next(k)) seen.push(k);
      expect(new Set(seen).size).toBe(60);
      expect(seen.length).toBe(60);
      if (type === 'ordered_set') {
        expect(seen).toEqual(keys);
        expect(await r.last()).toBe('key-059');
        expect(await r.prev('key-010')).toBe('key-009');
      }
      const back: Term[] = [];
      for (let k = await r.last(); k !== undefined; k = await r.prev(k)) back.push(k);
      expect(back.length).toBe(60);
    }
  });

  it('returns undefined from first/last on an empty table', async () => {
    const r = makeRouter();
    expect(await r.first()).toBeUndefined();
    expect(await r.last()).toBeUndefined();
  });

  it('pages through a fan-out with a continuation, visiting each result once', async () => {
    for (const type of TYPES) {
      const r = makeRouter(type, 3);
      await r.insertMany(Array.from({ length: 95 }, (_v, i) => [i, 'x'] as Tuple));
      const got: Term[] = [];
      let page = await r.selectPage([[[$(1), _], [], [$(1)]]], 10);
      got.push(...page.items);
      let pages = 1;
      while (page.continuation !== undefined) {
        expect(page.items.length).toBe(10);
        page = await r.selectPage(page.continuation);
        got.push(...page.items);
        pages++;
      }
      expect(pages).toBe(10);
      expect([...got].sort((a, b) => (a as number) - (b as number))).toEqual(
        Array.from({ length: 95 }, (_v, i) => i),
      );
      if (type === 'ordered_set') expect(got).toEqual(Array.from({ length: 95 }, (_v, i) => i));
      expect(r.backend.local.shards.openCursors).toBe(0);
    }
  });

  it('omits the continuation on the last page and rejects a bad limit', async () => {
    const r = makeRouter();
    await r.insertMany([
      [1, 'a'],
      [2, 'b'],
    ]);
    const p = await r.matchObjectPage([_, _], 5);
    expect(p.items.length).toBe(2);
    expect(p.continuation).toBeUndefined();
    await expect(r.matchPage([$(1), _], 0)).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG' });
  });

  it('refuses a continuation of another kind', async () => {
    const r = makeRouter();
    await r.insertMany(Array.from({ length: 5 }, (_v, i) => [i, 'x'] as Tuple));
    const p = await r.matchPage([$(1), _], 2);
    expect(p.continuation).toBeInstanceOf(TableCursor);
    await expect(r.selectPage(p.continuation as TableCursor)).rejects.toMatchObject({
      code: 'SC_ERR_BAD_CONTINUATION',
    });
    await r.closeCursor(p.continuation as TableCursor);
    expect(r.backend.local.shards.openCursors).toBe(0);
  });

  it('streams every object to foldl and folds ordered_set in key order both ways', async () => {
    const r = makeRouter('ordered_set', 4);
    await r.insertMany(Array.from({ length: 50 }, (_v, i) => [i, i * 2] as Tuple));
    const sum = await r.foldl((o, acc: number) => acc + (o[1] as number), 0);
    expect(sum).toBe(2 * ((49 * 50) / 2));
    const order = await r.foldl((o, acc: number[]) => [...acc, o[0] as number], []);
    expect(order).toEqual(Array.from({ length: 50 }, (_v, i) => i));
    const rev = await r.foldr((o, acc: number[]) => [...acc, o[0] as number], []);
    expect(rev).toEqual(Array.from({ length: 50 }, (_v, i) => 49 - i));
  });

  it('deletes by match and by spec across shards and counts them', async () => {
    const r = makeRouter('bag', 4);
    await r.insertMany(Array.from({ length: 40 }, (_v, i) => [i % 10, i] as Tuple));
    expect(await r.size()).toBe(40);
    expect(await r.matchDelete([3, _])).toBe(4);
    expect(await r.selectDelete([[[_, $(1)], [['<', $(1), 10]], [true]]])).toBe(9);
    expect(await r.size()).toBe(27);
    expect(await r.deleteAllObjects()).toBe(27);
    expect(await r.size()).toBe(0);
  });

  it('keeps insertNewMany all-or-nothing across shards', async () => {
    const r = makeRouter('set', 4);
    await r.insert(['taken', 0]);
    const objs: Tuple[] = Array.from({ length: 20 }, (_v, i) => [`n${i}`, i]);
    expect(await r.insertNewMany([...objs, ['taken', 1]])).toBe(false);
    expect(await r.size()).toBe(1);
    expect(
      await r.insertNewMany([
        ['dup', 1],
        ['dup', 2],
      ]),
    ).toBe(false);
    expect(await r.size()).toBe(1);
    expect(await r.insertNewMany(objs)).toBe(true);
    expect(await r.size()).toBe(21);
  });

  it('runs counters, element updates and take on the owning shard', async () => {
    const r = makeRouter();
    await r.insert(['c', 0, 'x']);
    expect(await r.updateCounter('c', 5)).toBe(5);
    expect(await r.updateCounter('missing', [1, 2], ['missing', 10])).toBe(12);
    expect(await r.updateElement('c', [2, 'y'])).toBe(true);
    expect(await r.lookup('c')).toEqual([['c', 5, 'y']]);
    expect(await r.take('c')).toEqual([['c', 5, 'y']]);
    expect(await r.member('c')).toBe(false);
    expect(await r.lookupElement('missing', 1)).toBe(12);
  });

  it('rejects an aborted operation with SC_ERR_ABORTED', async () => {
    const r = makeRouter();
    const ac = new AbortController();
    ac.abort();
    await expect(r.lookup('a', { signal: ac.signal })).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
    await expect(r.size({ signal: ac.signal })).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
  });

  it('returns select results for a whole-object body', async () => {
    const r = makeRouter('set', 2);
    await r.insert(['a', 1]);
    expect(await r.select([[[_, 1], [], [$_]]])).toEqual([['a', 1]]);
  });
});

describe('CommandRegistry', () => {
  it('refuses to register two different commands under one name', () => {
    const reg = new CommandRegistry();
    reg.register('x', { scope: 'shard', write: false, run: () => 1 });
    expect(() => reg.register('x', { scope: 'shard', write: false, run: () => 2 })).toThrow(SuperCacheError);
  });

  it('rejects an unknown command with SC_ERR_BAD_REQUEST', () => {
    const set = new ShardSet({ shards: 1, registry: createRegistry() });
    expect(() => set.runShard(0, 'nope', [])).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_REQUEST' }),
    );
    expect(() => set.runNode('lookup', [])).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_REQUEST' }));
  });
});

describe('ShardSet', () => {
  it('validates the shard count', () => {
    expect(() => new ShardSet({ shards: 0 })).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
    expect(() => new ShardSet({ shards: 1.5 })).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
  });

  it('reaps idle cursors', () => {
    let now = 0;
    const set = new ShardSet({ shards: 2, clock: { now: () => now }, sweepIntervalMs: 0 });
    set.runShard(0, 'insert', [[['a', 1]]]);
    const id = set.openCursor('objects', null);
    expect(set.openCursors).toBe(1);
    now = 10_000;
    expect(set.reapCursors(5_000)).toBe(1);
    expect(() => set.cursorNext(id, 1)).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_CONTINUATION' }));
  });
});

describe('mergeKeyed', () => {
  it('merges sorted keyed lists into one sorted list', () => {
    const out = mergeKeyed([
      [
        [1, 'a'],
        [4, 'd'],
      ],
      [
        [2, 'b'],
        [3, 'c'],
      ],
      [],
    ]);
    expect(out.map((p) => p[0])).toEqual([1, 2, 3, 4]);
  });
});
