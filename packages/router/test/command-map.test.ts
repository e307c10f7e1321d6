import { partitionOf } from '@supercache/partition';
import type { Tuple } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import {
  addStats,
  createRegistry,
  emptyStats,
  isRecord,
  LocalBackend,
  NODE_COMMAND_NAMES,
  SHARD_COMMAND_NAMES,
  ShardSet,
  sleep,
  sumStats,
  typedBackend,
} from '../src/index.js';

describe('the command map', () => {
  it('names only commands the built-in registry serves, each with the scope the map gives it', () => {
    const registry = createRegistry();
    for (const name of SHARD_COMMAND_NAMES) expect(registry.get(name).scope, name).toBe('shard');
    for (const name of NODE_COMMAND_NAMES) expect(registry.get(name).scope, name).toBe('node');
  });

  it('types exec and broadcast by command name', async () => {
    const shards = new ShardSet({ type: 'set', keyPos: 0, shards: 2, sweepIntervalMs: 0 });
    const b = typedBackend(new LocalBackend({ shards, shardOf: (pd) => partitionOf(pd, 2) }));
    const wrote: true = await b.exec('k', 'insert', [[['k', 1]], undefined]);
    const found: Tuple[] = await b.exec('k', 'lookup', ['k']);
    const size: number = await b.broadcast('size', []);
    const stats = await b.broadcast('stats', []);
    expect([wrote, found, size, stats.inserts]).toEqual([true, [['k', 1]], 1, 1]);
    // @ts-expect-error: lookup takes one key, not a list of tuples.
    await b.exec('k', 'lookup', [[['k', 1]], 5]).catch(() => {});
    // A command outside the map (a structure's) is still callable, untyped.
    await expect(b.exec('k', 'no.such.command', [])).rejects.toMatchObject({ code: 'SC_ERR_BAD_REQUEST' });
  });
});

describe('shared helpers', () => {
  it('isRecord accepts plain objects only', () => {
    expect([{}, { a: 1 }, Object.create(null)].map(isRecord)).toEqual([true, true, true]);
    expect([null, [], new Uint8Array(2), 'x', 1, undefined].map(isRecord)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('sums storage counters field by field', () => {
    const a = { hits: 1, misses: 2, inserts: 3, deletes: 4, expirations: 5, evictions: 6 };
    expect(sumStats([a, a, emptyStats()])).toEqual({
      hits: 2,
      misses: 4,
      inserts: 6,
      deletes: 8,
      expirations: 10,
      evictions: 12,
    });
    const into = { ...emptyStats(), size: 7 };
    expect(addStats(into, a)).toEqual({ ...a, size: 7 });
  });

  it('sleep rejects with SC_ERR_ABORTED on an aborted signal, before and during the wait', async () => {
    const before = new AbortController();
    before.abort();
    await expect(sleep(10_000, before.signal)).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
    const during = new AbortController();
    const p = sleep(10_000, during.signal);
    during.abort();
    await expect(p).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
