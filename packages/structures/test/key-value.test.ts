import { canonicalString, SuperCacheError, type TableType, type Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { KeyValue } from '../src/index.js';
import { allRecords, makeRouter, manualClock, TABLE_TYPES } from './helpers.js';

const sorted = (xs: readonly Term[]): Term[] =>
  [...xs].sort((a, b) => (canonicalString(a) < canonicalString(b) ? -1 : 1));

const isSet = (t: TableType) => t === 'set' || t === 'ordered_set';

describe.each(TABLE_TYPES)('KeyValue on a %s table', (type) => {
  const open = (name: Term = 'session') => new KeyValue(makeRouter({ type }), name);

  it('returns the value written by add', async () => {
    const kv = open();
    await kv.add('user_1', { name: 'Alice' });
    expect(await kv.get('user_1')).toEqual({ name: 'Alice' });
  });

  it('returns the default (or undefined) for a missing key', async () => {
    const kv = open();
    expect(await kv.get('nobody')).toBeUndefined();
    expect(await kv.get('nobody', 'fallback')).toBe('fallback');
    expect(await kv.getAll('nobody')).toEqual([]);
    expect(await kv.has('nobody')).toBe(false);
  });

  it('tells a stored null apart from a missing key', async () => {
    const kv = open();
    await kv.add('k', null);
    expect(await kv.get('k', 'fallback')).toBeNull();
    expect(await kv.has('k')).toBe(true);
  });

  it('keeps namespaces apart: the same key in two names holds two values', async () => {
    const router = makeRouter({ type });
    const a = new KeyValue(router, 'a');
    const b = new KeyValue(router, 'b');
    await a.add('k', 1);
    await b.add('k', 2);
    expect(await a.getAll('k')).toEqual([1]);
    expect(await b.getAll('k')).toEqual([2]);
    expect(await a.keys()).toEqual(['k']);
    expect(await b.values()).toEqual([2]);
    await a.remove('k');
    expect(await b.get('k')).toBe(2);
  });

  it('stores records as [[name, key], value] spread over several shards', async () => {
    const kv = open('ns');
    for (let i = 0; i < 50; i++) await kv.add(i, `v${i}`);
    const recs = allRecords(kv.router);
    expect(recs).toHaveLength(50);
    expect(recs).toContainEqual([['ns', 7], 'v7']);
    const used = kv.router.backend.local.shards.tables.filter((t) => t.size > 0).length;
    expect(used).toBeGreaterThan(1);
  });

  it('applies the table type to a second add of the same key', async () => {
    const kv = open();
    await kv.add('k', 'x');
    await kv.add('k', 'y');
    await kv.add('k', 'y');
    const all = await kv.getAll('k');
    if (isSet(type)) expect(all).toEqual(['y']);
    if (type === 'bag') expect(sorted(all)).toEqual(['x', 'y']);
    if (type === 'duplicate_bag') expect(sorted(all)).toEqual(['x', 'y', 'y']);
  });

  it('get returns the latest value a key holds, in every table type (the seed)', async () => {
    const kv = open();
    await kv.add('k', 'first');
    await kv.add('k', 'second');
    expect(await kv.get('k')).toBe('second');
    await kv.add('k', 'third');
    expect(await kv.get('k')).toBe('third');
  });

  it('update inserts a missing key and sets a present one to exactly the value', async () => {
    const kv = open();
    expect(await kv.update('missing', 1)).toBe(1);
    expect(await kv.getAll('missing')).toEqual([1]);
    await kv.add('k', 'a');
    await kv.add('k', 'b');
    expect(await kv.update('k', 'c')).toBe('c');
    expect(await kv.getAll('k')).toEqual(['c']);
  });

  it('update with a function stores the default when absent, else fn of the latest value', async () => {
    const kv = open();
    const seen: unknown[] = [];
    const fn = (v: unknown) => {
      seen.push(v);
      return `${String(v)}+`;
    };
    expect(await kv.update('k', 'd', fn)).toBe('d');
    expect(seen).toEqual([]);
    await kv.add('k', 'x');
    expect(await kv.update('k', 'd', fn)).toBe('x+');
    expect(seen).toEqual(['x']);
    expect(await kv.getAll('k')).toEqual(['x+']);
    expect(await kv.update('k', 'd', async (v) => `${String(v)}!`)).toBe('x+!');
  });

  it('update with a function refuses a result that is not a term and writes nothing', async () => {
    const kv = open();
    await kv.add('k', 1);
    await expect(kv.update('k', 0, () => undefined as never)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
    });
    expect(await kv.getAll('k')).toEqual([1]);
  });

  it('update with a function runs again when another write lands between its read and its write', async () => {
    const kv = open();
    await kv.add('n', 1);
    let calls = 0;
    const result = await kv.update('n', 0, async (v) => {
      calls++;
      // The first time, someone else writes the key meanwhile.
      if (calls === 1) await kv.replace('n', 10);
      return (v as number) * 2;
    });
    expect(calls).toBe(2);
    expect(result).toBe(20);
    expect(await kv.getAll('n')).toEqual([20]);
  });

  it('update with a function gives up with a retryable SC_ERR_CONFLICT when it always loses', async () => {
    const kv = open();
    await kv.add('n', 0);
    let i = 0;
    const err = await kv
      .update('n', 0, async (v) => {
        i++;
        await kv.replace('n', 1000 + i);
        return v;
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SC_ERR_CONFLICT', retryable: true });
    expect(i).toBe(100);
  });

  it('accepts readMode on reads, refuses it on writes, and refuses an unknown mode', async () => {
    const kv = open();
    await kv.add('k', 1);
    for (const readMode of ['local', 'primary', 'quorum'] as const) {
      expect(await kv.get('k', null, { readMode })).toBe(1);
      expect(await kv.getAll('k', { readMode })).toEqual([1]);
      expect(await kv.has('k', { readMode })).toBe(true);
      expect(await kv.keys({ readMode })).toEqual(['k']);
      expect(await kv.values({ readMode })).toEqual([1]);
      expect(await kv.count({ readMode })).toBe(1);
      expect(await kv.toList({ readMode })).toEqual([['k', 1]]);
    }
    const bad = { readMode: 'bogus' } as never;
    for (const p of [kv.get('k', null, bad), kv.keys(bad), kv.count(bad), kv.has('k', bad)]) {
      await expect(p).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG', details: { option: 'readMode' } });
    }
    const w = { readMode: 'local' } as never;
    for (const p of [
      kv.add('k', 2, w),
      kv.update('k', 2, w),
      kv.remove('k', w),
      kv.replace('k', 2, w),
      kv.removeAll(w),
    ]) {
      await expect(p).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG', details: { option: 'readMode' } });
    }
    expect(await kv.getAll('k')).toEqual([1]);
  });

  it('replace leaves exactly one value, present or not', async () => {
    const kv = open();
    await kv.replace('fresh', 1);
    expect(await kv.getAll('fresh')).toEqual([1]);
    await kv.add('k', 'a');
    await kv.add('k', 'b');
    await kv.replace('k', 'z');
    expect(await kv.getAll('k')).toEqual(['z']);
  });

  it('remove deletes every value of the key and says whether there was one', async () => {
    const kv = open();
    await kv.add('k', 1);
    await kv.add('k', 2);
    expect(await kv.remove('k')).toBe(true);
    expect(await kv.getAll('k')).toEqual([]);
    expect(await kv.remove('k')).toBe(false);
  });

  it('removeAll deletes only this namespace', async () => {
    const router = makeRouter({ type });
    const a = new KeyValue(router, 'a');
    const b = new KeyValue(router, 'b');
    await a.addBatch([
      [1, 'x'],
      [2, 'y'],
    ]);
    await b.add(1, 'keep');
    expect(await a.removeAll()).toBe(2);
    expect(await a.count()).toBe(0);
    expect(await b.toList()).toEqual([[1, 'keep']]);
  });

  it('keys, values, count and toList see only this namespace', async () => {
    const router = makeRouter({ type });
    const a = new KeyValue(router, 'a');
    const other = new KeyValue(router, 'other');
    for (let i = 0; i < 20; i++) await a.add(i, i * 10);
    for (let i = 0; i < 30; i++) await other.add(i, -i);
    expect(sorted(await a.keys())).toEqual(sorted(Array.from({ length: 20 }, (_v, i) => i)));
    expect(sorted(await a.values())).toEqual(sorted(Array.from({ length: 20 }, (_v, i) => i * 10)));
    expect(await a.count()).toBe(20);
    const list = await a.toList();
    expect(list).toHaveLength(20);
    for (const [k, v] of list) expect(v).toBe((k as number) * 10);
  });

  it('lists a key once in keys() but once per value in toList()', async () => {
    const kv = open();
    await kv.add('k', 1);
    await kv.add('k', 2);
    expect(await kv.keys()).toEqual(['k']);
    const n = isSet(type) ? 1 : 2;
    expect(await kv.toList()).toHaveLength(n);
    expect(await kv.count()).toBe(n);
  });

  it('addBatch writes every pair and removeBatch deletes them, counting keys that existed', async () => {
    const kv = open();
    const pairs: Array<[number, string]> = Array.from({ length: 500 }, (_v, i) => [i, `v${i}`]);
    await kv.addBatch(pairs);
    expect(await kv.count()).toBe(500);
    expect(await kv.get(499)).toBe('v499');
    expect(await kv.removeBatch([0, 1, 2, 1000])).toBe(3);
    expect(await kv.count()).toBe(497);
    expect(await kv.has(1)).toBe(false);
  });

  it('addBatch writes nothing when one element is not a pair', async () => {
    const kv = open();
    await expect(kv.addBatch([[1, 'a'], [2] as unknown as [number, string]])).rejects.toMatchObject({
      code: 'SC_ERR_BAD_ARG',
    });
    await expect(
      kv.addBatch([
        [1, 'a'],
        [2, (() => 1) as unknown as string],
      ]),
    ).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
    });
    expect(await kv.count()).toBe(0);
  });

  it('names the key or the value, not the stored record, when one is not a term', async () => {
    const kv = open();
    await expect(kv.add(undefined as never, 1)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
      details: { path: 'key' },
    });
    await expect(kv.add('k', (() => 1) as never)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
      details: { path: 'value' },
    });
    await expect(
      kv.addBatch([
        ['a', 1],
        ['b', undefined as never],
      ]),
    ).rejects.toMatchObject({ code: 'SC_ERR_INVALID_TERM', details: { path: 'pairs[1][1] (the value)' } });
    expect(await kv.count()).toBe(0);
  });

  it('rejects a key or value that is not a term with SC_ERR_INVALID_TERM', async () => {
    const kv = open();
    await expect(kv.add(undefined as unknown as Term, 1)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
    });
    await expect(kv.add('k', new Date() as unknown as Term)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
    });
    await expect(kv.update('k', Symbol('x') as unknown as Term)).rejects.toMatchObject({
      code: 'SC_ERR_INVALID_TERM',
    });
    expect(await kv.count()).toBe(0);
  });

  it('uses composite keys by value', async () => {
    const kv = open();
    await kv.add(['user', 1], 'alice');
    expect(await kv.get(['user', 1])).toBe('alice');
    expect(await kv.remove(['user', 1])).toBe(true);
  });

  if (isSet(type)) {
    it('increment starts from the default and adds the step', async () => {
      const kv = open();
      expect(await kv.increment('hits')).toBe(1);
      expect(await kv.increment('hits')).toBe(2);
      expect(await kv.increment('hits', 10)).toBe(12);
      expect(await kv.increment('other', -1, 100)).toBe(99);
      expect(await kv.get('hits')).toBe(12);
    });

    it('increment rejects a stored value that is not a number with SC_ERR_BAD_COUNTER', async () => {
      const kv = open();
      await kv.add('name', 'alice');
      const e = await kv.increment('name').catch((x: unknown) => x);
      expect(SuperCacheError.is(e)).toBe(true);
      expect(e).toMatchObject({ code: 'SC_ERR_BAD_COUNTER' });
      expect(await kv.get('name')).toBe('alice');
    });

    it('increment rejects a step that is not a finite number with SC_ERR_BAD_ARG', async () => {
      const kv = open();
      await expect(kv.increment('k', Number.NaN)).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG' });
      await expect(kv.increment('k', '1' as unknown as number)).rejects.toMatchObject({
        code: 'SC_ERR_BAD_ARG',
      });
      expect(await kv.has('k')).toBe(false);
    });
  } else {
    it('increment rejects a bag table with SC_ERR_WRONG_TABLE_TYPE', async () => {
      const kv = open();
      await expect(kv.increment('hits')).rejects.toMatchObject({ code: 'SC_ERR_WRONG_TABLE_TYPE' });
      // The command refuses too, even when called past the class.
      await expect(
        kv.router.backend.exec(['session', 'hits'], 'kv.increment', [['session', 'hits'], 1, 0]),
      ).rejects.toMatchObject({ code: 'SC_ERR_WRONG_TABLE_TYPE' });
      expect(await kv.has('hits')).toBe(false);
    });
  }
});

describe('KeyValue on an ordered_set table', () => {
  it('lists keys in key order', async () => {
    const kv = new KeyValue(makeRouter({ type: 'ordered_set' }), 'n');
    for (const k of [5, 3, 9, 1, 7]) await kv.add(k, `v${k}`);
    expect(await kv.keys()).toEqual([1, 3, 5, 7, 9]);
    expect(await kv.toList()).toEqual([
      [1, 'v1'],
      [3, 'v3'],
      [5, 'v5'],
      [7, 'v7'],
      [9, 'v9'],
    ]);
  });
});

describe('KeyValue expiry', () => {
  it('add honours ttl; update and increment keep the expiry; replace restarts it', async () => {
    const clock = manualClock();
    const kv = new KeyValue(makeRouter({ type: 'set', clock }), 'ttl');
    await kv.add('a', 1, { ttl: 1000 });
    await kv.add('b', 1, { ttl: 1000 });
    await kv.add('c', 'x', { ttl: 1000 });
    clock.advance(600);
    await kv.increment('a');
    await kv.update('c', 'y');
    await kv.replace('b', 5, { ttl: 1000 });
    clock.advance(600);
    expect(await kv.get('a')).toBeUndefined();
    expect(await kv.get('c')).toBeUndefined();
    expect(await kv.get('b')).toBe(5);
  });
});

describe('KeyValue construction', () => {
  it('refuses a router whose registry lacks the structures commands with SC_ERR_BAD_CONFIG', () => {
    expect(() => new KeyValue(makeRouter({ bare: true }), 'n')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
  });

  it('refuses a router keyed or partitioned elsewhere than position 0 with SC_ERR_BAD_CONFIG', () => {
    expect(() => new KeyValue(makeRouter({ keyPos: 1 }), 'n')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new KeyValue(makeRouter({ partitionPos: 1 }), 'n')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
  });

  it('refuses a name that is not a term with SC_ERR_INVALID_TERM', () => {
    expect(() => new KeyValue(makeRouter(), undefined as unknown as Term)).toThrow(
      expect.objectContaining({ code: 'SC_ERR_INVALID_TERM' }),
    );
  });
});
