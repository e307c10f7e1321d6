import { ClusterNode, MemoryNetwork } from '@supercache/cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProvider, parsePeer } from '../src/cluster.js';
import { _, $, PartitionedTable, SuperCache, type Tuple } from '../src/index.js';

const FAST = { heartbeatMs: 50, failureTimeoutMs: 1000 };

interface Started {
  caches: SuperCache[];
  tables: PartitionedTable[];
}

let started: Started = { caches: [], tables: [] };

afterEach(async () => {
  for (const t of started.tables) await t.stop().catch(() => {});
  for (const c of [...started.caches].reverse()) await c.stop().catch(() => {});
  started = { caches: [], tables: [] };
});

async function superCluster(ids: string[], extra: Record<string, unknown> = {}) {
  const net = new MemoryNetwork({ seed: 7 });
  const caches: SuperCache[] = [];
  for (const id of ids) {
    const transport = net.createTransport(id);
    const cache = new SuperCache({
      cluster: 'distributed',
      nodeId: id,
      numPartition: 8,
      replicationFactor: 1,
      peers: caches.map((_c, i) => `${ids[i]}=${ids[i]}`),
      clusterProvider: clusterProvider({ transport, ...FAST }),
      ...extra,
    });
    await cache.start();
    caches.push(cache);
    started.caches.push(cache);
  }
  return { net, caches };
}

describe('SuperCache in distributed mode (memory transport)', () => {
  it('reads through one node what another node wrote, for every key', async () => {
    const { caches } = await superCluster(['a', 'b', 'c']);
    const [a, b, c] = caches as [SuperCache, SuperCache, SuperCache];
    expect(a.distributed).toBe(true);
    const tuples: Tuple[] = Array.from({ length: 300 }, (_v, i) => [`k${i}`, i]);
    await a.putBatch(tuples);
    for (const t of tuples) expect(await b.get([t[0] as string])).toEqual([t]);
    // Every node serves a share, and the shares add up.
    const stats = await c.clusterStats();
    expect(stats.mode).toBe('distributed');
    expect(stats.nodes.map((n) => n.nodeId).sort()).toEqual(['a', 'b', 'c']);
    expect(stats.nodes.reduce((s, n) => s + n.size, 0)).toBe(300);
    expect(stats.nodes.reduce((s, n) => s + n.primaryPartitions, 0)).toBe(8);
    expect(stats.nodes.filter((n) => n.size > 0).length).toBeGreaterThan(1);
  });

  it('runs fan-out reads and deletes across nodes', async () => {
    const { caches } = await superCluster(['a', 'b']);
    const [a, b] = caches as [SuperCache, SuperCache];
    await a.putBatch(Array.from({ length: 50 }, (_v, i) => [i, i % 2 === 0 ? 'even' : 'odd'] as Tuple));
    expect((await b.getByMatchObject([_, 'even'])).length).toBe(25);
    expect((await b.getByMatch([$(1), 'odd'])).length).toBe(25);
    const sum = await a.scan((o, acc: number) => acc + (o[0] as number), 0);
    expect(sum).toBe((49 * 50) / 2);
    await b.deleteByMatch([_, 'odd']);
    expect((await a.getByMatchObject([_, _])).length).toBe(25);
  });

  it('loses no update(key, default, fn) when nodes race on one key (compare-and-set on the owner)', async () => {
    const { caches } = await superCluster(['a', 'b', 'c']);
    const runs = Array.from({ length: 60 }, (_v, i) =>
      caches[i % 3]?.keyValue<string, number>('kv').update('n', 1, (v) => v + 1),
    );
    await Promise.all(runs);
    expect(await caches[1]?.keyValue('kv').get('n')).toBe(60);
  });

  it('serves structure reads in every readMode and keys a struct by id by default', async () => {
    const { caches } = await superCluster(['a', 'b']);
    const [a, b] = caches as [SuperCache, SuperCache];
    class Pet {
      id = 0;
      name = '';
    }
    await a.struct(Pet).add(Object.assign(new Pet(), { id: 9, name: 'Rex' }));
    for (let i = 0; i < 20; i++) await a.keyValue('kv').add(`k${i}`, i);
    for (const readMode of ['local', 'primary', 'quorum'] as const) {
      expect((await b.struct(Pet).get(9, { readMode }))?.name).toBe('Rex');
      for (let i = 0; i < 20; i++) expect(await b.keyValue('kv').get(`k${i}`, null, { readMode })).toBe(i);
      expect(await b.keyValue('kv').count({ readMode })).toBe(20);
    }
  });

  it('addresses a partition by index on whichever node owns it', async () => {
    const { caches } = await superCluster(['a', 'b', 'c']);
    const [a, b] = caches as [SuperCache, SuperCache];
    for (let idx = 0; idx < 8; idx++) await a.putPartitionByIdx([`p${idx}`, idx], idx);
    for (let idx = 0; idx < 8; idx++)
      expect(await b.getPartitionByIdx(`p${idx}`, idx)).toEqual([[`p${idx}`, idx]]);
    await b.deletePartitionByIdx('p3', 3);
    expect(await a.getPartitionByIdx('p3', 3)).toEqual([]);
  });

  it('keeps queue, stack and counters atomic when nodes race on them', async () => {
    const { caches } = await superCluster(['a', 'b', 'c']);
    const [a, b, c] = caches as [SuperCache, SuperCache, SuperCache];
    const adds = Array.from({ length: 300 }, (_v, i) => (i % 2 === 0 ? a : b).queue('jobs').add(i));
    await Promise.all(adds);
    const outs = await Promise.all(
      Array.from({ length: 300 }, (_v, i) => [a, b, c][i % 3]?.queue('jobs').out()),
    );
    expect(outs.map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_v, i) => i));
    expect(await c.queue('jobs').out('empty')).toBe('empty');

    await Promise.all(
      Array.from({ length: 200 }, (_v, i) => [a, b, c][i % 3]?.keyValue('ctr').increment('hits')),
    );
    expect(await c.keyValue('ctr').get('hits')).toBe(200);

    await a.stack('s').push(1);
    await b.stack('s').push(2);
    expect(await c.stack('s').getAll()).toEqual([2, 1]);
  });

  it('refuses a node whose config differs, naming the field and both values', async () => {
    const { net } = await superCluster(['a']);
    const transport = net.createTransport('b');
    const bad = new SuperCache({
      cluster: 'distributed',
      nodeId: 'b',
      numPartition: 16,
      replicationFactor: 1,
      peers: ['a=a'],
      clusterProvider: clusterProvider({ transport, ...FAST, joinAttempts: 1 }),
    });
    const err = await bad.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'SC_ERR_CONFIG_MISMATCH' });
    expect(String((err as Error).message)).toMatch(/numPartition/);
    expect(String((err as Error).message)).toMatch(/8/);
    expect(String((err as Error).message)).toMatch(/16/);
  });

  it('defaults to one copy per partition and keeps replicationFactor copies when asked (the seed cases)', async () => {
    const net = new MemoryNetwork({ seed: 11 });
    const one = new SuperCache({
      cluster: 'distributed',
      nodeId: 'solo',
      numPartition: 4,
      clusterProvider: clusterProvider({ transport: net.createTransport('solo'), ...FAST }),
    });
    expect(one.config.replicationFactor).toBe(1);
    const { net: net2, caches } = await superCluster(['a', 'b', 'c'], {
      replicationFactor: 2,
      replicationMode: 'sync',
    });
    const a = caches[0] as SuperCache;
    await a.put(['k1', 'v1']);
    // On its primary and its replica within 2 s: two of the three nodes hold it locally.
    const holders = async () => caches.filter((x) => x.local.get(['k1']).length === 1).length;
    const deadline = Date.now() + 2000;
    while ((await holders()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await holders()).toBe(2);
    // A node stops hard: the survivors still return the record, and keep taking writes.
    const vi = [1, 2].find((i) => (caches[i] as SuperCache).local.get(['k1']).length === 1) ?? 1;
    const victim = caches[vi] as SuperCache;
    net2.kill(['a', 'b', 'c'][vi] as string);
    await victim.stop().catch(() => {});
    started.caches = started.caches.filter((x) => x !== victim);
    const alive = caches.filter((x) => x !== victim);
    for (const x of alive) expect(await x.get(['k1'])).toEqual([['k1', 'v1']]);
    await (alive[0] as SuperCache).put(['k2', 'v2']);
    for (const x of alive) expect(await x.get(['k2'])).toEqual([['k2', 'v2']]);
    // The stopped node comes back under its id: every key is readable through it.
    const id = ['a', 'b', 'c'][vi] as string;
    const back = new SuperCache({
      cluster: 'distributed',
      nodeId: id,
      numPartition: 8,
      replicationFactor: 2,
      replicationMode: 'sync',
      peers: ['a', 'b', 'c'].filter((x) => x !== id).map((x) => `${x}=${x}`),
      clusterProvider: clusterProvider({ transport: net2.createTransport(id), ...FAST }),
    });
    await back.start();
    started.caches.push(back);
    for (const x of [...alive, back]) {
      expect(await x.get(['k1'])).toEqual([['k1', 'v1']]);
      expect(await x.get(['k2'])).toEqual([['k2', 'v2']]);
    }
    // Two copies of each of the 8 partitions: 8 primaries and 8 backups in all.
    const stats = await back.clusterStats();
    expect(stats.nodes.reduce((n, m) => n + m.primaryPartitions, 0)).toBe(8);
    expect(stats.nodes.reduce((n, m) => n + m.replicaPartitions, 0)).toBe(8);
  });

  it('hands data off when a node stops gracefully', async () => {
    const { caches } = await superCluster(['a', 'b', 'c']);
    const [a, b, c] = caches as [SuperCache, SuperCache, SuperCache];
    await a.putBatch(Array.from({ length: 200 }, (_v, i) => [`k${i}`, i] as Tuple));
    await c.keyValue('kv').add('x', 1);
    await c.stop();
    started.caches = started.caches.filter((x) => x !== c);
    for (let i = 0; i < 200; i++) expect(await b.get([`k${i}`])).toEqual([[`k${i}`, i]]);
    expect(await a.keyValue('kv').get('x')).toBe(1);
  });
});

describe('PartitionedTable with distributed: true (memory transport)', () => {
  it('spreads keys over every node, keeps them reachable, and reports joins to callbacks', async () => {
    const net = new MemoryNetwork({ seed: 3 });
    const added: string[] = [];
    const table = await PartitionedTable.start({
      name: 'dist',
      distributed: true,
      nodeId: 'n1',
      partitions: 2,
      clusterProvider: clusterProvider({ transport: net.createTransport('n1'), ...FAST }),
      callbacks: { nodeAdded: (n: string) => added.push(n) },
    });
    started.tables.push(table);
    // Two more nodes host the same table with their own partition counts
    // (bare nodes, each with its own shard count).
    const others: ClusterNode[] = [];
    for (const [i, id] of ['n2', 'n3'].entries()) {
      const n = new ClusterNode({
        ...FAST,
        nodeId: id,
        transport: net.createTransport(id),
        peers: [{ id: 'n1', address: 'n1' }],
      });
      const t = n.table('dist', { placement: 'shards', localShards: i + 3 });
      await n.start();
      await t.ready();
      others.push(n);
    }
    try {
      for (let i = 0; i < 200; i++) await table.insert([`key${i}`, i]);
      for (let i = 0; i < 200; i++) expect(await table.lookup(`key${i}`)).toEqual([[`key${i}`, i]]);
      expect(await table.size()).toBe(200);
      const here = table.local.size;
      const there = others.map((n) => n.getTable('dist')?.ownedSize() ?? 0);
      expect(here + (there[0] as number) + (there[1] as number)).toBe(200);
      expect(there.every((x) => x > 0)).toBe(true);
      // Every node that starts hosting the table is reported, this one included.
      expect(added.sort()).toEqual(['n1', 'n2', 'n3']);
    } finally {
      for (const n of others) await n.stop();
    }
  });

  it('runs two nodes of one table in one process: names are scoped per node', async () => {
    const net = new MemoryNetwork({ seed: 5 });
    const nodes: PartitionedTable[] = [];
    for (const id of ['p1', 'p2']) {
      const t = await PartitionedTable.start({
        name: 'pair',
        distributed: true,
        nodeId: id,
        partitions: 2,
        peers: nodes.map((n) => `${n.nodeId}=${n.nodeId}`),
        clusterProvider: clusterProvider({ transport: net.createTransport(id), ...FAST }),
      });
      started.tables.push(t);
      nodes.push(t);
    }
    const [a, b] = nodes as [PartitionedTable, PartitionedTable];
    expect(PartitionedTable.whereis('pair', 'p1')).toBe(a);
    expect(PartitionedTable.whereis('pair', 'p2')).toBe(b);
    expect(() => PartitionedTable.whereis('pair')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    for (let i = 0; i < 50; i++) await a.insert([`k${i}`, i]);
    for (let i = 0; i < 50; i++) expect(await b.lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
    expect(a.local.size + b.local.size).toBe(50);
    expect(a.local.size).toBeGreaterThan(0);
    expect(b.local.size).toBeGreaterThan(0);
  });

  it('parses peers given as id=url or as a bare url', () => {
    expect(parsePeer('a=http://127.0.0.1:1')).toEqual({ id: 'a', address: 'http://127.0.0.1:1' });
    expect(parsePeer('http://127.0.0.1:2')).toEqual({
      id: 'http://127.0.0.1:2',
      address: 'http://127.0.0.1:2',
    });
    expect(() => parsePeer(' ')).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }));
  });
});
