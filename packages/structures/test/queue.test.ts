import type { Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/index.js';
import { allRecords, makeRouter, nonEmptyShards } from './helpers.js';

describe('Queue', () => {
  const open = (name: Term = 'jobs') => new Queue(makeRouter({ shards: 8 }), name);

  it('hands values out oldest first', async () => {
    const q = open();
    await q.add('process_order_1');
    await q.add('process_order_2');
    await q.add('process_order_3');
    expect(await q.out()).toBe('process_order_1');
    expect(await q.out()).toBe('process_order_2');
    expect(await q.out()).toBe('process_order_3');
  });

  it('returns the default (or undefined) from out and peek on an empty queue', async () => {
    const q = open();
    expect(await q.out()).toBeUndefined();
    expect(await q.out('none')).toBe('none');
    expect(await q.peek()).toBeUndefined();
    expect(await q.peek(0)).toBe(0);
    await q.add(1);
    await q.out();
    expect(await q.out('none')).toBe('none');
  });

  it('peek and its alias peak show the oldest value without removing it', async () => {
    const q = open();
    await q.add('a');
    await q.add('b');
    expect(await q.peek()).toBe('a');
    expect(await q.peak()).toBe('a');
    expect(await q.count()).toBe(2);
    await q.out();
    expect(await q.peak()).toBe('b');
  });

  it('add resolves with the new length and count follows adds and outs', async () => {
    const q = open();
    expect(await q.add('a')).toBe(1);
    expect(await q.add('b')).toBe(2);
    expect(await q.count()).toBe(2);
    await q.out();
    expect(await q.count()).toBe(1);
  });

  it('stores a null value and tells it apart from empty', async () => {
    const q = open();
    await q.add(null);
    expect(await q.peek('empty')).toBeNull();
    expect(await q.out('empty')).toBeNull();
    expect(await q.out('empty')).toBe('empty');
  });

  it('getAll drains the queue, oldest first', async () => {
    const q = open();
    for (let i = 0; i < 10; i++) await q.add(i);
    await q.out();
    expect(await q.getAll()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await q.count()).toBe(0);
    expect(await q.getAll()).toEqual([]);
  });

  it('clear removes every value and resolves with how many', async () => {
    const q = open();
    for (let i = 0; i < 5; i++) await q.add(i);
    await q.out();
    expect(await q.clear()).toBe(4);
    expect(await q.count()).toBe(0);
    expect(await q.out()).toBeUndefined();
    expect(allRecords(q.router)).toEqual([]);
  });

  it('keeps queues with different names apart', async () => {
    const router = makeRouter();
    const a = new Queue(router, 'a');
    const b = new Queue(router, 'b');
    await a.add('a1');
    await b.add('b1');
    await a.add('a2');
    expect(await b.getAll()).toEqual(['b1']);
    expect(await a.getAll()).toEqual(['a1', 'a2']);
  });

  it('keeps every record of one queue on one shard, as a meta record plus items', async () => {
    const q = open('jobs');
    for (let i = 0; i < 20; i++) await q.add(`v${i}`);
    await q.out();
    expect(nonEmptyShards(q.router)).toHaveLength(1);
    const recs = allRecords(q.router);
    expect(recs).toContainEqual([['q', 'jobs'], 1, 20]);
    expect(recs).toContainEqual([['q', 'jobs', 5], 'v5']);
    expect(recs).not.toContainEqual([['q', 'jobs', 0], 'v0']);
  });

  it('leaves no records behind once emptied, and restarts its counters', async () => {
    const q = open('jobs');
    await q.add('a');
    await q.out();
    expect(allRecords(q.router)).toEqual([]);
    await q.add('b');
    expect(allRecords(q.router)).toContainEqual([['q', 'jobs'], 0, 1]);
  });

  it('skips an item that vanished from the table (evicted) instead of stalling', async () => {
    const q = open('jobs');
    await q.add('a');
    await q.add('b');
    await q.add('c');
    const shard = q.router.backend.local.shards.table(nonEmptyShards(q.router)[0] as number);
    shard.delete(['q', 'jobs', 0]);
    expect(await q.peek()).toBe('b');
    expect(await q.out()).toBe('b');
    expect(await q.out()).toBe('c');
    expect(await q.out('empty')).toBe('empty');
  });

  it('rejects a value that is not a term with SC_ERR_INVALID_TERM and adds nothing', async () => {
    const q = open();
    await expect(q.add(undefined as unknown as Term)).rejects.toMatchObject({ code: 'SC_ERR_INVALID_TERM' });
    expect(await q.count()).toBe(0);
  });

  it('refuses a bag system table with SC_ERR_WRONG_TABLE_TYPE', () => {
    expect(() => new Queue(makeRouter({ type: 'bag' }), 'q')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_WRONG_TABLE_TYPE' }),
    );
  });

  it('works on an ordered_set system table', async () => {
    const q = new Queue(makeRouter({ type: 'ordered_set' }), 'q');
    for (let i = 0; i < 12; i++) await q.add(i);
    expect(await q.out()).toBe(0);
    expect(await q.getAll()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});
