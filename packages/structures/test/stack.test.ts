import type { Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { Queue, Stack } from '../src/index.js';
import { allRecords, makeRouter, nonEmptyShards } from './helpers.js';

describe('Stack', () => {
  const open = (name: Term = 'history') => new Stack(makeRouter({ shards: 8 }), name);

  it('pops the last value pushed', async () => {
    const s = open();
    await s.push('page_a');
    await s.push('page_b');
    expect(await s.pop()).toBe('page_b');
    expect(await s.pop()).toBe('page_a');
  });

  it('returns the default (or undefined) from pop and peek when empty', async () => {
    const s = open();
    expect(await s.pop()).toBeUndefined();
    expect(await s.pop('none')).toBe('none');
    expect(await s.peek('none')).toBe('none');
  });

  it('peek shows the top without removing it', async () => {
    const s = open();
    await s.push(1);
    await s.push(2);
    expect(await s.peek()).toBe(2);
    expect(await s.count()).toBe(2);
  });

  it('push resolves with the new size and count follows pushes and pops', async () => {
    const s = open();
    expect(await s.push('a')).toBe(1);
    expect(await s.push('b')).toBe(2);
    await s.pop();
    expect(await s.count()).toBe(1);
  });

  it('getAll drains the stack, top first', async () => {
    const s = open();
    for (let i = 0; i < 5; i++) await s.push(i);
    expect(await s.getAll()).toEqual([4, 3, 2, 1, 0]);
    expect(await s.count()).toBe(0);
    expect(await s.pop('empty')).toBe('empty');
  });

  it('clear removes every value and leaves no records', async () => {
    const s = open();
    for (let i = 0; i < 5; i++) await s.push(i);
    expect(await s.clear()).toBe(5);
    expect(allRecords(s.router)).toEqual([]);
  });

  it('keeps stacks apart from each other and from a queue of the same name', async () => {
    const router = makeRouter();
    const a = new Stack(router, 'x');
    const b = new Stack(router, 'y');
    const q = new Queue(router, 'x');
    await a.push(1);
    await b.push(2);
    await q.add(3);
    expect(await a.getAll()).toEqual([1]);
    expect(await b.getAll()).toEqual([2]);
    expect(await q.getAll()).toEqual([3]);
  });

  it('keeps every record of one stack on one shard, as a meta record plus items', async () => {
    const s = open('history');
    for (let i = 0; i < 20; i++) await s.push(i);
    expect(nonEmptyShards(s.router)).toHaveLength(1);
    const recs = allRecords(s.router);
    expect(recs).toContainEqual([['st', 'history'], 20]);
    expect(recs).toContainEqual([['st', 'history', 0], 0]);
  });

  it('skips an item that vanished from the table (evicted) instead of stalling', async () => {
    const s = open('h');
    await s.push('a');
    await s.push('b');
    await s.push('c');
    const shard = s.router.backend.local.shards.table(nonEmptyShards(s.router)[0] as number);
    shard.delete(['st', 'h', 2]);
    expect(await s.peek()).toBe('b');
    expect(await s.pop()).toBe('b');
    expect(await s.push('d')).toBe(2);
    expect(await s.getAll()).toEqual(['d', 'a']);
  });

  it('rejects a value that is not a term with SC_ERR_INVALID_TERM', async () => {
    const s = open();
    await expect(s.push((() => 1) as unknown as Term)).rejects.toMatchObject({ code: 'SC_ERR_INVALID_TERM' });
    expect(await s.count()).toBe(0);
  });

  it('refuses a duplicate_bag system table with SC_ERR_WRONG_TABLE_TYPE', () => {
    expect(() => new Stack(makeRouter({ type: 'duplicate_bag' }), 's')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_WRONG_TABLE_TYPE' }),
    );
  });
});
