import { afterEach, describe, expect, it } from 'vitest';
import { SuperCache } from '../src/index.js';
import { expectCode, expectSyncCode } from './helpers.js';

const open: SuperCache[] = [];

async function startCache(tableType: 'set' | 'bag' = 'set'): Promise<SuperCache> {
  const cache = new SuperCache({ numPartition: 4, sweepIntervalMs: 0, tableType });
  open.push(cache);
  await cache.start();
  return cache;
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.stop();
});

class User {
  id = 0;
  name = '';
  email = '';
}

describe('SuperCache.keyValue', () => {
  it('adds, gets, removes and lists the pairs of a namespace', async () => {
    const cache = await startCache();
    const kv = cache.keyValue<string, { name: string }>('session');
    await kv.add('user_1', { name: 'Alice' });
    expect(await kv.get('user_1')).toEqual({ name: 'Alice' });
    expect(await kv.get('nobody', 'default')).toBe('default');
    await kv.addBatch([
      ['user_2', { name: 'Bob' }],
      ['user_3', { name: 'Charlie' }],
    ]);
    expect(await kv.count()).toBe(3);
    expect((await kv.keys()).sort()).toEqual(['user_1', 'user_2', 'user_3']);
    await kv.removeBatch(['user_1', 'user_2']);
    expect(await kv.toList()).toEqual([['user_3', { name: 'Charlie' }]]);
    await kv.remove('user_3');
    expect(await kv.count()).toBe(0);
  });

  it('returns the same instance per name and keeps namespaces apart', async () => {
    const cache = await startCache();
    expect(cache.keyValue('a')).toBe(cache.keyValue('a'));
    await cache.keyValue('a').add('k', 1);
    await cache.keyValue('b').add('k', 2);
    expect(await cache.keyValue('a').get('k')).toBe(1);
    expect(await cache.keyValue('b').get('k')).toBe(2);
    await cache.keyValue('a').removeAll();
    expect(await cache.keyValue('b').get('k')).toBe(2);
  });

  it('keeps every value of a key when the cache table type is a bag', async () => {
    const cache = await startCache('bag');
    const kv = cache.keyValue('tags');
    await kv.add('post', 'a');
    await kv.add('post', 'b');
    expect((await kv.getAll('post')).sort()).toEqual(['a', 'b']);
  });

  it('refuses an empty namespace name with SC_ERR_BAD_ARG', async () => {
    const cache = await startCache();
    expectSyncCode(() => cache.keyValue(''), 'SC_ERR_BAD_ARG');
  });
});

describe('SuperCache.queue', () => {
  it('is first in, first out', async () => {
    const cache = await startCache();
    const q = cache.queue('jobs');
    await q.add('process_order_1');
    await q.add('process_order_2');
    expect(await q.out()).toBe('process_order_1');
    expect(await q.peak()).toBe('process_order_2');
    expect(await q.count()).toBe(1);
    expect(await q.out()).toBe('process_order_2');
    expect(await q.out('empty')).toBe('empty');
    expect(cache.queue('jobs')).toBe(q);
  });
});

describe('SuperCache.stack', () => {
  it('is last in, first out, and getAll drains it top first', async () => {
    const cache = await startCache();
    const s = cache.stack('history');
    await s.push('page_a');
    await s.push('page_b');
    await s.push('page_c');
    expect(await s.pop()).toBe('page_c');
    await s.push('page_d');
    expect(await s.count()).toBe(3);
    expect(await s.getAll()).toEqual(['page_d', 'page_b', 'page_a']);
    expect(await s.count()).toBe(0);
    expect(await s.pop('empty')).toBe('empty');
    expect(cache.stack('history')).toBe(s);
  });
});

describe('SuperCache.struct', () => {
  it('stores and rebuilds instances by their key field', async () => {
    const cache = await startCache();
    const users = cache.struct(User, 'id');
    await users.add(Object.assign(new User(), { id: 1, name: 'Alice', email: 'alice@example.com' }));
    const alice = await users.get(1);
    expect(alice).toBeInstanceOf(User);
    expect(alice).toEqual(Object.assign(new User(), { id: 1, name: 'Alice', email: 'alice@example.com' }));
    expect(await users.count()).toBe(1);
    expect(cache.struct(User, 'id')).toBe(users);
  });

  it('refuses to reopen a store with another key field', async () => {
    const cache = await startCache();
    cache.struct(User, 'id');
    await expectCode(async () => cache.struct(User, 'email'), 'SC_ERR_BAD_ARG');
    expect(cache.struct(User, 'email', { name: 'UserByEmail' }).keyField).toBe('email');
  });
});

describe('SuperCache structures, as the seed', () => {
  it('keys a struct by id when no key field is given, and finds the same store', async () => {
    const cache = await startCache();
    const users = cache.struct(User);
    expect(users.keyField).toBe('id');
    expect(cache.struct(User, 'id')).toBe(users);
    await users.add(Object.assign(new User(), { id: 3, name: 'Cy' }));
    expect((await users.get(3))?.name).toBe('Cy');
    expect(cache.struct(User, { name: 'Others' }).keyField).toBe('id');
  });

  it('gets the latest value of a bag key, upserts with update, and updates with a function', async () => {
    const cache = await startCache('bag');
    const kv = cache.keyValue<string, number>('counts');
    await kv.add('k', 1);
    await kv.add('k', 2);
    expect(await kv.get('k')).toBe(2);
    expect(await kv.update('fresh', 5)).toBe(5);
    expect(await kv.getAll('fresh')).toEqual([5]);
    expect(await kv.update('k', 0, (v) => v + 40)).toBe(42);
    expect(await kv.getAll('k')).toEqual([42]);
    expect(await kv.update('none', 7, (v) => v + 1)).toBe(7);
  });

  it('takes readMode on structure reads and refuses it on writes', async () => {
    const cache = await startCache();
    const q = cache.queue<string>('jobs');
    await q.add('a');
    expect(await q.peek(null, { readMode: 'quorum' })).toBe('a');
    expect(await cache.keyValue('n').count({ readMode: 'local' })).toBe(0);
    await expectCode(() => q.peek(null, { readMode: 'bogus' } as never), 'SC_ERR_BAD_ARG');
    await expectCode(() => q.out(null, { readMode: 'local' } as never), 'SC_ERR_BAD_ARG');
    expect(await q.count()).toBe(1);
  });
});
