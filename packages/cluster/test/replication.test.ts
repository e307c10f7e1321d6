/**
 * Replication on the memory transport: replica sets, the three modes,
 * failover by promotion, refill, reads by mode, and a minority side, each
 * under a bounded load loop whose every acknowledged write is checked.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicationMode } from '../src/replicator.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually } from './cluster-suite.js';
import { expectClean, LoadModel, type LoadReport, type LoadTarget, tableTarget } from './replication-load.js';

const TABLES = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 16 }] as const;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function make(
  ids: readonly string[],
  rf: number,
  mode: ReplicationMode,
  delayMs = 0,
): Promise<MemoryCluster> {
  const c = memoryCluster({
    // A delay on every message makes replication lag behind the primary, as on a network.
    delayMs,
    heartbeatMs: 25,
    failureTimeoutMs: 400,
    callTimeoutMs: 2000,
    retry: { attempts: 60, baseMs: 5, maxMs: 50 },
    config: { replicationFactor: rf, replicationMode: mode, numPartition: 16 },
  });
  cluster = c;
  for (const id of ids)
    await c.start(id, {
      tables: TABLES,
      config: { replicationFactor: rf, replicationMode: mode, numPartition: 16 },
    });
  return c;
}

function target(c: MemoryCluster, id: string): LoadTarget {
  return tableTarget(c, id, 'set');
}

/** Runs load, kills `victim` a third of the way in, keeps the load going, then checks every key. */
async function loadThroughCrash(
  c: MemoryCluster,
  victim: string,
  all: readonly string[],
): Promise<LoadReport> {
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
  });
  await new Promise((r) => setTimeout(r, 300));
  await c.crash(victim);
  killed = true;
  await load;
  const survivor = alive()[0] as string;
  expect(await eventually(() => !c.node(survivor).view.members.includes(victim), 3000)).toBe(true);
  return model.verify(target(c, survivor));
}

describe('replica sets', () => {
  it('keeps replicationFactor copies of every partition on distinct nodes, primary first', async () => {
    const c = await make(['a', 'b', 'c', 'd'], 3, 'sync');
    const t = c.node('a').getTable('set');
    if (t === undefined) throw new Error('no table');
    for (let p = 0; p < 16; p++) {
      const copies = t.replicasOf(p);
      expect(new Set(copies).size).toBe(3);
      expect(copies[0]).toBe(t.ownerOfPartition(p).node);
    }
    const objs: Tuple[] = Array.from({ length: 200 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'set').insertMany(objs);
    // Every object is on exactly its three copies.
    for (const [k] of objs) {
      const p = t.shardOf(k as string);
      const holders = ['a', 'b', 'c', 'd'].filter(
        (id) =>
          (c
            .node(id)
            .getTable('set')
            ?.shards.table(p)
            .lookup(k as string).length ?? 0) === 1,
      );
      expect(holders.sort()).toEqual([...t.replicasOf(p)].sort());
    }
  });

  it('with fewer hosts than the factor, every host holds a copy', async () => {
    const c = await make(['a', 'b'], 3, 'sync');
    await c.table('a', 'set').insert(['x', 1]);
    for (const id of ['a', 'b']) {
      const t = c.node(id).getTable('set');
      expect(t?.shards.table(t.shardOf('x')).lookup('x')).toEqual([['x', 1]]);
    }
  });

  it('a membership change moves only the copies whose ranking changed', async () => {
    const c = await make(['a', 'b', 'c'], 2, 'sync');
    const t = c.node('a').getTable('set');
    if (t === undefined) throw new Error('no table');
    const before = Array.from({ length: 16 }, (_x, p) => [...t.replicasOf(p)]);
    await c.start('d', {
      tables: TABLES,
      config: { replicationFactor: 2, replicationMode: 'sync', numPartition: 16 },
    });
    for (let p = 0; p < 16; p++) {
      const after = t.replicasOf(p);
      const kept = (before[p] as string[]).filter((n) => after.includes(n));
      // Only d can take a slot; every other copy stays where it was.
      expect(after.filter((n) => !kept.includes(n)).every((n) => n === 'd')).toBe(true);
    }
  });
});

describe.each([
  [2, 'sync'],
  [3, 'sync'],
  [3, 'strong'],
] as const)('RF %i %s: a node dies under load', (rf, mode) => {
  it.each(['a', 'c'])(
    'kill -9 of %s (a leads): nothing acknowledged is lost, no stale read, no miss',
    async (victim) => {
      const ids = ['a', 'b', 'c'];
      const c = await make(ids, rf, mode, 2);
      const r = await loadThroughCrash(c, victim, ids);
      expectClean(r);
    },
  );
});

describe('failover', () => {
  it('a write to a partition whose primary just died waits out the failover instead of failing', async () => {
    const c = memoryCluster({
      heartbeatMs: 25,
      failureTimeoutMs: 400,
      callTimeoutMs: 2000,
      // Few, short attempts: the failover takes far longer than they do.
      retry: { attempts: 3, baseMs: 5, maxMs: 20 },
      config: { replicationFactor: 2, replicationMode: 'sync', numPartition: 16 },
    });
    cluster = c;
    for (const id of ['a', 'b', 'c'])
      await c.start(id, {
        tables: TABLES,
        config: { replicationFactor: 2, replicationMode: 'sync', numPartition: 16 },
      });
    const t = c.node('a').getTable('set');
    if (t === undefined) throw new Error('no table');
    const keys = Array.from({ length: 200 }, (_x, i) => `f${i}`).filter(
      (k) => t.replicasOf(t.shardOf(k))[0] === 'c',
    );
    await c.table('a', 'set').insert([keys[0] as string, 0]);
    await c.crash('c');
    // Acknowledged only after the leader promoted c's backup; no error in between.
    await c.table('a', 'set').insert([keys[0] as string, 1]);
    await c.table('a', 'set').insert([keys[1] as string, 1]);
    expect(c.node('a').view.members).not.toContain('c');
    expect(await c.table('b', 'set').lookup(keys[0] as string)).toEqual([[keys[0], 1]]);
  });
});

describe('async mode', () => {
  it('a crash loses at most what the backups lagged at the moment of the fault', async () => {
    const ids = ['a', 'b', 'c'];
    const c = await make(ids, 2, 'async', 2);
    const model = new LoadModel();
    let lagAtKill = -1;
    const load = model.run({
      nodes: () => ids.filter((id) => c.nodes.has(id) && id !== 'c'),
      target: (id) => target(c, id),
      keys: 120,
      writers: 6,
      maxOpsPerWriter: 300,
      maxMs: 3000,
      readRatio: 0.2,
    });
    await new Promise((r) => setTimeout(r, 300));
    const repl = c.node('c').getTable('set')?.replicator;
    lagAtKill = (repl?.lag() ?? []).reduce((n, l) => n + l.records, 0);
    await c.crash('c');
    await load;
    await eventually(() => !c.node('a').view.members.includes('c'), 3000);
    const r = await model.verify(target(c, 'a'));
    expect(r.phantoms).toEqual([]);
    expect(lagAtKill).toBeGreaterThanOrEqual(0);
    expect(r.lost.length).toBeLessThanOrEqual(lagAtKill);
  });

  it('measures lag per partition and backup, back to zero once quiet', async () => {
    const c = await make(['a', 'b', 'c'], 3, 'async');
    await c.table('a', 'set').insertMany(Array.from({ length: 300 }, (_x, i) => [`k${i}`, i] as Tuple));
    const quiet = await eventually(
      () =>
        ['a', 'b', 'c'].every((id) =>
          (c.node(id).getTable('set')?.replicator?.lag() ?? []).every((l) => l.records === 0 && l.inSync),
        ),
      3000,
    );
    expect(quiet).toBe(true);
    const lag = c.node('a').getTable('set')?.replicator?.lag() ?? [];
    expect(lag.length).toBeGreaterThan(0);
  });
});

describe('health', () => {
  it('reports the factor, the copies, the shortfall and per-backup lag of each table', async () => {
    const c = await make(['a', 'b'], 3, 'sync');
    await c.table('a', 'set').insertMany(Array.from({ length: 50 }, (_x, i) => [`k${i}`, i] as Tuple));
    const r = c.node('a').health().replication.set;
    expect(r).toMatchObject({
      placement: 'partitions',
      factor: 3,
      copies: 2,
      shortfall: 1,
      mode: 'sync',
      hosts: 2,
    });
    const led = c.node('a').getTable('set')?.ownedShards().length ?? 0;
    expect(r?.primaries).toBe(led);
    expect(r?.backups).toBe(16 - led);
    // One backup (b) per partition a leads, caught up: sync waited for it.
    expect(r?.lag.length).toBe(led);
    expect(r?.lag.every((l) => l.backup === 'b' && l.records === 0 && l.inSync)).toBe(true);
    expect(r?.maxLagRecords).toBe(0);
    await c.start('c', {
      tables: TABLES,
      config: { replicationFactor: 3, replicationMode: 'sync', numPartition: 16 },
    });
    const ok = await eventually(() => c.node('a').health().replication.set?.outOfSync === 0, 3000);
    expect(ok).toBe(true);
    expect(c.node('a').health().replication.set).toMatchObject({
      copies: 3,
      shortfall: 0,
      backups: 16 - (c.node('a').getTable('set')?.ownedShards().length ?? 0),
    });
  });

  it('counts records a lagging backup has not acknowledged', async () => {
    const c = await make(['a', 'b'], 2, 'async', 20);
    const writes = Array.from({ length: 40 }, (_x, i) => c.table('a', 'set').insert([`k${i}`, i]));
    await Promise.all(writes);
    const r = c.node('a').health().replication.set;
    // 20 ms per message: the backups cannot have acknowledged everything yet.
    expect((r?.maxLagRecords ?? 0) + (r?.outOfSync ?? 0)).toBeGreaterThan(0);
  });
});

describe('anti-entropy', () => {
  it('finds a backup whose copy differs at the same sequence and resyncs it', async () => {
    const c = await make(['a', 'b'], 2, 'sync');
    const a = c.node('a').getTable('set');
    const b = c.node('b').getTable('set');
    if (a === undefined || b === undefined) throw new Error('no table');
    const p = a.ownedShards()[0] as number;
    const keys = Array.from({ length: 400 }, (_x, i) => `e${i}`).filter((k) => a.shardOf(k) === p);
    for (const k of keys.slice(0, 5)) await c.table('a', 'set').insert([k, 1]);
    // Damage b's copy behind replication's back: a stray object, a lost one.
    b.shards.table(p).insert(['stray', 0]);
    b.shards.table(p).delete(keys[0] as string);
    const before = c.node('a').stats().antiEntropyRepairs;
    const healed = await eventually(
      () =>
        b.shards.table(p).lookup('stray').length === 0 &&
        b.shards.table(p).lookup(keys[0] as string).length === 1,
      5000,
    );
    expect(healed).toBe(true);
    expect(c.node('a').stats().antiEntropyRepairs).toBeGreaterThan(before);
  });

  it('leaves identical copies alone', async () => {
    const c = await make(['a', 'b'], 2, 'sync');
    await c.table('a', 'set').insertMany(Array.from({ length: 200 }, (_x, i) => [`k${i}`, i] as Tuple));
    await new Promise((r) => setTimeout(r, 16 * 60));
    expect(c.node('a').stats().antiEntropyRepairs).toBe(0);
    expect(c.node('b').stats().antiEntropyRepairs).toBe(0);
  });
});

describe('refill', () => {
  it('refills a new copy after a crash, and a second crash during the refill loses nothing (sync)', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const c = await make(ids, 3, 'sync');
    const objs: Tuple[] = Array.from({ length: 3000 }, (_x, i) => [`k${i}`, i]);
    await c.table('a', 'set').insertMany(objs);
    await c.crash('d');
    // While the leader removes d and new copies are being refilled, another node dies.
    await new Promise((r) => setTimeout(r, 420));
    await c.crash('c');
    await eventually(() => c.node('a').view.members.length === 2, 3000);
    for (const [k, v] of objs) expect(await c.table('b', 'set').lookup(k as string)).toEqual([[k, v]]);
  });

  it('a restarted node with the same id comes back empty and gets its copies again', async () => {
    const c = await make(['a', 'b', 'c'], 2, 'sync');
    await c.table('a', 'set').insert(['k1', 1]);
    await c.crash('c');
    await c.table('a', 'set').insert(['k2', 2]);
    await c.start('c', {
      tables: TABLES,
      config: { replicationFactor: 2, replicationMode: 'sync', numPartition: 16 },
    });
    for (const id of ['a', 'b', 'c']) {
      expect(await c.table(id, 'set').lookup('k1')).toEqual([['k1', 1]]);
      expect(await c.table(id, 'set').lookup('k2')).toEqual([['k2', 2]]);
    }
  });
});

describe('read modes', () => {
  it('local reads this node’s copy, quorum returns the newest, primary the primary’s', async () => {
    const c = await make(['a', 'b', 'c'], 3, 'sync');
    await c.table('a', 'set').insert(['x', 1]);
    for (const id of ['a', 'b', 'c']) {
      expect(await c.table(id, 'set').lookup('x', { readMode: 'primary' })).toEqual([['x', 1]]);
      expect(await c.table(id, 'set').lookup('x', { readMode: 'quorum' })).toEqual([['x', 1]]);
    }
    // Every node holds a copy (RF 3 on 3 nodes): a local read makes no remote call.
    const t = c.node('b').getTable('set');
    await eventually(() => t?.shards.table(t.shardOf('x')).lookup('x').length === 1, 2000);
    const before = c.node('b').stats().remoteCalls;
    expect(await c.table('b', 'set').lookup('x', { readMode: 'local' })).toEqual([['x', 1]]);
    expect(c.node('b').stats().remoteCalls).toBe(before);
  });

  it('local reads see this instance’s own writes, even on a backup that lags (async)', async () => {
    const c = await make(['a', 'b', 'c'], 3, 'async', 15);
    const a = c.node('a').getTable('set');
    if (a === undefined) throw new Error('no table');
    // Keys a is only a backup of, so its local copy is fed by replication.
    const keys = Array.from({ length: 400 }, (_x, i) => `s${i}`)
      .filter((k) => a.replicasOf(a.shardOf(k))[0] !== 'a')
      .slice(0, 20);
    // Another node's writes keep the primaries' outboxes to a busy: a lags.
    const noise = Promise.all(
      Array.from({ length: 300 }, (_x, i) => c.table('b', 'set').insert([`n${i}`, i])),
    );
    const seen: unknown[] = [];
    for (const [i, k] of keys.entries()) {
      await c.table('a', 'set').insert([k, i]);
      seen.push(await c.table('a', 'set').lookup(k, { readMode: 'local' }));
    }
    await noise;
    expect(keys.length).toBe(20);
    expect(seen).toEqual(keys.map((k, i) => [[k, i]]));
  });

  it('quorum reads under a crash never return a value older than the last acknowledged write', async () => {
    const ids = ['a', 'b', 'c'];
    const c = await make(ids, 3, 'sync');
    const model = new LoadModel();
    const load = model.run({
      nodes: () => ids.filter((id) => c.nodes.has(id) && id !== 'b'),
      target: (id) => target(c, id),
      keys: 60,
      writers: 4,
      maxOpsPerWriter: 300,
      maxMs: 3000,
      readMode: 'quorum',
    });
    await new Promise((r) => setTimeout(r, 200));
    await c.crash('b');
    await load;
    await model.verify(target(c, 'a'), 'quorum');
    expectClean(model.report);
  });
});

describe('a network split', () => {
  it('the minority refuses sync writes; the majority serves every key; nothing it acknowledged is lost after healing', async () => {
    const ids = ['a', 'b', 'c'];
    const c = await make(ids, 3, 'sync');
    await c.table('a', 'set').insertMany(Array.from({ length: 100 }, (_x, i) => [`k${i}`, 0] as Tuple));
    c.net.partition(['c'], ['a', 'b']);
    await new Promise((r) => setTimeout(r, 350));
    const refused = await c
      .table('c', 'set')
      .insert(['k1', 99])
      .catch((e: unknown) => e);
    expect(SuperCacheError.is(refused)).toBe(true);
    expect((refused as SuperCacheError).retryable).toBe(true);
    const model = new LoadModel();
    await model.run({
      nodes: () => ['a', 'b'],
      target: (id) => target(c, id),
      keys: 60,
      writers: 4,
      maxOpsPerWriter: 150,
      maxMs: 2000,
    });
    c.net.heal();
    expect(
      await eventually(() => c.node('a').view.members.includes('c') && c.node('c').leaseHeld, 5000),
    ).toBe(true);
    await model.verify(target(c, 'c'));
    expectClean(model.report);
    for (let i = 0; i < 100; i++) expect(await c.table('c', 'set').lookup(`k${i}`)).not.toEqual([]);
  });
});
