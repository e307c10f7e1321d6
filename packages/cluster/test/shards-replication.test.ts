/**
 * Replication of `'shards'` tables (`replicas` > 1) on the memory
 * transport: every key has its copies on distinct hosts (the ranking of
 * ShardsPlacement.copiesOf); a crash of a node makes the next copy of each
 * of its keys the owner; nothing acknowledged in `sync` is lost; the copies
 * are refilled back to `replicas`; bad option values are refused.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterNode } from '../src/node.js';
import type { ReplicationMode } from '../src/replicator.js';
import { MemoryNetwork } from '../src/transport-memory.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import type { SuiteTableDef } from './cluster-suite.js';
import { eventually } from './cluster-suite.js';
import { expectClean, LoadModel, type LoadTarget, tableTarget } from './replication-load.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const SHARDS: Record<string, number> = { a: 3, b: 2, c: 4, d: 1 };

function tables(replicas: number, mode: ReplicationMode): SuiteTableDef[] {
  return [
    { name: 'pets', type: 'set', placement: 'shards', localShards: 2, replicas, replicationMode: mode },
  ];
}

async function make(ids: readonly string[], replicas: number, mode: ReplicationMode): Promise<MemoryCluster> {
  const c = memoryCluster({
    heartbeatMs: 25,
    failureTimeoutMs: 400,
    callTimeoutMs: 2000,
    retry: { attempts: 60, baseMs: 5, maxMs: 50 },
  });
  cluster = c;
  for (const id of ids)
    await c.start(id, { tables: tables(replicas, mode), localShards: { pets: SHARDS[id] ?? 2 } });
  return c;
}

function target(c: MemoryCluster, id: string): LoadTarget {
  return tableTarget(c, id, 'pets');
}

/** Objects held on `id`: as primary (`shards`) and as backup (`copies`). */
function held(c: MemoryCluster, id: string): { primary: number; copies: number } {
  const t = c.node(id).getTable('pets');
  let primary = 0;
  let copies = 0;
  for (const x of t?.shards.tables ?? []) primary += x.size;
  for (const x of t?.copies?.tables ?? []) copies += x.size;
  return { primary, copies };
}

describe('shards replication: copies', () => {
  it('keeps `replicas` copies of every key on distinct hosts, the owner first', async () => {
    const c = await make(['a', 'b', 'c'], 2, 'sync');
    const objs: Tuple[] = Array.from({ length: 300 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'pets').insertMany(objs);
    let primaries = 0;
    let copies = 0;
    for (const id of ['a', 'b', 'c']) {
      const h = held(c, id);
      primaries += h.primary;
      copies += h.copies;
    }
    // sync: every write waited for its backup.
    expect(primaries).toBe(300);
    expect(copies).toBe(300);
    // A fan-out sees each key once.
    expect(await c.table('b', 'pets').size()).toBe(300);
    expect((await c.table('c', 'pets').tab2list()).length).toBe(300);
    const r = c.node('a').health().replication.pets;
    expect(r).toMatchObject({ placement: 'shards', factor: 2, copies: 2, shortfall: 0, mode: 'sync' });
  });

  it('reads a backup copy with readMode local and quorum', async () => {
    const c = await make(['a', 'b', 'c'], 3, 'sync');
    await c.table('a', 'pets').insert(['x', 1]);
    for (const id of ['a', 'b', 'c']) {
      // Every node holds a copy (RF 3 on 3 nodes): a local read calls no peer.
      const before = c.node(id).stats().remoteCalls;
      expect(await c.table(id, 'pets').lookup('x', { readMode: 'local' })).toEqual([['x', 1]]);
      expect(c.node(id).stats().remoteCalls).toBe(before);
      expect(await c.table(id, 'pets').lookup('x', { readMode: 'quorum' })).toEqual([['x', 1]]);
      expect(await c.table(id, 'pets').lookup('x', { readMode: 'primary' })).toEqual([['x', 1]]);
    }
    expect(held(c, 'a').copies + held(c, 'b').copies + held(c, 'c').copies).toBe(2);
  });
});

describe('shards replication: a crash', () => {
  const cases = [
    ['sync', 'primary'],
    ['strong', 'primary'],
    ['sync', 'quorum'],
    ['sync', 'local'],
  ] as const;
  for (const [mode, readMode] of cases) {
    it(`RF 2 ${mode}, ${readMode} reads: a crash under load loses no acknowledged write, every key is found, copies come back`, async () => {
      const all = ['a', 'b', 'c', 'd'];
      const c = await make(all, 2, mode);
      // Keys written once before the load and never again: only the failover and the refill keep them.
      const still: Tuple[] = Array.from({ length: 200 }, (_x, i) => [`s${i}`, i]);
      await c.table('a', 'pets').insertMany(still);
      const victim = 'c';
      const alive = () => all.filter((id) => c.nodes.has(id) && id !== victim);
      const model = new LoadModel();
      let killed = false;
      const load = model.run({
        nodes: () => (killed ? alive() : all.filter((id) => id !== victim)),
        target: (id) => target(c, id),
        keys: 120,
        writers: 6,
        maxOpsPerWriter: 400,
        maxMs: 4000,
        readMode,
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(held(c, victim).primary).toBeGreaterThan(0);
      await c.crash(victim);
      killed = true;
      const report = await load;
      const survivor = alive()[0] as string;
      expect(await eventually(() => !c.node(survivor).view.members.includes(victim), 3000)).toBe(true);
      for (const id of alive()) expectClean(await model.verify(target(c, id), readMode));
      expectClean(report);
      for (const id of alive())
        for (const [k, v] of still) expect(await c.table(id, 'pets').lookup(k as string)).toEqual([[k, v]]);
      // Refilled back to two copies of every key.
      const keys = [...model.keys.values()].filter((m) => m.attempted > 0).length + still.length;
      const refilled = await eventually(() => {
        let primary = 0;
        let copies = 0;
        for (const id of alive()) {
          const h = held(c, id);
          primary += h.primary;
          copies += h.copies;
        }
        return primary === keys && copies === keys;
      }, 5000);
      expect(refilled).toBe(true);
      expect(c.node(survivor).health().replication.pets?.outOfSync).toBe(0);
    });
  }

  it('RF 3 sync: two crashes one after the other lose nothing', async () => {
    const c = await make(['a', 'b', 'c', 'd'], 3, 'sync');
    const objs: Tuple[] = Array.from({ length: 1000 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'pets').insertMany(objs);
    await c.crash('d');
    await eventually(() => c.node('a').view.members.length === 3, 3000);
    await c.crash('c');
    await eventually(() => c.node('a').view.members.length === 2, 3000);
    for (const [k, v] of objs) expect(await c.table('b', 'pets').lookup(k as string)).toEqual([[k, v]]);
    expect(await c.table('a', 'pets').size()).toBe(1000);
  });

  it('RF 2 sync: refills the copies a crash took, so a second crash after the refill loses nothing', async () => {
    const c = await make(['a', 'b', 'c', 'd'], 2, 'sync');
    const objs: Tuple[] = Array.from({ length: 1000 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'pets').insertMany(objs);
    await c.crash('d');
    await eventually(() => c.node('a').view.members.length === 3, 3000);
    // No write after the crash: the refill alone brings every key back to two copies.
    const refilled = await eventually(() => {
      let copies = 0;
      for (const id of ['a', 'b', 'c']) copies += held(c, id).copies;
      return copies === 1000;
    }, 5000);
    expect(refilled).toBe(true);
    await c.crash('c');
    await eventually(() => c.node('a').view.members.length === 2, 3000);
    for (const [k, v] of objs) expect(await c.table('b', 'pets').lookup(k as string)).toEqual([[k, v]]);
  });

  it('async: once the backups caught up (lag 0), a crash loses nothing', async () => {
    const c = await make(['a', 'b', 'c'], 2, 'async');
    const objs: Tuple[] = Array.from({ length: 500 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'pets').insertMany(objs);
    const caughtUp = await eventually(() =>
      ['a', 'b', 'c'].every((id) => {
        const r = c.node(id).health().replication.pets;
        return r !== undefined && r.maxLagRecords === 0 && r.outOfSync === 0;
      }),
    );
    expect(caughtUp).toBe(true);
    expect(held(c, 'a').copies + held(c, 'b').copies + held(c, 'c').copies).toBe(500);
    await c.crash('b');
    await eventually(() => c.node('a').view.members.length === 2, 3000);
    for (const [k, v] of objs) expect(await c.table('c', 'pets').lookup(k as string)).toEqual([[k, v]]);
  });

  it('a bag keeps every value of every key through a crash (whole key states replicate)', async () => {
    const c = memoryCluster({
      heartbeatMs: 25,
      failureTimeoutMs: 400,
      callTimeoutMs: 2000,
      retry: { attempts: 60, baseMs: 5, maxMs: 50 },
    });
    cluster = c;
    const defs: SuiteTableDef[] = [
      { name: 'bag', type: 'bag', placement: 'shards', localShards: 2, replicas: 2, replicationMode: 'sync' },
    ];
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: defs });
    const bag = c.table('a', 'bag');
    for (let i = 0; i < 100; i++)
      await bag.insertMany([
        [`k${i}`, 1],
        [`k${i}`, 2],
        [`k${i}`, 3],
      ]);
    for (let i = 0; i < 100; i += 2) await bag.deleteObject([`k${i}`, 2]);
    await c.crash('b');
    await eventually(() => c.node('a').view.members.length === 2, 3000);
    for (let i = 0; i < 100; i++) {
      const want = i % 2 === 0 ? [1, 3] : [1, 2, 3];
      const rows = await c.table('c', 'bag').lookup(`k${i}`);
      expect(rows.map((r) => r[1]).sort()).toEqual(want);
    }
    expect(await c.table('a', 'bag').size()).toBe(250);
  });

  it('a graceful join and leave keep every key and its copies', async () => {
    const c = await make(['a', 'b', 'c'], 2, 'sync');
    const objs: Tuple[] = Array.from({ length: 500 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'pets').insertMany(objs);
    await c.start('d', { tables: tables(2, 'sync'), localShards: { pets: 1 } });
    await c.leave('b');
    for (const [k, v] of objs) expect(await c.table('d', 'pets').lookup(k as string)).toEqual([[k, v]]);
    expect(await c.table('a', 'pets').size()).toBe(500);
    const refilled = await eventually(() => {
      let copies = 0;
      for (const id of ['a', 'c', 'd']) copies += held(c, id).copies;
      return copies === 500;
    }, 5000);
    expect(refilled).toBe(true);
  });
});

describe('shards replication: options', () => {
  function node(): ClusterNode {
    return new ClusterNode({ nodeId: 'a', transport: new MemoryNetwork().createTransport('a') });
  }

  it('refuses bad replicas and replicationMode values with SC_ERR_BAD_ARG naming the option', () => {
    const n = node();
    const bad = (options: Record<string, unknown>, option: string) => {
      try {
        n.table('t', { placement: 'shards', ...options });
      } catch (e) {
        expect(SuperCacheError.is(e) && e.code).toBe('SC_ERR_BAD_ARG');
        expect((e as SuperCacheError).details?.option).toBe(option);
        expect((e as Error).message).toContain(option);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(options)}`);
    };
    bad({ replicas: 0 }, 'replicas');
    bad({ replicas: 8 }, 'replicas');
    bad({ replicas: 1.5 }, 'replicas');
    bad({ replicas: '2' }, 'replicas');
    bad({ replicas: 2, replicationMode: 'eventual' }, 'replicationMode');
    bad({ replicas: 2, hash: () => 0 }, 'replicas');
    bad({ replicas: 2, keyPos: 1, partitionPos: 0 }, 'replicas');
    expect(() => n.table('p', { placement: 'partitions', replicas: 2 })).toThrow(/'shards' tables/);
  });

  it('refuses a node that opens the table with another replicas or mode (SC_ERR_CONFIG_MISMATCH)', async () => {
    const c = await make(['a'], 2, 'sync');
    await expect(c.start('b', { tables: tables(3, 'sync'), localShards: { pets: 1 } })).rejects.toMatchObject(
      { code: 'SC_ERR_CONFIG_MISMATCH', details: { field: 'replicas' } },
    );
    await expect(
      c.start('e', { tables: tables(2, 'async'), localShards: { pets: 1 } }),
    ).rejects.toMatchObject({ code: 'SC_ERR_CONFIG_MISMATCH', details: { field: 'replicationMode' } });
  });
});
