import { partitionOf } from '@supercache/partition';
import { _, $, type TableType, type Term, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SuperCache, type SuperCacheOptions } from '../src/index.js';
import { expectCode, FakeCluster, ManualClock } from './helpers.js';

const open: SuperCache[] = [];

async function startCache(options: SuperCacheOptions = {}): Promise<SuperCache> {
  const cache = new SuperCache({ numPartition: 4, sweepIntervalMs: 0, ...options });
  open.push(cache);
  await cache.start();
  return cache;
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.stop().catch(() => {});
});

const sortTuples = (ts: readonly Tuple[]) => [...ts].sort((a, b) => (String(a) < String(b) ? -1 : 1));

describe('SuperCache lifecycle', () => {
  it('is not started until start() resolves, and start() is idempotent', async () => {
    const cache = new SuperCache({ numPartition: 2, sweepIntervalMs: 0 });
    open.push(cache);
    expect(cache.started).toBe(false);
    const a = cache.start();
    const b = cache.start();
    await Promise.all([a, b]);
    expect(cache.started).toBe(true);
    await cache.put(['k', 1]);
    await cache.start();
    expect(await cache.get(['k'])).toEqual([['k', 1]]);
  });

  it('SuperCache.start() creates and starts an instance in one call', async () => {
    const cache = await SuperCache.start({ numPartition: 1, sweepIntervalMs: 0 });
    open.push(cache);
    expect(cache.started).toBe(true);
  });

  it('keeps two instances apart: each has its own tables', async () => {
    const a = await startCache();
    const b = await startCache();
    await a.put(['k', 'a']);
    expect(await b.get(['k'])).toEqual([]);
  });

  const dataOps: Array<[string, (c: SuperCache) => unknown]> = [
    ['put', (c) => c.put(['k', 1])],
    ['putBatch', (c) => c.putBatch([['k', 1]])],
    ['lazyPut', (c) => c.lazyPut(['k', 1])],
    ['flush', (c) => c.flush()],
    ['get', (c) => c.get(['k'])],
    ['getByKeyPartition', (c) => c.getByKeyPartition('k', 'k')],
    ['getSameKeyPartition', (c) => c.getSameKeyPartition('k')],
    ['getPartition', (c) => c.getPartition('k', 'k')],
    ['getByMatch', (c) => c.getByMatch(['k', _])],
    ['getByMatchObject', (c) => c.getByMatchObject(['k', _])],
    ['scan', (c) => c.scan((_o, a) => a, 0)],
    ['delete', (c) => c.delete(['k'])],
    ['deleteAll', (c) => c.deleteAll()],
    ['deleteByMatch', (c) => c.deleteByMatch(['k', _])],
    ['deleteByKeyPartition', (c) => c.deleteByKeyPartition('k', 'k')],
    ['deleteSameKeyPartition', (c) => c.deleteSameKeyPartition('k')],
    ['deletePartition', (c) => c.deletePartition('k', 'k')],
    ['putPartition', (c) => c.putPartition(['k', 1], 'p')],
    ['putPartitionByIdx', (c) => c.putPartitionByIdx(['k', 1], 0)],
    ['getPartitionByIdx', (c) => c.getPartitionByIdx('k', 0)],
    ['deletePartitionByIdx', (c) => c.deletePartitionByIdx('k', 0)],
    ['stats', (c) => c.stats()],
    ['clusterStats', (c) => c.clusterStats()],
    ['keyValue', (c) => c.keyValue('kv')],
    ['queue', (c) => c.queue('q')],
    ['stack', (c) => c.stack('s')],
    ['local.get', (c) => c.local.get(['k'])],
    ['local.getByMatch', (c) => c.local.getByMatch(['k', _])],
    ['local.scan', (c) => c.local.scan((_o, a) => a, 0)],
    ['local.size', (c) => c.local.size],
  ];

  it.each(dataOps)('refuses %s before start with SC_ERR_NOT_STARTED', async (_name, op) => {
    const cache = new SuperCache({ numPartition: 2 });
    await expectCode(async () => op(cache), 'SC_ERR_NOT_STARTED');
  });

  it.each(dataOps)('refuses %s after stop with SC_ERR_NOT_STARTED', async (_name, op) => {
    const cache = await startCache();
    await cache.stop();
    await expectCode(async () => op(cache), 'SC_ERR_NOT_STARTED');
  });

  it('stop() is idempotent and a restart begins with empty tables', async () => {
    const cache = await startCache();
    await cache.put(['k', 1]);
    await Promise.all([cache.stop(), cache.stop()]);
    await cache.stop();
    expect(cache.started).toBe(false);
    await cache.start();
    expect(await cache.get(['k'])).toEqual([]);
    await cache.put(['k', 2]);
    expect(await cache.get(['k'])).toEqual([['k', 2]]);
  });

  it('stop() during start() leaves the cache stopped', async () => {
    const cache = new SuperCache({ numPartition: 2, sweepIntervalMs: 0 });
    const starting = cache.start();
    const stopping = cache.stop();
    await Promise.all([starting, stopping]);
    expect(cache.started).toBe(false);
    await expectCode(cache.get(['k']), 'SC_ERR_NOT_STARTED');
  });

  it('structure handles taken before stop() refuse work afterwards, even after a restart', async () => {
    const cache = await startCache();
    const kv = cache.keyValue('session');
    const q = cache.queue('jobs');
    await kv.add('a', 1);
    await cache.stop();
    await cache.start();
    await expectCode(kv.get('a'), 'SC_ERR_NOT_STARTED');
    await expectCode(q.add('x'), 'SC_ERR_NOT_STARTED');
    expect(await cache.keyValue('session').get('a')).toBeUndefined();
  });

  it('stop() writes what lazyPut still buffered before dropping the tables', async () => {
    const cluster = new FakeCluster();
    const cache = await startCache({
      cluster: 'distributed',
      clusterProvider: cluster.factory,
      lazyPut: { flushOn: 'manual' },
    });
    for (let i = 0; i < 5; i++) await cache.lazyPut(['k', i]);
    expect(cluster.calls.filter((c) => c.name === 'insert')).toHaveLength(0);
    await cache.stop();
    const written = cluster.calls.filter((c) => c.table === 'main' && c.name === 'insert');
    const tuples = written.flatMap((c) => c.args[0] as Tuple[]);
    expect(tuples).toEqual([0, 1, 2, 3, 4].map((i) => ['k', i]));
    expect(cluster.stopped).toBe(1);
  });
});

describe('SuperCache tuples', () => {
  it('put stores a tuple that get finds by its key; other elements of the probe are ignored', async () => {
    const cache = await startCache();
    await cache.put(['user', 1, 'Alice']);
    expect(await cache.get(['user'])).toEqual([['user', 1, 'Alice']]);
    expect(await cache.get(['user', 'ignored', 'too'])).toEqual([['user', 1, 'Alice']]);
    expect(await cache.get(['nobody'])).toEqual([]);
  });

  it('a set replaces the tuple with the same key', async () => {
    const cache = await startCache({ tableType: 'set' });
    await cache.put(['k', 1]);
    await cache.put(['k', 2]);
    expect(await cache.get(['k'])).toEqual([['k', 2]]);
  });

  it('an ordered_set replaces by key and scans in key order across partitions', async () => {
    const cache = await startCache({ tableType: 'ordered_set', numPartition: 8 });
    const keys = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0];
    await cache.putBatch(keys.map((k) => [k, `v${k}`]));
    await cache.put([3, 'again']);
    expect(await cache.get([3])).toEqual([[3, 'again']]);
    const order = await cache.scan<number[]>((o, acc) => [...acc, o[0] as number], []);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const matched = await cache.getByMatch([$(1), _]);
    expect(matched.map((b) => b[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a duplicate_bag keeps every copy', async () => {
    const cache = await startCache({ tableType: 'duplicate_bag' });
    await cache.put(['k', 1]);
    await cache.put(['k', 1]);
    await cache.putBatch([
      ['k', 2],
      ['k', 2],
    ]);
    expect(await cache.get(['k'])).toEqual([
      ['k', 1],
      ['k', 1],
      ['k', 2],
      ['k', 2],
    ]);
  });

  it('a bag keeps all its values through put, putBatch, lazyPut, get, getByMatch, scan and delete', async () => {
    const cache = await startCache({ tableType: 'bag', numPartition: 8 });
    await cache.put(['k', 1]);
    await cache.put(['k', 2]);
    await cache.put(['k', 2]); // a bag keeps one copy of an identical object
    await cache.putBatch([
      ['k', 3],
      ['k', 4],
      ['other', 9],
    ]);
    await cache.lazyPut(['k', 5]);
    await cache.flush();
    const values = [1, 2, 3, 4, 5].map((v) => ['k', v]);
    expect(await cache.get(['k'])).toEqual(values);
    expect(cache.local.get(['k'])).toEqual(values);
    expect(await cache.getByMatch(['k', $(1)])).toEqual([[1], [2], [3], [4], [5]]);
    expect(await cache.getByMatchObject(['k', _])).toEqual(values);
    expect(await cache.scan((o, n: number) => (o[0] === 'k' ? n + 1 : n), 0)).toBe(5);
    await cache.delete(['k']);
    expect(await cache.get(['k'])).toEqual([]);
    expect(await cache.get(['other'])).toEqual([['other', 9]]);
  });

  it.each<TableType>(['set', 'ordered_set', 'bag', 'duplicate_bag'])(
    'put, get and delete round-trip in a %s',
    async (tableType) => {
      const cache = await startCache({ tableType });
      await cache.put(['a', 1]);
      await cache.put(['b', 2]);
      expect(await cache.get(['a'])).toEqual([['a', 1]]);
      await cache.delete(['a']);
      expect(await cache.get(['a'])).toEqual([]);
      expect(await cache.get(['b'])).toEqual([['b', 2]]);
    },
  );

  it('refuses a tuple shorter than keyPos + 1 with SC_ERR_TUPLE_TOO_SHORT ("tuple size is lower than keyPos")', async () => {
    const cache = await startCache({ keyPos: 2 });
    const e = await expectCode(cache.put(['a', 'b']), 'SC_ERR_TUPLE_TOO_SHORT');
    expect(e.message).toMatch(/size/);
    const g = await expectCode(cache.get(['a']), 'SC_ERR_TUPLE_TOO_SHORT');
    expect(g.message).toMatch(/tuple size 1 is lower than keyPos/);
    await expectCode(cache.delete(['a']), 'SC_ERR_TUPLE_TOO_SHORT');
    await expectCode(cache.lazyPut(['a']), 'SC_ERR_TUPLE_TOO_SHORT');
    await expectCode(cache.putBatch([['a', 'b', 'c'], ['a']]), 'SC_ERR_TUPLE_TOO_SHORT');
  });

  it('refuses a tuple shorter than partitionPos + 1', async () => {
    const cache = await startCache({ keyPos: 0, partitionPos: 3 });
    const e = await expectCode(cache.get(['a', 'b']), 'SC_ERR_TUPLE_TOO_SHORT');
    expect(e.message).toMatch(/partitionPos/);
    await expectCode(cache.put(['a', 'b']), 'SC_ERR_TUPLE_TOO_SHORT');
  });

  it('refuses values that are not terms with SC_ERR_INVALID_TERM and a probe that is not an array', async () => {
    const cache = await startCache();
    await expectCode(cache.put(['k', new Date()] as unknown as Tuple), 'SC_ERR_INVALID_TERM');
    await expectCode(cache.put(['k', undefined] as unknown as Tuple), 'SC_ERR_INVALID_TERM');
    await expectCode(cache.get('k' as unknown as Tuple), 'SC_ERR_BAD_ARG');
  });

  it('expires tuples after the cache ttl and honours a per-put ttl', async () => {
    const clock = new ManualClock();
    const cache = await startCache({ ttl: 1000, clock });
    await cache.put(['short', 1]);
    await cache.put(['long', 1], { ttl: 5000 });
    await cache.put(['forever', 1], { ttl: 0 });
    clock.advance(1001);
    expect(await cache.get(['short'])).toEqual([]);
    expect(await cache.get(['long'])).toEqual([['long', 1]]);
    clock.advance(5000);
    expect(await cache.get(['long'])).toEqual([]);
    expect(await cache.get(['forever'])).toEqual([['forever', 1]]);
  });

  it('evicts past maxEntries', async () => {
    const cache = await startCache({ numPartition: 1, maxEntries: 10 });
    for (let i = 0; i < 30; i++) await cache.put([i, i]);
    expect(cache.local.size).toBeLessThanOrEqual(10);
    expect(await cache.get([29])).toEqual([[29, 29]]);
  });
});

describe('SuperCache partitioning', () => {
  it('with partitionPos ≠ keyPos, the same key in two partitions is two tuples', async () => {
    const cache = await startCache({ keyPos: 1, partitionPos: 0, numPartition: 8 });
    await cache.put(['tenantA', 'k', 1]);
    await cache.put(['tenantB', 'k', 2]);
    expect(await cache.get(['tenantA', 'k'])).toEqual([['tenantA', 'k', 1]]);
    expect(await cache.get(['tenantB', 'k'])).toEqual([['tenantB', 'k', 2]]);
    expect(await cache.getByKeyPartition('k', 'tenantA')).toEqual([['tenantA', 'k', 1]]);
    expect(await cache.getPartition('k', 'tenantB')).toEqual([['tenantB', 'k', 2]]);
    await cache.deleteByKeyPartition('k', 'tenantA');
    expect(await cache.get(['tenantA', 'k'])).toEqual([]);
    expect(await cache.get(['tenantB', 'k'])).toEqual([['tenantB', 'k', 2]]);
  });

  it('puts every tuple with the same partition data in one partition', async () => {
    const cache = await startCache({ keyPos: 1, partitionPos: 0, numPartition: 8 });
    for (let i = 0; i < 50; i++) await cache.put(['tenantA', `k${i}`, i]);
    const sizes = (await cache.stats()).partitions.map((p) => p.size);
    expect(sizes.filter((s) => s > 0)).toEqual([50]);
    expect(sizes.indexOf(50)).toBe(partitionOf('tenantA', 8));
  });

  it('putBatch writes land in the partition reads look in (the seed bug does not happen)', async () => {
    const n = 8;
    const cache = await startCache({ keyPos: 1, partitionPos: 0, numPartition: n });
    const tuples: Tuple[] = [];
    for (let i = 0; i < 1000; i++) tuples.push([`tenant${i % 13}`, `key${i}`, i]);
    await cache.putBatch(tuples);
    for (const t of tuples) {
      expect(await cache.get(t)).toEqual([t]);
      expect(cache.local.get(t)).toEqual([t]);
      expect(await cache.getPartitionByIdx(t[1] as Term, partitionOf(t[0] as Term, n))).toEqual([t]);
    }
    expect(cache.local.size).toBe(1000);
  });

  it('putBatch writes nothing when one tuple is invalid', async () => {
    const cache = await startCache();
    await expectCode(cache.putBatch([['a', 1], ['b', () => 1] as unknown as Tuple]), 'SC_ERR_INVALID_TERM');
    expect(await cache.get(['a'])).toEqual([]);
    await expectCode(cache.putBatch('nope' as unknown as Tuple[]), 'SC_ERR_BAD_ARG');
  });

  it('getSameKeyPartition and deleteSameKeyPartition use the key as partition data', async () => {
    const cache = await startCache({ keyPos: 0, partitionPos: 0, numPartition: 8 });
    await cache.put(['k', 1]);
    expect(await cache.getSameKeyPartition('k')).toEqual([['k', 1]]);
    await cache.deleteSameKeyPartition('k');
    expect(await cache.get(['k'])).toEqual([]);
  });

  it('putPartition stores in the partition of the given partition data', async () => {
    const cache = await startCache({ numPartition: 8 });
    await cache.putPartition(['k', 1], 'elsewhere');
    expect(await cache.getPartition('k', 'elsewhere')).toEqual([['k', 1]]);
    expect((await cache.stats()).partitions[partitionOf('elsewhere', 8)]?.size).toBe(1);
    await cache.deletePartition('k', 'elsewhere');
    expect(await cache.getPartition('k', 'elsewhere')).toEqual([]);
  });

  it('putPartitionByIdx, getPartitionByIdx and deletePartitionByIdx address a partition by index', async () => {
    const cache = await startCache({ numPartition: 4 });
    await cache.putPartitionByIdx(['k', 'in3'], 3);
    await cache.putPartitionByIdx(['k', 'in1'], 1);
    expect(await cache.getPartitionByIdx('k', 3)).toEqual([['k', 'in3']]);
    expect(await cache.getPartitionByIdx('k', 1)).toEqual([['k', 'in1']]);
    expect((await cache.stats()).partitions.map((p) => p.size)).toEqual([0, 1, 0, 1]);
    await cache.deletePartitionByIdx('k', 3);
    expect(await cache.getPartitionByIdx('k', 3)).toEqual([]);
    expect(await cache.getPartitionByIdx('k', 1)).toEqual([['k', 'in1']]);
  });

  it.each([-1, 4, 1.5, Number.NaN, '1'])('refuses partition index %s with SC_ERR_BAD_ARG', async (idx) => {
    const cache = await startCache({ numPartition: 4 });
    const e = await expectCode(cache.putPartitionByIdx(['k', 1], idx as number), 'SC_ERR_BAD_ARG');
    expect(e.message).toMatch(/numPartition is 4/);
    await expectCode(cache.getPartitionByIdx('k', idx as number), 'SC_ERR_BAD_ARG');
    await expectCode(cache.deletePartitionByIdx('k', idx as number), 'SC_ERR_BAD_ARG');
  });
});

describe('SuperCache batch and lazy writes', () => {
  it('putBatch then get finds every tuple', async () => {
    const cache = await startCache({ numPartition: 8 });
    const tuples = Array.from({ length: 5000 }, (_v, i) => [`k${i}`, i] as Tuple);
    await cache.putBatch(tuples);
    expect(cache.local.size).toBe(5000);
    for (let i = 0; i < 5000; i += 97) expect(await cache.get([`k${i}`])).toEqual([[`k${i}`, i]]);
  });

  it('keeps write order: 1000 lazyPuts of one key with increasing values leave the last value', async () => {
    const cache = await startCache({ numPartition: 8, lazyPut: { maxBatch: 7 } });
    for (let i = 0; i < 1000; i++) await cache.lazyPut(['counter', i]);
    await cache.flush();
    expect(await cache.get(['counter'])).toEqual([['counter', 999]]);
  });

  it('keeps write order per key when lazyPuts of many keys interleave', async () => {
    const cache = await startCache({ numPartition: 8, lazyPut: { maxBatch: 13 } });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) pending.push(cache.lazyPut([`k${i % 10}`, i]));
    await Promise.all(pending);
    await cache.flush();
    for (let k = 0; k < 10; k++) expect(await cache.get([`k${k}`])).toEqual([[`k${k}`, 1990 + k]]);
  });

  it('lazyPut writes land by themselves within a tick, without flush()', async () => {
    const cache = await startCache();
    await cache.lazyPut(['k', 1]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(cache.local.get(['k'])).toEqual([['k', 1]]);
  });

  it('lazyPut applies backpressure: past maxPending it waits until the buffer has room', async () => {
    const cache = await startCache({ lazyPut: { maxPending: 4, maxBatch: 4, flushOn: 'manual' } });
    // Four fill the buffer and their batch starts writing; the fifth must wait for it.
    const first = [0, 1, 2, 3].map((i) => cache.lazyPut(['k', i]));
    let resolved = false;
    const fifth = cache.lazyPut(['k', 4]).then(() => {
      resolved = true;
    });
    const during = cache.stats();
    expect(resolved).toBe(false);
    expect((await during).lazyPut.waiting).toBe(1);
    await Promise.all([...first, fifth]);
    expect(resolved).toBe(true);
    await cache.flush();
    expect(await cache.get(['k'])).toEqual([['k', 4]]);
  });

  it('lazyPut fails fast with SC_ERR_BUFFER_FULL when maxWaiting is 0 and the buffer is full', async () => {
    const cache = await startCache({ lazyPut: { maxPending: 2, maxWaiting: 0, flushOn: 'manual' } });
    const a = cache.lazyPut(['a', 1]);
    const b = cache.lazyPut(['b', 1]);
    await expectCode(cache.lazyPut(['c', 1]), 'SC_ERR_BUFFER_FULL');
    await Promise.all([a, b]);
    await cache.flush();
    expect(cache.local.size).toBe(2);
  });

  it('flush() resolves once every earlier lazyPut is written', async () => {
    const cache = await startCache({ lazyPut: { flushOn: 'manual' } });
    for (let i = 0; i < 100; i++) await cache.lazyPut([`k${i}`, i]);
    expect(cache.local.size).toBe(0);
    await cache.flush();
    expect(cache.local.size).toBe(100);
    const stats = await cache.stats();
    expect(stats.lazyPut.applied).toBe(100);
    expect(stats.lazyPut.pending).toBe(0);
  });
});

describe('SuperCache match, scan and delete', () => {
  async function tenants(): Promise<SuperCache> {
    const cache = await startCache({ keyPos: 1, partitionPos: 0, numPartition: 8 });
    // 'east' and 'west' must live in different partitions for the scoped tests to mean anything.
    expect(partitionOf('east', 8)).not.toBe(partitionOf('west', 8));
    await cache.putBatch([
      ['east', 'a1', 1],
      ['east', 'a2', 2],
      ['west', 'b1', 10],
      ['west', 'b2', 20],
    ]);
    return cache;
  }

  it('getByMatch returns bindings from every partition', async () => {
    const cache = await tenants();
    const r = await cache.getByMatch([_, $(1), $(2)]);
    expect(r.map((b) => b[1]).sort((x, y) => (x as number) - (y as number))).toEqual([1, 2, 10, 20]);
  });

  it('getByMatch with partition data reads only that partition', async () => {
    const cache = await tenants();
    const r = await cache.getByMatch([_, $(1), _], { partition: 'east' });
    expect(r.map((b) => b[0]).sort()).toEqual(['a1', 'a2']);
    expect(
      cache.local
        .getByMatch([_, $(1), _], { partition: 'west' })
        .map((b) => b[0])
        .sort(),
    ).toEqual(['b1', 'b2']);
  });

  it('getByMatchObject returns whole tuples, optionally from one partition', async () => {
    const cache = await tenants();
    expect(sortTuples(await cache.getByMatchObject(['west', _, _]))).toEqual([
      ['west', 'b1', 10],
      ['west', 'b2', 20],
    ]);
    expect(await cache.getByMatchObject([_, _, _], { partition: 'west' })).toHaveLength(2);
    expect(await cache.getByMatchObject(['east', _, _], { partition: 'west' })).toEqual([]);
  });

  it('scan folds over every tuple, or over one partition', async () => {
    const cache = await tenants();
    expect(await cache.scan((o, acc: number) => acc + (o[2] as number), 0)).toBe(33);
    expect(await cache.scan((o, acc: number) => acc + (o[2] as number), 0, { partition: 'west' })).toBe(30);
    expect(cache.local.scan((o, acc: number) => acc + (o[2] as number), 0)).toBe(33);
    expect(cache.local.scan((o, acc: number) => acc + (o[2] as number), 0, { partition: 'east' })).toBe(3);
  });

  it('deleteByMatch deletes the matches and reports how many, optionally in one partition', async () => {
    const cache = await tenants();
    expect(await cache.deleteByMatch([_, _, 1])).toBe(1);
    expect(await cache.deleteByMatch([_, _, _], { partition: 'west' })).toBe(2);
    expect(cache.local.size).toBe(1);
    expect(await cache.get(['east', 'a2'])).toEqual([['east', 'a2', 2]]);
  });

  it('deleteAll empties the tuple table and keeps the structures', async () => {
    const cache = await tenants();
    await cache.keyValue('kv').add('x', 1);
    expect(await cache.deleteAll()).toBe(4);
    expect(cache.local.size).toBe(0);
    expect(await cache.keyValue('kv').get('x')).toBe(1);
  });
});

describe('SuperCache local view', () => {
  it('reads synchronously what the async API wrote', async () => {
    const cache = await startCache({ keyPos: 1, partitionPos: 0, numPartition: 8 });
    await cache.put(['p', 'k', 1]);
    await cache.put(['k', 'k', 2]);
    expect(cache.local.get(['p', 'k'])).toEqual([['p', 'k', 1]]);
    expect(cache.local.getByKeyPartition('k', 'p')).toEqual([['p', 'k', 1]]);
    expect(cache.local.getSameKeyPartition('k')).toEqual([['k', 'k', 2]]);
    expect(cache.local.has(['p', 'k'])).toBe(true);
    expect(cache.local.has(['p', 'nope'])).toBe(false);
    expect(sortTuples(cache.local.getByMatchObject([_, 'k', _]))).toEqual([
      ['k', 'k', 2],
      ['p', 'k', 1],
    ]);
    expect(cache.local.size).toBe(2);
    expect(cache.local.partitionSize('p')).toBe(partitionOf('p', 8) === partitionOf('k', 8) ? 2 : 1);
  });

  it('throws SC_ERR_TUPLE_TOO_SHORT synchronously for a short probe', async () => {
    const cache = await startCache({ keyPos: 1 });
    expect(() => cache.local.get(['only'])).toThrow(/tuple size 1 is lower than keyPos/);
  });

  it('is the same object for the life of the cache', async () => {
    const cache = await startCache();
    const view = cache.local;
    await cache.stop();
    await cache.start();
    await cache.put(['k', 1]);
    expect(view.get(['k'])).toEqual([['k', 1]]);
  });
});

describe('SuperCache stats', () => {
  it('reports per-partition sizes, counters and totals', async () => {
    const cache = await startCache({ numPartition: 4 });
    await cache.putBatch(Array.from({ length: 40 }, (_v, i) => [i, i] as Tuple));
    await cache.get([1]);
    await cache.get([2]);
    await cache.get(['missing']);
    const s = await cache.stats();
    expect(s.numPartition).toBe(4);
    expect(s.tableType).toBe('set');
    expect(s.partitions).toHaveLength(4);
    expect(s.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    expect(s.partitions.reduce((n, p) => n + p.size, 0)).toBe(40);
    expect(s.totals.size).toBe(40);
    expect(s.totals.memory).toBeGreaterThan(0);
    expect(s.totals.inserts).toBe(40);
    expect(s.totals.hits).toBe(2);
    expect(s.totals.misses).toBe(1);
  });

  it('counts the structures apart from the tuples', async () => {
    const cache = await startCache();
    await cache.keyValue('kv').add('a', 1);
    await cache.queue('q').add('job');
    const s = await cache.stats();
    expect(s.totals.size).toBe(0);
    expect(s.structures.kv).toBe(1);
    expect(s.structures.sys).toBeGreaterThan(0);
  });

  it('clusterStats gives a one-node view in local mode', async () => {
    const cache = await startCache({ numPartition: 4, replicationMode: 'sync' });
    await cache.put(['k', 1]);
    const c = await cache.clusterStats();
    expect(c.mode).toBe('local');
    expect(c.nodes).toHaveLength(1);
    expect(c.nodes[0]).toMatchObject({
      self: true,
      status: 'up',
      primaryPartitions: 4,
      replicaPartitions: 0,
      size: 1,
    });
    expect(c.replicationFactor).toBe(1);
    expect(c.replicationMode).toBe('sync');
    expect(cache.distributed).toBe(false);
  });
});

describe('SuperCache distributed seam', () => {
  it('routes every table of a distributed cache through the cluster provider', async () => {
    const cluster = new FakeCluster();
    const cache = await startCache({
      cluster: 'distributed',
      clusterProvider: cluster.factory,
      peers: ['n2', 'n3'],
      replicationMode: 'strong',
      replicationFactor: 3,
      numPartition: 8,
    });
    expect(cache.distributed).toBe(true);
    expect(cluster.started).toBe(1);
    expect(cluster.configs[0]).toMatchObject({
      kind: 'supercache',
      peers: ['n2', 'n3'],
      numPartition: 8,
      replicationMode: 'strong',
      replicationFactor: 3,
    });
    expect(cluster.specs.map((s) => s.table)).toEqual(['main', 'kv', 'sys']);
    await cache.put(['k', 1]);
    await cache.get(['k']);
    await cache.getByMatch(['k', _], { partition: 'k' });
    await cache.putPartitionByIdx(['k', 2], 3);
    await cache.keyValue('kv').add('a', 1);
    await cache.queue('q').add(1);
    const seen = cluster.calls.map((c) => `${c.table}:${c.kind}:${c.name}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'main:exec:insert',
        'main:exec:lookup',
        'main:broadcastPartitions:match',
        'main:execPartition:insert',
      ]),
    );
    expect(seen.some((s) => s.startsWith('kv:exec:'))).toBe(true);
    expect(seen.some((s) => s.startsWith('sys:exec:'))).toBe(true);
    expect((await cache.clusterStats()).mode).toBe('distributed');
  });
});
