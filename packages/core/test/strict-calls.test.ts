/**
 * Strict at every call: per-call options are checked like the constructor's,
 * lifecycle calls take effect in call order, and data crossing the facade is
 * copied in both directions.
 */

import { _, $, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SuperCache, type SuperCacheOptions } from '../src/index.js';
import { expectCode, FakeCluster } from './helpers.js';

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

describe('SuperCache lifecycle interleavings', () => {
  type Step = 'start' | 'stop';
  const sequences: Step[][] = [
    ['start', 'stop', 'start'],
    ['stop', 'start', 'stop'],
    ['start', 'start'],
    ['stop', 'stop'],
    ['start', 'stop'],
    ['stop', 'start'],
    ['start', 'stop', 'start', 'stop'],
    ['stop', 'start', 'stop', 'start'],
    ['start', 'start', 'stop', 'stop', 'start'],
  ];
  for (const initial of ['stopped', 'started'] as const) {
    for (const seq of sequences) {
      it(`${initial}, then ${seq.join(' / ')} without awaiting: ends as the last call asked`, async () => {
        const cache = new SuperCache({ numPartition: 2, sweepIntervalMs: 0 });
        open.push(cache);
        if (initial === 'started') {
          await cache.start();
          await cache.put(['before', 1]);
        }
        const calls = seq.map((s) => (s === 'start' ? cache.start() : cache.stop()));
        await Promise.all(calls);
        const last = seq[seq.length - 1];
        expect(cache.started).toBe(last === 'start');
        if (last === 'start') {
          await cache.put(['k', 1]);
          expect(await cache.get(['k'])).toEqual([['k', 1]]);
          // A stop in the sequence dropped the old tables; none means they are kept.
          const stopped = seq.includes('stop');
          expect(await cache.get(['before'])).toEqual(
            initial === 'started' && !stopped ? [['before', 1]] : [],
          );
        } else {
          await expectCode(cache.put(['k', 1]), 'SC_ERR_NOT_STARTED');
        }
      });
    }
  }

  it('start() called while stop() is in flight (the reported race) ends started', async () => {
    const cache = await startCache();
    const stopping = cache.stop();
    const starting = cache.start();
    await Promise.all([stopping, starting]);
    expect(cache.started).toBe(true);
    await cache.put(['k', 1]);
    expect(await cache.get(['k'])).toEqual([['k', 1]]);
  });

  it('a start() after a failed start() tries again', async () => {
    const cache = new SuperCache({
      numPartition: 1,
      sweepIntervalMs: 0,
      cluster: 'distributed',
      clusterProvider: () => {
        throw new Error('no cluster today');
      },
    });
    open.push(cache);
    await expect(cache.start()).rejects.toThrow('no cluster today');
    expect(cache.started).toBe(false);
    await expect(cache.start()).rejects.toThrow('no cluster today');
  });
});

describe('SuperCache per-call options', () => {
  it.each([['50'], [true], [{}], [-5], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'put refuses ttl %s with SC_ERR_BAD_ARG naming ttl, and writes nothing',
    async (ttl) => {
      const cache = await startCache();
      const e = await expectCode(cache.put(['k', 1], { ttl } as never), 'SC_ERR_BAD_ARG');
      expect(e.message).toContain('option ttl');
      expect(e.details).toMatchObject({ op: 'put', option: 'ttl' });
      expect(await cache.get(['k'])).toEqual([]);
    },
  );

  it('refuses a misspelt option with a did-you-mean hint instead of scanning every partition', async () => {
    const cache = await startCache();
    await cache.putBatch([
      ['a', 1],
      ['b', 2],
    ]);
    const e = await expectCode(cache.getByMatch([$(1), _], { partiton: 'a' } as never), 'SC_ERR_BAD_ARG');
    expect(e.message).toContain('did you mean partition?');
    await expectCode(cache.put(['k', 1], { tll: 5 } as never), 'SC_ERR_BAD_ARG');
    await expectCode(cache.get(['k'], { read_mode: 'local' } as never), 'SC_ERR_BAD_ARG');
  });

  it('checks the partition-scoped options of the synchronous local view the same way', async () => {
    const cache = await startCache();
    await cache.putBatch([
      ['a', 1],
      ['b', 2],
    ]);
    const calls: Array<[string, () => unknown]> = [
      ['getByMatch', () => cache.local.getByMatch([$(1), _], { partiton: 'a' } as never)],
      ['getByMatchObject', () => cache.local.getByMatchObject([_, _], { partiton: 'a' } as never)],
      ['scan', () => cache.local.scan((_o, n: number) => n + 1, 0, { partiton: 'a' } as never)],
    ];
    for (const [op, call] of calls) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err, op).toMatchObject({ code: 'SC_ERR_BAD_ARG' });
      expect((err as Error).message).toContain(`local.${op}`);
      expect((err as Error).message).toContain('did you mean partition?');
    }
    expect(() => cache.local.getByMatch([$(1), _], 'a' as never)).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    // A correct option still scopes the read to one partition.
    expect(cache.local.getByMatch([$(1), _], { partition: 'a' })).toContainEqual(['a']);
    expect(cache.local.scan((_o, n: number) => n + 1, 0)).toBe(2);
  });

  it('refuses an unknown readMode on every read, and options a call does not take', async () => {
    const cache = await startCache();
    const bogus = { readMode: 'bogus' } as never;
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['get', () => cache.get(['k'], bogus)],
      ['getByKeyPartition', () => cache.getByKeyPartition('k', 'k', bogus)],
      ['getSameKeyPartition', () => cache.getSameKeyPartition('k', bogus)],
      ['getPartition', () => cache.getPartition('k', 'k', bogus)],
      ['getPartitionByIdx', () => cache.getPartitionByIdx('k', 0, bogus)],
      ['getByMatch', () => cache.getByMatch(['k', _], bogus)],
      ['getByMatchObject', () => cache.getByMatchObject(['k', _], bogus)],
      ['scan', () => cache.scan((_o, a) => a, 0, bogus)],
      ['clusterTotals', () => cache.clusterTotals(bogus)],
    ];
    for (const [op, read] of reads) {
      const e = await expectCode(read(), 'SC_ERR_BAD_ARG');
      expect(e.details, op).toMatchObject({ op, option: 'readMode' });
    }
    // A write takes no readMode; a delete no ttl.
    await expectCode(cache.put(['k', 1], { readMode: 'local' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(cache.delete(['k'], { ttl: 5 } as never), 'SC_ERR_BAD_ARG');
    await expectCode(cache.lazyPut(['k', 1], { ttl: 5 } as never), 'SC_ERR_BAD_ARG');
    await expectCode(cache.putBatch([['k', 1]], 'fast' as never), 'SC_ERR_BAD_ARG');
  });

  it('accepts every read mode, and in local mode they all answer the same', async () => {
    const cache = await startCache({ tableType: 'ordered_set' });
    await cache.putBatch([
      ['a', 1],
      ['b', 2],
    ]);
    for (const readMode of ['local', 'primary', 'quorum'] as const) {
      expect(await cache.get(['a'], { readMode })).toEqual([['a', 1]]);
      expect(await cache.getByMatch([$(1), _], { readMode })).toEqual([['a'], ['b']]);
      expect(await cache.getByMatch([$(1), _], { readMode, partition: 'a' })).toEqual([['a']]);
      expect(await cache.scan((o, n: number) => n + (o[1] as number), 0, { readMode })).toBe(3);
    }
  });

  it('accepts valid options, and options set to undefined', async () => {
    const cache = await startCache();
    const signal = new AbortController().signal;
    await cache.put(['k', 1], { ttl: 0, signal });
    await cache.put(['j', 1], { ttl: undefined } as never);
    expect(await cache.getByMatch(['k', $(1)], { partition: undefined } as never)).toEqual([[1]]);
    expect(await cache.deleteByMatch(['j', _], { partition: 'j' })).toBe(1);
  });

  it("checks the structures' options too", async () => {
    const cache = await startCache();
    const kv = cache.keyValue('n');
    await expectCode(kv.add('a', 1, { ttl: '50' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(kv.get('a', undefined, { readMode: 'bogus' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(kv.has('a', { partiton: 'x' } as never), 'SC_ERR_BAD_ARG');
    const q = cache.queue('q');
    await expectCode(q.add(1, { colour: 'red' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(q.out(undefined, { readMode: 'nope' } as never), 'SC_ERR_BAD_ARG');
    expect(await kv.count()).toBe(0);
    expect(await q.count()).toBe(0);
    await kv.add('a', 1, { ttl: 1000 });
    expect(await kv.get('a', undefined, { readMode: 'quorum' } as never)).toBe(1);
  });
});

describe('SuperCache stats', () => {
  it('stats() answers synchronously; clusterTotals() sums the same figures over every node', async () => {
    const cache = await startCache();
    await cache.putBatch([
      ['a', 1],
      ['b', 2],
    ]);
    await cache.get(['a']);
    await cache.get(['zz']);
    const s = cache.stats();
    expect(s).not.toBeInstanceOf(Promise);
    expect(s.totals).toMatchObject({ size: 2, hits: 1, misses: 1, inserts: 2 });
    const t = await cache.clusterTotals();
    expect(t).toEqual(s.totals);
    expect(() => new SuperCache({ numPartition: 1 }).stats()).toThrow(
      expect.objectContaining({ code: 'SC_ERR_NOT_STARTED' }),
    );
  });
});

describe('SuperCache results are copies, in both directions', () => {
  it('changing a read result changes nothing stored', async () => {
    const cache = await startCache();
    await cache.put(['k', 1, { nested: [1, 2] }]);
    const r = (await cache.get(['k'])) as unknown as unknown[][];
    (r[0] as unknown[])[1] = 999;
    ((r[0] as unknown[])[2] as { nested: number[] }).nested.push(3);
    expect(await cache.get(['k'])).toEqual([['k', 1, { nested: [1, 2] }]]);
    const m = (await cache.getByMatchObject(['k', _, _])) as unknown as unknown[][];
    (m[0] as unknown[])[1] = 5;
    const scanned = await cache.scan((o, acc: Tuple[]) => [...acc, o], []);
    (scanned[0] as unknown as unknown[])[1] = 6;
    expect(cache.local.get(['k'])).toEqual([['k', 1, { nested: [1, 2] }]]);
  });

  it('changing a tuple after put changes nothing stored', async () => {
    const cache = await startCache();
    const t: unknown[] = ['k', 1, [1, 2]];
    await cache.put(t as Tuple);
    t[1] = 999;
    (t[2] as number[]).push(3);
    const batch: unknown[][] = [['b', 1]];
    await cache.putBatch(batch as Tuple[]);
    (batch[0] as unknown[])[1] = 2;
    expect(await cache.get(['k'])).toEqual([['k', 1, [1, 2]]]);
    expect(await cache.get(['b'])).toEqual([['b', 1]]);
  });

  it('structure values are copies too', async () => {
    const cache = await startCache();
    const kv = cache.keyValue<string, number[]>('n');
    const v = [1, 2];
    await kv.add('a', v);
    v.push(3);
    const got = (await kv.get('a')) as number[];
    got.push(4);
    expect(await kv.get('a')).toEqual([1, 2]);
  });
});

describe('SuperCache over a cluster backend (the seam)', () => {
  async function distributed() {
    const cluster = new FakeCluster();
    const cache = await startCache({
      cluster: 'distributed',
      clusterProvider: cluster.factory,
      numPartition: 4,
    });
    return { cluster, cache };
  }

  it('threads readMode to the backend on reads, and none on writes', async () => {
    const { cluster, cache } = await distributed();
    await cache.put(['k', 1]);
    await cache.get(['k'], { readMode: 'quorum' });
    await cache.getByMatch([$(1), _], { readMode: 'primary', partition: 'k' });
    await cache.getByMatchObject([_, _], { readMode: 'primary' });
    await cache.scan((_o, n: number) => n, 0, { readMode: 'quorum' });
    const main = cluster.calls.filter((c) => c.table === 'main').map((c) => [c.name, c.readMode]);
    expect(main).toEqual([
      ['insert', undefined],
      ['lookup', 'quorum'],
      ['match', 'primary'],
      ['matchObject', 'primary'],
      ['objects', 'quorum'],
    ]);
  });

  it('copies results and stored tuples at the gate, as in local mode', async () => {
    const { cache } = await distributed();
    const t: unknown[] = ['k', 1];
    await cache.put(t as Tuple);
    t[1] = 2;
    const r = (await cache.get(['k'])) as unknown as unknown[][];
    (r[0] as unknown[])[1] = 3;
    expect(await cache.get(['k'])).toEqual([['k', 1]]);
    const kv = cache.keyValue<string, number[]>('n');
    await kv.add('a', [1]);
    ((await kv.get('a')) as number[]).push(2);
    expect(await kv.get('a')).toEqual([1]);
  });
});
