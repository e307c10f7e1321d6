/**
 * The serving lease on the memory transport: a node cut off from a quorum
 * stops serving before the others remove it, so it never acknowledges a
 * write (or answers a read) under a view the cluster has left behind.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import type { ViewChangeEvent } from '../src/events.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually } from './cluster-suite.js';

const TABLES = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 32 }] as const;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('serving lease', () => {
  it('an isolated node refuses reads and writes with SC_ERR_NO_QUORUM and acknowledges nothing after its removal', async () => {
    const c = memoryCluster({
      heartbeatMs: 25,
      failureTimeoutMs: 600,
      retry: { attempts: 2, baseMs: 5, maxMs: 20 },
    });
    cluster = c;
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: TABLES });
    const objs: Tuple[] = [];
    for (let i = 0; i < 200; i++) objs.push([`k${i}`, 0]);
    await c.table('a', 'set').insertMany(objs);
    const table = c.node('c').getTable('set');
    if (table === undefined) throw new Error('no table');
    const ownedByC = objs.map((o) => o[0] as string).filter((k) => table.ownerOf(k).node === 'c');
    expect(ownedByC.length).toBeGreaterThan(0);
    expect(c.node('c').leaseHeld).toBe(true);

    let removedAt = Number.POSITIVE_INFINITY;
    c.node('a').on('viewChange', (e: ViewChangeEvent) => {
      if (e.removed.includes('c')) removedAt = Math.min(removedAt, Date.now());
    });
    const acks: number[] = [];
    let refusals = 0;
    c.net.partition(['c'], ['a', 'b']);
    const cutAt = Date.now();
    // A bounded writer on c: 300 writes or 3 s, whichever comes first.
    for (let i = 0; i < 300 && Date.now() - cutAt < 3000; i++) {
      const key = ownedByC[i % ownedByC.length] as string;
      try {
        await c.table('c', 'set').insert([key, i + 1]);
        acks.push(Date.now());
      } catch (e) {
        if (SuperCacheError.is(e) && e.code === 'SC_ERR_NO_QUORUM') refusals++;
      }
      if (removedAt !== Number.POSITIVE_INFINITY && Date.now() - removedAt > 300) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await eventually(() => !c.node('a').view.members.includes('c'), 3000)).toBe(true);
    expect(refusals).toBeGreaterThan(0);
    expect(c.node('c').leaseHeld).toBe(false);
    // Nothing acknowledged by c once the majority had moved on without it.
    expect(acks.filter((t) => t >= removedAt)).toEqual([]);
    // Reads on c are refused too, never answered from its stale copy.
    const read = await c
      .table('c', 'set')
      .lookup(ownedByC[0] as string)
      .catch((e: unknown) => e);
    expect(SuperCacheError.is(read) && read.code).toBe('SC_ERR_NO_QUORUM');
    expect(c.node('c').stats().leaseRefusals).toBeGreaterThan(0);

    // The majority serves every key (c's share now lives, empty, on new owners).
    await c.table('a', 'set').insert([ownedByC[0] as string, 'after']);
    expect(await c.table('b', 'set').lookup(ownedByC[0] as string)).toEqual([[ownedByC[0], 'after']]);

    // Healed: c joins again, empty, and serves the majority's value, never its own stale one.
    c.net.heal();
    expect(
      await eventually(() => c.node('a').view.members.includes('c') && c.node('c').leaseHeld, 5000),
    ).toBe(true);
    expect(await c.table('c', 'set').lookup(ownedByC[0] as string)).toEqual([[ownedByC[0], 'after']]);
  });

  it('a one-node cluster always holds its lease', async () => {
    const c = memoryCluster({ heartbeatMs: 25, failureTimeoutMs: 600 });
    cluster = c;
    await c.start('solo', { tables: TABLES });
    await new Promise((r) => setTimeout(r, 700));
    expect(c.node('solo').leaseHeld).toBe(true);
    await c.table('solo', 'set').insert(['k', 1]);
    expect(await c.table('solo', 'set').lookup('k')).toEqual([['k', 1]]);
  });
});
