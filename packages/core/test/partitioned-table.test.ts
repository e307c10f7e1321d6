import { hashTerm, nodeShards, ownerShard, type Shard } from '@supercache/partition';
import type { TableCursor } from '@supercache/router';
import { _, $, $_, type TableType, type Term, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import {
  definePartitionedTable,
  PartitionedEts,
  PartitionedTable,
  type PartitionedTableOptions,
  TABLE_METHODS,
} from '../src/index.js';
import { expectCode, FakeCluster, ManualClock } from './helpers.js';

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${++counter}`;

async function start(options: Partial<PartitionedTableOptions> = {}): Promise<PartitionedTable> {
  return PartitionedTable.start({ name: uniqueName('t'), sweepIntervalMs: 0, ...options });
}

afterEach(async () => {
  for (const t of PartitionedTable.instances()) await t.stop();
});

const byFirst = (a: Tuple | Term[], b: Tuple | Term[]) => (String(a[0]) < String(b[0]) ? -1 : 1);

describe('PartitionedTable lifecycle', () => {
  it('start registers the name; stop frees it for a new table', async () => {
    const name = uniqueName('life');
    const t = await PartitionedTable.start({ name });
    expect(t.started).toBe(true);
    expect(PartitionedTable.whereis(name)).toBe(t);
    expect(PartitionedTable.names()).toContain(name);
    await t.stop();
    expect(t.started).toBe(false);
    expect(PartitionedTable.whereis(name)).toBeUndefined();
    const again = await PartitionedTable.start({ name });
    expect(await again.lookup('k')).toEqual([]);
  });

  it('refuses a second table of the same name with SC_ERR_NAME_TAKEN', async () => {
    const name = uniqueName('clash');
    await PartitionedTable.start({ name });
    const e = await expectCode(PartitionedTable.start({ name }), 'SC_ERR_NAME_TAKEN');
    expect(e.message).toContain(name);
  });

  it('lets only one of two concurrent starts of a name win', async () => {
    const name = uniqueName('race');
    const results = await Promise.allSettled([
      PartitionedTable.start({ name }),
      PartitionedTable.start({ name }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('stop is idempotent and later operations fail with SC_ERR_NOT_STARTED', async () => {
    const t = await start();
    await t.insert(['k', 1]);
    await Promise.all([t.stop(), t.stop()]);
    await t.stop();
    await expectCode(t.lookup('k'), 'SC_ERR_NOT_STARTED');
    await expectCode(t.insert(['k', 2]), 'SC_ERR_NOT_STARTED');
    expect(() => t.local.lookup('k')).toThrow(/not started/);
    await expectCode(async () => {
      for await (const _o of t.stream()) break;
    }, 'SC_ERR_NOT_STARTED');
  });

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['name', {}],
    ['name', { name: '' }],
    ['partitions', { name: 'x', partitions: 0 }],
    ['partitions', { name: 'x', partitions: 1.5 }],
    ['type', { name: 'x', type: 'hash' }],
    ['keyPos', { name: 'x', keyPos: -1 }],
    ['callbacks', { name: 'x', callbacks: 'mod' }],
    ['callbacks.hash', { name: 'x', callbacks: { hash: 1 } }],
    ['callbacks.nodeAdded', { name: 'x', callbacks: { nodeAdded: 'f' } }],
    ['callbacks.other', { name: 'x', callbacks: { other: () => 0 } }],
    ['distributed', { name: 'x', distributed: 'yes' }],
    ['distributed', { name: 'x', distributed: true }],
    ['ttl', { name: 'x', ttl: -1 }],
    ['table_opts', { name: 'x', table_opts: [] }],
  ];

  it.each(invalid)('refuses an invalid %s with SC_ERR_BAD_CONFIG', async (field, options) => {
    const e = await expectCode(
      PartitionedTable.start(options as unknown as PartitionedTableOptions),
      'SC_ERR_BAD_CONFIG',
    );
    expect(e.details?.field).toBe(field);
  });

  it('explains that a distributed table needs the cluster options', async () => {
    const e = await expectCode(
      PartitionedTable.start({ name: uniqueName('d'), distributed: true }),
      'SC_ERR_BAD_CONFIG',
    );
    expect(e.message).toMatch(/clusterProvider/);
  });

  it('routes a distributed table through the cluster provider and hands it the callbacks', async () => {
    const cluster = new FakeCluster();
    const nodeAdded = () => {};
    const t = await start({
      distributed: true,
      clusterProvider: cluster.factory,
      partitions: 2,
      callbacks: { nodeAdded },
    });
    expect(t.distributed).toBe(true);
    expect(cluster.configs[0]).toMatchObject({ kind: 'partitioned', numPartition: 2, nodeAdded });
    await t.insert(['k', 1]);
    expect(await t.lookup('k')).toEqual([['k', 1]]);
    expect(cluster.calls.map((c) => c.name)).toEqual(['insert', 'lookup']);
    await t.stop();
    expect(cluster.stopped).toBe(1);
  });
});

describe('PartitionedTable routing', () => {
  it("routes each key to its rendezvous shard over this node's {node, partition} shards", async () => {
    const t = await start({ partitions: 4, nodeId: 'node-a' });
    const shards = nodeShards('node-a', 4);
    const keys: Term[] = Array.from({ length: 200 }, (_v, i) => (i % 2 === 0 ? `key${i}` : ['composite', i]));
    await t.insert(keys.map((k) => [k, 1]));
    for (const k of keys) {
      const expected = ownerShard(hashTerm(k), shards).partition;
      expect(t.local.partitionOf(k)).toBe(expected);
      expect(t.local.member(k)).toBe(true);
    }
    const sizes = t.local.partitionSizes();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200);
    expect(sizes.every((s) => s > 20)).toBe(true);
  });

  it('uses callbacks.hash, given the key and the sorted shard list', async () => {
    const seen: Array<readonly Shard[]> = [];
    const t = await start({
      partitions: 4,
      callbacks: {
        hash: (key, shards) => {
          seen.push(shards);
          return (key as number) % shards.length;
        },
      },
    });
    await t.insert(Array.from({ length: 8 }, (_v, i) => [i, `v${i}`] as Tuple));
    expect(t.local.partitionSizes()).toEqual([2, 2, 2, 2]);
    expect(t.local.partitionOf(5)).toBe(1);
    expect(await t.lookup(5)).toEqual([[5, 'v5']]);
    expect(seen[0]?.map((s) => s.partition)).toEqual([0, 1, 2, 3]);
  });

  it.each([4, -1, 1.5, 'x', null])(
    'refuses a callbacks.hash answer of %s with SC_ERR_BAD_ARG',
    async (answer) => {
      const t = await start({ partitions: 4, callbacks: { hash: () => answer as number } });
      await expectCode(t.insert(['k', 1]), 'SC_ERR_BAD_ARG');
      await expectCode(t.lookup('k'), 'SC_ERR_BAD_ARG');
    },
  );

  it('accepts a shard object from callbacks.hash', async () => {
    const t = await start({ partitions: 3, callbacks: { hash: (_k, shards) => shards[2] as Shard } });
    await t.insert(['k', 1]);
    expect(t.local.partitionSizes()).toEqual([0, 0, 1]);
  });
});

describe('PartitionedTable storage API', () => {
  it.each<TableType>(['set', 'ordered_set', 'bag', 'duplicate_bag'])(
    'inserts and looks up in a %s across partitions',
    async (type) => {
      const t = await start({ type, partitions: 4 });
      await t.insert(['k', 1]);
      await t.insert(['k', 2]);
      await t.insert(['k', 2]);
      const expected: Record<TableType, Tuple[]> = {
        set: [['k', 2]],
        ordered_set: [['k', 2]],
        bag: [
          ['k', 1],
          ['k', 2],
        ],
        duplicate_bag: [
          ['k', 1],
          ['k', 2],
          ['k', 2],
        ],
      };
      expect(await t.lookup('k')).toEqual(expected[type]);
    },
  );

  it('insert takes one tuple or a list of tuples, like ETS', async () => {
    const t = await start({ partitions: 4 });
    await t.insert(['a', 1]);
    await t.insert([
      ['b', 2],
      ['c', 3],
    ]);
    await t.insert([]);
    await t.insertMany([[['x'], ['y']]]);
    expect(await t.size()).toBe(4);
    expect(await t.lookup(['x'])).toEqual([[['x'], ['y']]]);
  });

  it('member, lookupElement and SC_ERR_NOT_FOUND for a missing key', async () => {
    const t = await start({ partitions: 2 });
    await t.insert(['k', 'v', 3]);
    expect(await t.member('k')).toBe(true);
    expect(await t.member('nope')).toBe(false);
    expect(await t.lookupElement('k', 2)).toBe(3);
    await expectCode(t.lookupElement('nope', 1), 'SC_ERR_NOT_FOUND');
  });

  it('insertNew refuses an existing key', async () => {
    const t = await start({ partitions: 2 });
    expect(await t.insertNew(['k', 1])).toBe(true);
    expect(await t.insertNew(['k', 2])).toBe(false);
    expect(await t.lookup('k')).toEqual([['k', 1]]);
  });

  it('insertNewMany is atomic: one existing key, across any partition, writes nothing', async () => {
    const t = await start({ partitions: 8 });
    await t.insert(['k7', 'old']);
    const batch = Array.from({ length: 20 }, (_v, i) => [`k${i}`, 'new'] as Tuple);
    expect(await t.insertNewMany(batch)).toBe(false);
    expect(await t.size()).toBe(1);
    expect(await t.insertNew(batch.filter((b) => b[0] !== 'k7'))).toBe(true);
    expect(await t.size()).toBe(20);
    expect(await t.lookup('k7')).toEqual([['k7', 'old']]);
  });

  it('insertNewMany refuses a list that repeats a key in a set', async () => {
    const t = await start({ partitions: 2 });
    expect(
      await t.insertNewMany([
        ['a', 1],
        ['a', 2],
      ]),
    ).toBe(false);
    expect(await t.size()).toBe(0);
  });

  it('updateCounter increments, inserts a default and honours thresholds', async () => {
    const t = await start({ partitions: 2 });
    await t.insert(['hits', 0]);
    expect(await t.updateCounter('hits', 5)).toBe(5);
    expect(await t.updateCounter('hits', [1, 2])).toBe(7);
    expect(await t.updateCounter('fresh', 1, ['fresh', 10])).toBe(11);
    expect(await t.updateCounter('hits', [1, 10, 10, 0])).toBe(0);
    expect(
      await t.updateCounter('hits', [
        [1, 1],
        [1, 1],
      ]),
    ).toEqual([1, 2]);
  });

  it('updateElement replaces elements of an existing object only', async () => {
    const t = await start({ partitions: 2 });
    await t.insert(['k', 'a', 'b']);
    expect(await t.updateElement('k', [2, 'B'])).toBe(true);
    expect(
      await t.updateElement('k', [
        [1, 'A'],
        [2, 'BB'],
      ]),
    ).toBe(true);
    expect(await t.lookup('k')).toEqual([['k', 'A', 'BB']]);
    expect(await t.updateElement('missing', [1, 'x'])).toBe(false);
  });

  it('take removes and returns; delete, deleteObject and deleteAllObjects remove', async () => {
    const t = await start({ type: 'bag', partitions: 4 });
    await t.insert([
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['c', 1],
      ['d', 1],
    ]);
    expect(await t.take('b')).toEqual([['b', 1]]);
    expect(await t.member('b')).toBe(false);
    await t.deleteObject(['a', 1]);
    expect(await t.lookup('a')).toEqual([['a', 2]]);
    await t.delete('c');
    expect(await t.lookup('c')).toEqual([]);
    expect(await t.deleteAllObjects()).toBe(2);
    expect(await t.size()).toBe(0);
  });

  it('tab2list, info, size, memory and stats describe the whole table', async () => {
    const t = await start({ partitions: 4, type: 'ordered_set', keyPos: 1 });
    await t.insert([
      ['x', 3],
      ['y', 1],
      ['z', 2],
    ]);
    expect(await t.tab2list()).toEqual([
      ['y', 1],
      ['z', 2],
      ['x', 3],
    ]);
    const info = await t.info();
    expect(info).toMatchObject({ name: t.name, type: 'ordered_set', keyPos: 1, size: 3, partitions: 4 });
    expect(info.memory).toBeGreaterThan(0);
    expect(await t.size()).toBe(3);
    expect(await t.memory()).toBe(info.memory);
    await t.lookup(1);
    await t.lookup(99);
    expect(await t.stats()).toMatchObject({ inserts: 3, hits: 1, misses: 1 });
  });

  it('match, matchObject and matchDelete work across partitions', async () => {
    const t = await start({ partitions: 4 });
    await t.insert([
      ['a', 'red', 1],
      ['b', 'blue', 2],
      ['c', 'red', 3],
    ]);
    expect((await t.match([$(1), 'red', _])).sort(byFirst)).toEqual([['a'], ['c']]);
    expect((await t.matchObject([_, 'blue', _])).sort(byFirst)).toEqual([['b', 'blue', 2]]);
    expect(await t.matchDelete([_, 'red', _])).toBe(2);
    expect(await t.size()).toBe(1);
  });

  it('select, selectCount, selectDelete and selectReplace run match specs', async () => {
    const t = await start({ partitions: 4 });
    await t.insert(Array.from({ length: 10 }, (_v, i) => [`k${i}`, i] as Tuple));
    const big = [[[$(1), $(2)], [['>=', $(2), 5]], [$(1)]]] as const;
    expect((await t.select(big)).sort()).toEqual(['k5', 'k6', 'k7', 'k8', 'k9']);
    expect(await t.select([[['k3', _], [], [$_]]])).toEqual([['k3', 3]]);
    expect(await t.selectCount([[[_, $(1)], [['<', $(1), 3]], [true]]])).toBe(3);
    expect(await t.selectReplace([[[$(1), $(2)], [['==', $(2), 0]], [['tuple', $(1), 100]]]])).toBe(1);
    expect(await t.lookup('k0')).toEqual([['k0', 100]]);
    expect(await t.selectDelete([[[_, $(1)], [['>=', $(1), 5]], [true]]])).toBe(6);
    expect(await t.size()).toBe(4);
  });

  it('selectReverse returns an ordered_set in descending key order', async () => {
    const t = await start({ partitions: 4, type: 'ordered_set' });
    await t.insert([5, 1, 4, 2, 3].map((k) => [k] as Tuple));
    expect(await t.selectReverse([[[$(1)], [], [$(1)]]])).toEqual([5, 4, 3, 2, 1]);
    expect(await t.select([[[$(1)], [], [$(1)]]])).toEqual([1, 2, 3, 4, 5]);
  });

  it('pages through select, match and matchObject results with continuations', async () => {
    const t = await start({ partitions: 4, type: 'ordered_set' });
    await t.insert(Array.from({ length: 25 }, (_v, i) => [i, i * 10] as Tuple));
    const keys: Term[] = [];
    let page = await t.selectPage([[[$(1), _], [], [$(1)]]], 10);
    const sizes = [page.items.length];
    keys.push(...page.items);
    while (page.continuation !== undefined) {
      page = await t.selectPage(page.continuation);
      sizes.push(page.items.length);
      keys.push(...page.items);
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(keys).toEqual(Array.from({ length: 25 }, (_v, i) => i));

    const m1 = await t.matchPage([$(1), _], 20);
    expect(m1.items).toHaveLength(20);
    const m2 = await t.matchPage(m1.continuation as TableCursor);
    expect(m2.items).toHaveLength(5);
    expect(m2.continuation).toBeUndefined();

    const o1 = await t.matchObjectPage([_, _], 30);
    expect(o1.items).toHaveLength(25);
    expect(o1.continuation).toBeUndefined();

    const s1 = await t.selectPage([[[$(1), _], [], [$(1)]]], 5);
    await expectCode(t.matchPage(s1.continuation as TableCursor), 'SC_ERR_BAD_CONTINUATION');
    await t.closeCursor(s1.continuation as TableCursor);
    await expectCode(t.selectPage([[[_, _], [], [true]]], 0), 'SC_ERR_BAD_ARG');
  });

  it('first, last, next and prev walk an ordered_set in key order across partitions', async () => {
    const t = await start({ partitions: 4, type: 'ordered_set' });
    await t.insert(['d', 'b', 'e', 'a', 'c'].map((k) => [k] as Tuple));
    expect(await t.first()).toBe('a');
    expect(await t.last()).toBe('e');
    const walked: Term[] = [];
    for (let k = await t.first(); k !== undefined; k = await t.next(k)) walked.push(k);
    expect(walked).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await t.prev('c')).toBe('b');
    expect(await t.prev('a')).toBeUndefined();
  });

  it('next visits every key of a set exactly once', async () => {
    const t = await start({ partitions: 4 });
    const keys = Array.from({ length: 30 }, (_v, i) => `k${i}`);
    await t.insert(keys.map((k) => [k] as Tuple));
    const walked: Term[] = [];
    for (let k = await t.first(); k !== undefined; k = await t.next(k)) walked.push(k);
    expect([...walked].sort()).toEqual([...keys].sort());
  });

  it('foldl, foldr and stream visit every object (ordered_set: in key order)', async () => {
    const t = await start({ partitions: 4, type: 'ordered_set' });
    await t.insert([3, 1, 2].map((k) => [k] as Tuple));
    expect(await t.foldl<Term[]>((o, acc) => [...acc, o[0] as Term], [])).toEqual([1, 2, 3]);
    expect(await t.foldr<Term[]>((o, acc) => [...acc, o[0] as Term], [])).toEqual([3, 2, 1]);
    const streamed: Tuple[] = [];
    for await (const o of t.stream({ pageSize: 2 })) streamed.push(o);
    expect(streamed).toEqual([[1], [2], [3]]);
  });

  it('expires objects after the table ttl', async () => {
    const clock = new ManualClock();
    const t = await start({ ttl: 100, clock });
    await t.insert(['k', 1]);
    clock.advance(101);
    expect(await t.lookup('k')).toEqual([]);
  });

  it('local reads see what the async API wrote', async () => {
    const t = await start({ partitions: 4 });
    await t.insert(['k', 1]);
    expect(t.local.lookup('k')).toEqual([['k', 1]]);
    expect(t.local.member('k')).toBe(true);
    expect(t.local.size).toBe(1);
  });
});

describe('PartitionedEts module form', () => {
  it('runs every operation on the table named by the first argument', async () => {
    const name = uniqueName('mod');
    await PartitionedEts.start({ name, partitions: 4 });
    await PartitionedEts.insert(name, ['key', 'value']);
    expect(await PartitionedEts.lookup(name, 'key')).toEqual([['key', 'value']]);
    expect(await PartitionedEts.match(name, [$(1), $(2)])).toEqual([['key', 'value']]);
    expect(await PartitionedEts.foldl(name, (_o, n: number) => n + 1, 0)).toBe(1);
    const page = await PartitionedEts.selectPage(name, [[[$(1), _], [], [$(1)]]], 1);
    expect(page.items).toEqual(['key']);
    const streamed: Tuple[] = [];
    for await (const o of PartitionedEts.stream(name)) streamed.push(o);
    expect(streamed).toEqual([['key', 'value']]);
    await PartitionedEts.delete(name, 'key');
    expect(await PartitionedEts.size(name)).toBe(0);
    expect(PartitionedEts.whereis(name)).toBeInstanceOf(PartitionedTable);
    await PartitionedEts.stop(name);
    expect(PartitionedEts.whereis(name)).toBeUndefined();
  });

  it('has a function for every table operation', () => {
    for (const m of TABLE_METHODS) expect(typeof PartitionedEts[m], m).toBe('function');
  });

  it.each(TABLE_METHODS)('rejects %s on an unknown table name with SC_ERR_NO_TABLE', async (method) => {
    const fn = PartitionedEts[method] as (...a: unknown[]) => unknown;
    if (method === 'stream') {
      await expectCode(async () => {
        for await (const _o of fn('nope') as AsyncIterable<Tuple>) break;
      }, 'SC_ERR_NO_TABLE');
      return;
    }
    await expectCode(fn('nope', 'a', 'b') as Promise<unknown>, 'SC_ERR_NO_TABLE');
  });

  it('stop of an unknown name fails with SC_ERR_NO_TABLE', async () => {
    await expectCode(PartitionedEts.stop('nope'), 'SC_ERR_NO_TABLE');
  });
});

describe('definePartitionedTable (the macro form)', () => {
  it('starts, serves and stops one table without the name argument', async () => {
    const Cache = definePartitionedTable({ name: uniqueName('macro'), partitions: 4, type: 'ordered_set' });
    expect(Cache.started).toBe(false);
    await expectCode(Cache.lookup('k'), 'SC_ERR_NO_TABLE');
    const table = await Cache.start();
    expect(Cache.started).toBe(true);
    expect(Cache.table).toBe(table);
    await Cache.insert(['k', 1]);
    await Cache.insert(['j', 2]);
    expect(await Cache.lookup('k')).toEqual([['k', 1]]);
    expect(await Cache.first()).toBe('j');
    expect(await PartitionedEts.lookup(Cache.name, 'j')).toEqual([['j', 2]]);
    await expectCode(Cache.start(), 'SC_ERR_NAME_TAKEN');
    await Cache.stop();
    await Cache.stop();
    expect(Cache.started).toBe(false);
    await expectCode(Cache.insert(['k', 1]), 'SC_ERR_NO_TABLE');
    expect(() => Cache.table).toThrow(/no PartitionedTable/);
  });

  it('checks the options when defined', () => {
    expect(() => definePartitionedTable({ name: 'x', partitions: 0 })).toThrow(/partitions/);
  });

  it('has every table operation', () => {
    const def = definePartitionedTable({ name: uniqueName('ops') });
    for (const m of TABLE_METHODS) expect(typeof def[m], m).toBe('function');
  });
});

describe('PartitionedTable names are scoped per node', () => {
  it('starts one name on two node ids; refuses the same name twice on one node', async () => {
    const name = uniqueName('scoped');
    const a = await PartitionedTable.start({ name, nodeId: 'a' });
    const b = await PartitionedTable.start({ name, nodeId: 'b' });
    await expectCode(PartitionedTable.start({ name, nodeId: 'a' }), 'SC_ERR_NAME_TAKEN');
    expect(PartitionedTable.whereis(name, 'a')).toBe(a);
    expect(PartitionedTable.whereis(name, 'b')).toBe(b);
    expect(PartitionedTable.names().filter((n) => n === name)).toEqual([name]);
    // By name alone the module form cannot tell the two apart, and says so.
    await expectCode(PartitionedEts.lookup(name, 'k'), 'SC_ERR_BAD_ARG');
    await a.insert(['k', 1]);
    expect(await b.lookup('k')).toEqual([]);
    await a.stop();
    expect(PartitionedTable.whereis(name)).toBe(b);
    expect(await PartitionedEts.lookup(name, 'k')).toEqual([]);
    const again = await PartitionedTable.start({ name, nodeId: 'a' });
    expect(PartitionedTable.whereis(name, 'a')).toBe(again);
  });

  it('a definition with a nodeId reaches that node only', async () => {
    const name = uniqueName('defnode');
    const onA = definePartitionedTable({ name, nodeId: 'a' });
    const onB = definePartitionedTable({ name, nodeId: 'b' });
    await onA.start();
    await onB.start();
    await onA.insert(['k', 'from a']);
    expect(await onB.lookup('k')).toEqual([]);
    expect(await onA.lookup('k')).toEqual([['k', 'from a']]);
    await onA.stop();
    expect(onA.started).toBe(false);
    expect(onB.started).toBe(true);
  });
});

describe('PartitionedTable per-call options', () => {
  it('refuses unknown and mistyped options with SC_ERR_BAD_ARG naming them, writing nothing', async () => {
    const t = await start({ partitions: 4 });
    const e = await expectCode(t.insert(['k', 1], { ttl: '50' } as never), 'SC_ERR_BAD_ARG');
    expect(e.details).toMatchObject({ op: 'insert', option: 'ttl' });
    await expectCode(t.insert([['k', 1]], { tll: 5 } as never), 'SC_ERR_BAD_ARG');
    // Keys route by rendezvous: a partition override is not a table option.
    const p = await expectCode(t.lookup('k', { partition: 'x' } as never), 'SC_ERR_BAD_ARG');
    expect(p.details).toMatchObject({ option: 'partition' });
    await expectCode(t.delete('k', { readMode: 'local' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(t.updateCounter('k', 1, ['k', 0], { ttl: 1 } as never), 'SC_ERR_BAD_ARG');
    expect(await t.size()).toBe(0);
  });

  it('accepts exactly the three read modes on every read, all answering the same locally', async () => {
    const t = await start({ type: 'ordered_set', partitions: 3 });
    await t.insert([
      ['a', 1],
      ['b', 2],
    ]);
    for (const readMode of ['local', 'primary', 'quorum'] as const) {
      expect(await t.lookup('a', { readMode })).toEqual([['a', 1]]);
      expect(await t.tab2list({ readMode })).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(await t.first({ readMode })).toBe('a');
      expect((await t.selectPage([[[$(1), _], [], [$(1)]]], 5, { readMode })).items).toEqual(['a', 'b']);
      expect(await t.foldl((o, n: number) => n + (o[1] as number), 0, { readMode })).toBe(3);
      expect((await t.info({ readMode })).size).toBe(2);
    }
    const bogus = { readMode: 'bogus' } as never;
    for (const read of [
      () => t.lookup('a', bogus),
      () => t.member('a', bogus),
      () => t.info(bogus),
      () => t.select([[[_, _], [], ['$_']]], bogus),
      () => t.next('a', bogus),
      () => t.foldr((_o, n: number) => n, 0, bogus),
    ]) {
      await expectCode(read(), 'SC_ERR_BAD_ARG');
    }
  });

  it('results are copies: changing one changes nothing stored', async () => {
    const t = await start();
    const obj: unknown[] = ['k', [1]];
    await t.insert(obj as Tuple);
    (obj[1] as number[]).push(2);
    const r = (await t.lookup('k')) as unknown as unknown[][];
    (r[0] as unknown[])[1] = 'changed';
    expect(await t.lookup('k')).toEqual([['k', [1]]]);
  });
});

describe('PartitionedTable ETS semantics (issue 11)', () => {
  it('pages selectReverse, and answers the ETS /4 forms of lookupElement and updateElement', async () => {
    const t = await start({ type: 'ordered_set', partitions: 4 });
    for (let i = 0; i < 9; i++) await t.insert([i, 'v']);
    const keys: Term[] = [];
    let page = await t.selectReversePage([[[$(1), _], [], [$(1)]]], 4);
    for (let n = 0; n < 10; n++) {
      keys.push(...page.items);
      if (page.continuation === undefined) break;
      page = await t.selectReversePage(page.continuation);
    }
    expect(keys).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(await PartitionedEts.selectReverse(t.name, [[[$(1), _], [], [$(1)]]])).toEqual(keys);
    expect(await t.lookupElement(99, 1, { default: 'none' })).toBe('none');
    await expectCode(t.lookupElement(99, 1, { partition: 1 } as never), 'SC_ERR_BAD_ARG');
    expect(await t.updateElement(50, [1, 'w'], [0, 'x'])).toBe(true);
    expect(await t.lookup(50)).toEqual([[50, 'w']]);
    expect(await t.updateElement(51, [1, 'w'])).toBe(false);
  });

  it('returns select order from selectReverse on a set, and refuses a key-changing selectReplace', async () => {
    const t = await start({ type: 'set', partitions: 4 });
    await t.insertMany(Array.from({ length: 12 }, (_v, i) => [i, i] as Tuple));
    expect(await t.selectReverse([[_, [], [$_]]])).toEqual(await t.select([[_, [], [$_]]]));
    await expectCode(t.selectReplace([[[$(1), $(2)], [], [['tuple', $(2), $(1)]]]]), 'SC_ERR_BAD_MATCH_SPEC');
    await expectCode(t.closeCursor({} as TableCursor), 'SC_ERR_BAD_ARG');
    await expectCode(t.foldl(1 as never, 0), 'SC_ERR_BAD_ARG');
  });
});
