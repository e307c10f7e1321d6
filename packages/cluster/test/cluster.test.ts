import diagnostics from 'node:diagnostics_channel';
import { $, SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNELS, type HandoffProgressEvent, type ViewChangeEvent } from '../src/events.js';
import type { HealthReport } from '../src/health.js';
import { ClusterNode } from '../src/node.js';
import { MemoryNetwork } from '../src/transport-memory.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually, prng } from './cluster-suite.js';

const SET_ONLY = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 32 }] as const;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function make(options: Parameters<typeof memoryCluster>[0] = {}): MemoryCluster {
  cluster = memoryCluster(options);
  return cluster;
}

async function fill(c: MemoryCluster, via: string, n: number, table = 'set'): Promise<void> {
  const objs: Tuple[] = [];
  for (let i = 0; i < n; i++) objs.push([`k${i}`, i]);
  await c.table(via, table).insertMany(objs);
}

describe('ClusterNode membership', () => {
  it('forms a one-node cluster when no peer answers, and the smallest id leads', async () => {
    const c = make();
    await c.start('m', { tables: SET_ONLY });
    expect(c.node('m').view.members).toEqual(['m']);
    expect(c.node('m').leader).toBe('m');
    await c.start('b', { tables: SET_ONLY });
    await c.start('z', { tables: SET_ONLY });
    for (const id of ['m', 'b', 'z']) expect(c.node(id).leader).toBe('b');
    expect(c.node('z').view.epoch).toBe(c.node('m').view.epoch);
  });

  it('forwards a join to the leader from any member', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    await c.start('b', { tables: SET_ONLY });
    // A node that only knows b: b forwards to the leader a.
    const transport = c.net.createTransport('c');
    const n = new ClusterNode({
      nodeId: 'c',
      transport,
      peers: [{ id: 'b', address: 'b' }],
      heartbeatMs: 50,
    });
    n.table('set', { type: 'set', numPartitions: 32 });
    await n.start();
    c.nodes.set('c', n);
    expect(c.node('a').view.members).toEqual(['a', 'b', 'c']);
  });

  it('finds peers through a discovery function (nodes_mfa)', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    let calls = 0;
    const transport = c.net.createTransport('b');
    const n = new ClusterNode({
      nodeId: 'b',
      transport,
      heartbeatMs: 50,
      refreshMs: 20,
      discover: async () => {
        calls++;
        return [{ id: 'a', address: 'a' }];
      },
    });
    n.table('set', { type: 'set', numPartitions: 32 });
    await n.start();
    c.nodes.set('b', n);
    expect(n.view.members).toEqual(['a', 'b']);
    expect(await eventually(() => calls > 1)).toBe(true);
  });

  it('refuses a table opened with another shape, naming the field', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    let err: unknown;
    try {
      await c.start('b', {
        tables: [{ name: 'set', type: 'bag', placement: 'partitions', numPartitions: 32 }],
      });
    } catch (e) {
      err = e;
    }
    expect(SuperCacheError.is(err) && err.code).toBe('SC_ERR_CONFIG_MISMATCH');
    expect((err as Error).message).toContain('type');
    expect(() => c.node('a').table('set', { type: 'ordered_set', numPartitions: 32 })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_NAME_TAKEN' }),
    );
  });

  it('hosts a table opened after start, with the other hosts handing it its share', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    await c.start('b', { tables: SET_ONLY });
    await fill(c, 'a', 300);
    await c.start('c', { tables: [] });
    const t = c.node('c').table('set', { type: 'set', numPartitions: 32 });
    // Before it hosts, it works as a client.
    expect(await t.router.lookup('k1')).toEqual([['k1', 1]]);
    await t.ready();
    expect(t.ownedSize()).toBeGreaterThan(0);
    expect(
      t.ownedSize() + c.node('a').getTable('set')!.ownedSize() + c.node('b').getTable('set')!.ownedSize(),
    ).toBe(300);
    for (let i = 0; i < 300; i++) expect(await t.router.lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
  });

  it('elects the next smallest id when the leader crashes, and it takes joins', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 100);
    await c.crash('a');
    expect(await eventually(() => c.node('c').view.members.join() === 'b,c', 20_000)).toBe(true);
    expect(c.node('c').leader).toBe('b');
    await c.start('d', { tables: SET_ONLY });
    expect(c.node('b').view.members).toEqual(['b', 'c', 'd']);
    expect(c.node('c').view.epoch).toBe(c.node('b').view.epoch);
  });

  it('merges two clusters that formed at once: the weaker one dissolves into the stronger', async () => {
    const c = make();
    const net = c.net;
    const mk = (id: string, peers: string[]) => {
      const n = new ClusterNode({
        nodeId: id,
        transport: net.createTransport(id),
        peers: peers.map((p) => ({ id: p, address: p })),
        heartbeatMs: 20,
      });
      n.table('set', { type: 'set', numPartitions: 8 });
      c.nodes.set(id, n);
      return n;
    };
    // a knows b, but b is not up yet; b knows nobody: both form alone.
    const a = mk('a', ['b']);
    const b = mk('b', []);
    await a.start();
    await b.start();
    await b.getTable('set')!.router.insert(['only-on-b', 1]);
    expect(a.view.cluster).not.toBe(b.view.cluster);
    expect(await eventually(() => b.view.members.join() === 'a,b' && a.view.members.join() === 'a,b')).toBe(
      true,
    );
    expect(b.view.cluster).toBe(a.view.cluster);
    // b's side lost its writes (documented); the merged cluster works.
    expect(await a.getTable('set')!.router.lookup('only-on-b')).toEqual([]);
    await b.getTable('set')!.router.insert(['k', 2]);
    expect(await a.getTable('set')!.router.lookup('k')).toEqual([['k', 2]]);
  });

  it('never lets an isolated minority remove the majority', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    const epoch = c.node('a').view.epoch;
    c.net.partition(['a'], ['b', 'c']);
    expect(await eventually(() => c.node('b').view.members.join() === 'b,c', 20_000)).toBe(true);
    // a (the old leader, alone) kept its view: no fork.
    expect(c.node('a').view.members).toEqual(['a', 'b', 'c']);
    expect(c.node('a').view.epoch).toBe(epoch);
    c.net.heal();
    // a learns it was removed (its peers answer with a newer epoch) and joins again.
    const rejoined = () =>
      c.node('a').view.epoch > epoch + 1 &&
      c.node('a').view.members.join() === 'a,b,c' &&
      c.node('a').status === 'running';
    expect(await eventually(rejoined, 20_000)).toBe(true);
    expect(c.node('c').view.epoch).toBe(c.node('a').view.epoch);
  });

  it('lets a crashed node that comes back join again, empty', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 100);
    const stale = c.node('c');
    const mine = Array.from({ length: 100 }, (_v, i) => `k${i}`).filter(
      (k) => stale.getTable('set')!.ownerOf(k).node === 'c',
    );
    expect(mine.length).toBeGreaterThan(3);
    const local = () => stale.getTable('set')!.shards.tables.reduce((n, t) => n + t.size, 0);
    expect(local()).toBe(mine.length);
    // What c holds locally at the moment it learns it was removed.
    let heldWhenRemoved: number | undefined;
    stale.on('viewChange', (e: ViewChangeEvent) => {
      if (e.removed.includes('c') && heldWhenRemoved === undefined) heldWhenRemoved = local();
    });
    const net = c.net;
    // c is cut off but keeps running: the leader removes it.
    net.partition(['c'], ['a', 'b']);
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b', 20_000)).toBe(true);
    // While c is away, the majority owns c's keys (empty: rf = 1): one is
    // written again, one deleted, the rest stay absent.
    const [rewritten, deleted] = mine as [string, string];
    await c.table('a', 'set').insert([rewritten, 'new']);
    await c.table('a', 'set').insert([deleted, 'gone-soon']);
    await c.table('b', 'set').delete(deleted);
    net.heal();
    // c learns it was removed (from heartbeats) and joins again.
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b,c', 20_000)).toBe(true);
    expect(await eventually(() => stale.status === 'running' && stale.view.members.includes('c'))).toBe(true);
    // It dropped everything when it learned of its removal, before any handoff.
    expect(heldWhenRemoved).toBe(0);
    // Its old objects never come back: it serves only what the majority holds.
    for (const k of mine) {
      const want = k === rewritten ? [[k, 'new']] : [];
      for (const via of ['a', 'c']) expect(await c.table(via, 'set').lookup(k)).toEqual(want);
    }
    const size = await c.table('c', 'set').size();
    expect(size).toBe(100 - mine.length + 1);
    await c.table('c', 'set').insert(['fresh', 1]);
    expect(await c.table('a', 'set').lookup('fresh')).toEqual([['fresh', 1]]);
  });
});

describe('ClusterBackend routing', () => {
  it('redirects a sender with a stale epoch, which adopts the view and retries', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    await c.start('b', { tables: SET_ONLY });
    await c.start('c', { tables: SET_ONLY });
    await fill(c, 'a', 200);
    // c stops hearing about new views: commits and pings are swallowed.
    const stale = c.node('c');
    const epochBefore = stale.view.epoch;
    stale.transport.handle('sc.viewCommit', () => ({ e: 0 }));
    stale.transport.handle('sc.ping', () => ({ e: 0 }));
    await c.start('d', { tables: SET_ONLY });
    expect(stale.view.epoch).toBe(epochBefore);
    const redirectsBefore = stale.stats().redirects;
    for (let i = 0; i < 200; i++) expect(await c.table('c', 'set').lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
    expect(stale.stats().redirects).toBeGreaterThan(redirectsBefore);
    expect(stale.view.epoch).toBe(c.node('a').view.epoch);
  });

  it('makes a receiver with an older epoch pull the sender view before serving', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    const stale = c.node('c');
    stale.transport.handle('sc.viewCommit', () => ({ e: 0 }));
    stale.transport.handle('sc.ping', () => ({ e: 0 }));
    const before = stale.view.epoch;
    await c.start('d', { tables: SET_ONLY });
    expect(stale.view.epoch).toBe(before);
    // Writes from d (newest view) reach c for the keys c owns: c pulls d's view first.
    await fill(c, 'd', 200);
    expect(stale.view.epoch).toBe(c.node('d').view.epoch);
    for (let i = 0; i < 200; i++) expect(await c.table('a', 'set').lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
  });

  it('stamps every write with an HLC version at the owner and keeps TTL and versions through a handoff', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    await c.start('b', { tables: SET_ONLY });
    const t = c.table('a', 'set');
    for (let i = 0; i < 100; i++) await t.insert([`k${i}`, i], { ttl: 3_600_000 });
    const entries = async (via: string, k: string) =>
      (await c.node(via).getTable('set')!.backend.exec(k, 'lookupEntries', [k])) as Array<
        [Tuple, number, string]
      >;
    const before = new Map<string, [Tuple, number, string]>();
    for (let i = 0; i < 100; i++) {
      const [e] = await entries('a', `k${i}`);
      expect(e).toBeDefined();
      expect(e?.[1]).toBeGreaterThan(Date.now());
      expect(e?.[2]).toMatch(/^[0-9a-f]{12}-[0-9a-f]{6}-[ab]$/);
      before.set(`k${i}`, e as [Tuple, number, string]);
    }
    await c.start('c', { tables: SET_ONLY });
    let moved = 0;
    for (let i = 0; i < 100; i++) {
      const [e] = await entries('c', `k${i}`);
      expect(e).toEqual(before.get(`k${i}`));
      if (c.node('c').getTable('set')!.ownerOf(`k${i}`).node === 'c') moved++;
    }
    expect(moved).toBeGreaterThan(0);
    // A write at the new owner is newer than the version it received.
    for (let i = 0; i < 100; i++) {
      await c.table('b', 'set').insert([`k${i}`, -i]);
      const [e] = await entries('a', `k${i}`);
      expect((e?.[2] ?? '') > (before.get(`k${i}`)?.[2] ?? '')).toBe(true);
    }
  });

  it('splits a multi-key write over owner shards (shards placement)', async () => {
    const c = make();
    const tables = [{ name: 'pets', type: 'set', placement: 'shards', localShards: 3 }] as const;
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables });
    await fill(c, 'b', 300, 'pets');
    let total = 0;
    for (const id of ['a', 'b', 'c']) total += await c.ownedSize(id, 'pets');
    expect(total).toBe(300);
    expect(
      await c
        .node('a')
        .getTable('pets')!
        .router.insertNewMany([
          ['k1', 0],
          ['new', 1],
        ]),
    ).toBe(false);
    expect(
      await c
        .node('a')
        .getTable('pets')!
        .router.insertNewMany([
          ['n1', 0],
          ['n2', 1],
          ['n3', 2],
        ]),
    ).toBe(true);
    expect(await c.table('c', 'pets').size()).toBe(303);
    await c.table('a', 'pets').deleteObject(['n1', 0]);
    expect(await c.table('b', 'pets').member('n1')).toBe(false);
  });

  it('reaps idle server-side cursors', async () => {
    const c = make({ cursorIdleMs: 100 });
    for (const id of ['a', 'b']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 100);
    const t = c.table('a', 'set');
    const page = await t.selectPage([[[$(1), $(2)], [], [$(1)]]], 10);
    expect(page.continuation).toBeDefined();
    const open = () =>
      c.node('a').getTable('set')!.shards.openCursors + c.node('b').getTable('set')!.shards.openCursors;
    expect(open()).toBeGreaterThan(0);
    expect(await eventually(() => open() === 0, 10_000)).toBe(true);
    await expect(t.selectPage(page.continuation!)).rejects.toMatchObject({ code: 'SC_ERR_BAD_CONTINUATION' });
  });
});

describe('handoff', () => {
  it('keeps serving while data moves: writes during the stream and the switch all land', async () => {
    const c = make({ delayMs: 2, handoffChunkSize: 25 });
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 600);
    let inHandoff = false;
    let opsDuring = 0;
    c.node('a').on('handoffProgress', (e: HandoffProgressEvent) => {
      if (e.role === 'leader' && e.phase === 'start') inHandoff = true;
      if (e.role === 'leader' && (e.phase === 'committed' || e.phase === 'aborted')) inHandoff = false;
    });
    let done = false;
    const join = c.start('d', { tables: SET_ONLY }).then(() => {
      done = true;
    });
    const rnd = prng(3);
    const model = new Map<string, number | null>();
    const errors: string[] = [];
    let ops = 0;
    while ((!done || ops < 100) && ops < 3000) {
      const k = `k${Math.floor(rnd() * 600)}`;
      const via = ['a', 'b', 'c'][Math.floor(rnd() * 3)] as string;
      try {
        if (rnd() < 0.2) {
          await c.table(via, 'set').delete(k);
          model.set(k, null);
        } else {
          await c.table(via, 'set').insert([k, ops]);
          model.set(k, ops);
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
      if (inHandoff) opsDuring++;
      ops++;
    }
    await join;
    expect(errors).toEqual([]);
    expect(opsDuring).toBeGreaterThan(0);
    for (let i = 0; i < 600; i++) {
      const k = `k${i}`;
      const want = model.has(k) ? model.get(k) : i;
      expect(await c.table('d', 'set').lookup(k)).toEqual(want === null ? [] : [[k, want]]);
    }
  });

  it('lets the leader leave under load; the next smallest id leads', async () => {
    const c = make({ delayMs: 1, handoffChunkSize: 40 });
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'b', 400);
    let left = false;
    const leaving = c.leave('a').then(() => {
      left = true;
    });
    const model = new Map<string, number | null>();
    const errors: string[] = [];
    const misses: string[] = [];
    const rnd = prng(9);
    let ops = 0;
    while ((!left || ops < 100) && ops < 3000) {
      const k = `k${Math.floor(rnd() * 400)}`;
      const via = rnd() < 0.5 ? 'b' : 'c';
      const t = c.table(via, 'set');
      try {
        const dice = rnd();
        if (dice < 0.3) {
          await t.insert([k, ops]);
          model.set(k, ops);
        } else if (dice < 0.4) {
          await t.delete(k);
          model.set(k, null);
        } else {
          const got = await t.lookup(k);
          const want = model.has(k) ? model.get(k) : Number(k.slice(1));
          if (JSON.stringify(got) !== JSON.stringify(want === null ? [] : [[k, want]])) misses.push(k);
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
      ops++;
    }
    await leaving;
    expect(errors).toEqual([]);
    expect(misses).toEqual([]);
    expect(c.node('b').view.members).toEqual(['b', 'c']);
    expect(c.node('c').leader).toBe('b');
    await c.start('d', { tables: SET_ONLY });
    expect(c.node('c').view.members).toEqual(['b', 'c', 'd']);
  });

  it('aborts a handoff whose source crashes; the join is retried and nothing else is lost', async () => {
    const c = make({ delayMs: 1, handoffChunkSize: 10, joinAttempts: 20 });
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 300);
    const owned: Record<string, number> = {};
    for (const id of ['a', 'b']) owned[id] = await c.ownedSize(id, 'set');
    let killed = false;
    const aborted: string[] = [];
    c.node('a').on('handoffProgress', (e) => {
      if (e.role === 'leader' && e.phase === 'aborted') aborted.push(e.handoff);
    });
    c.node('c').on('handoffProgress', (e) => {
      if (!killed && e.role === 'source' && e.phase === 'snapshot') {
        killed = true;
        c.net.kill('c');
      }
    });
    await c.start('d', { tables: SET_ONLY });
    expect(killed).toBe(true);
    expect(aborted.length).toBeGreaterThan(0);
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b,d', 20_000)).toBe(true);
    await c.node('c').stop();
    c.nodes.delete('c');
    // Everything a and b owned is still there (c's share is lost: rf = 1).
    let found = 0;
    for (let i = 0; i < 300; i++) if ((await c.table('d', 'set').lookup(`k${i}`)).length === 1) found++;
    expect(found).toBe((owned.a as number) + (owned.b as number));
  });

  it('moves nothing when a node without tables joins', async () => {
    const c = make();
    for (const id of ['a', 'b']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'a', 50);
    const before = c.node('a').stats().handoffs;
    await c.start('client', { tables: [] });
    expect(c.node('a').stats().handoffs).toBe(before);
    expect(c.node('a').view.members).toContain('client');
    const t = c.node('client').table('other', { type: 'set', numPartitions: 4 });
    await t.ready();
    expect(c.node('a').view.shards.other).toEqual({ client: 4 });
  });
});

describe('observability', () => {
  it('publishes view, handoff and health events on diagnostics channels', async () => {
    const views: ViewChangeEvent[] = [];
    const progress: HandoffProgressEvent[] = [];
    const health: HealthReport[] = [];
    const onView = (m: unknown) => views.push(m as ViewChangeEvent);
    const onProgress = (m: unknown) => progress.push(m as HandoffProgressEvent);
    const onHealth = (m: unknown) => health.push(m as HealthReport);
    diagnostics.subscribe(CHANNELS.view, onView);
    diagnostics.subscribe(CHANNELS.handoff, onProgress);
    diagnostics.subscribe(CHANNELS.health, onHealth);
    try {
      const c = make();
      for (const id of ['a', 'b']) await c.start(id, { tables: SET_ONLY });
      await fill(c, 'a', 200);
      await c.start('c', { tables: SET_ONLY });
      c.node('a').health();
      expect(views.some((v) => v.node === 'c' && v.view.members.includes('c'))).toBe(true);
      const committed = progress.filter((p) => p.role === 'leader' && p.phase === 'committed');
      expect(committed.length).toBeGreaterThan(0);
      expect(committed.at(-1)?.entries).toBeGreaterThan(0);
      expect(committed.at(-1)?.bytes).toBeGreaterThan(0);
      expect(progress.some((p) => p.role === 'target' && p.phase === 'applied' && p.entries > 0)).toBe(true);
      expect(health.some((h) => h.node === 'a')).toBe(true);
    } finally {
      diagnostics.unsubscribe(CHANNELS.view, onView);
      diagnostics.unsubscribe(CHANNELS.handoff, onProgress);
      diagnostics.unsubscribe(CHANNELS.health, onHealth);
    }
  });

  it('reports members with RTT, the leader, partition balance, success rate and handoff stats', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    await fill(c, 'b', 100);
    expect(
      await eventually(() =>
        c
          .node('a')
          .health()
          .members.every((m) => m.rttMs >= 0),
      ),
    ).toBe(true);
    const h = c.node('a').health();
    expect(h.epoch).toBe(c.node('a').view.epoch);
    expect(h.leader).toBe('a');
    expect(h.members.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(h.members.every((m) => m.alive)).toBe(true);
    const balance = h.balance.set!;
    expect(Object.values(balance.owned).reduce((x, y) => x + y, 0)).toBe(32);
    // 32 partitions over 3 hosts cannot split evenly: the spread is positive
    // and matches the owned counts.
    const owned = Object.values(balance.owned);
    const mean = owned.reduce((x, y) => x + y, 0) / owned.length;
    const sd = Math.sqrt(owned.reduce((x, y) => x + (y - mean) ** 2, 0) / owned.length);
    expect(balance.stdDev).toBeGreaterThan(0);
    expect(balance.stdDev).toBeCloseTo(sd, 6);
    expect(h.successRate).toBe(1);
    expect(h.handoff.committed).toBeGreaterThan(0);
    expect(h.stats).toEqual(c.node('a').stats());
    // A read through a of a key b owns is a remote call, and health counts it.
    const remote = Array.from({ length: 100 }, (_v, i) => `k${i}`).find(
      (k) => c.node('a').getTable('set')!.ownerOf(k).node !== 'a',
    )!;
    await c.table('a', 'set').lookup(remote);
    expect(c.node('a').health().stats.remoteCalls).toBe(h.stats.remoteCalls + 1);
    expect(c.node('b').stats().remoteCalls).toBeGreaterThan(0);
  });

  it('emits nodeDown when a member is declared dead', async () => {
    const c = make();
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
    const downs: string[] = [];
    c.node('a').on('nodeDown', (n) => downs.push(n));
    await c.crash('b');
    expect(await eventually(() => downs.includes('b'), 20_000)).toBe(true);
  });
});

describe('validation', () => {
  it('rejects bad options with SC_ERR_BAD_CONFIG', () => {
    const net = new MemoryNetwork();
    const transport = net.createTransport('a');
    expect(() => new ClusterNode({ nodeId: 'b', transport })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new ClusterNode({ nodeId: 'a', transport, config: { numPartition: 0 } })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new ClusterNode({ nodeId: 'a', transport, heartbeatMs: -1 })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
  });

  it('answers malformed peer requests with SC_ERR_BAD_REQUEST and unknown tables with SC_ERR_NO_TABLE', async () => {
    const c = make();
    await c.start('a', { tables: SET_ONLY });
    const probe = c.net.createTransport('probe');
    await probe.start();
    await expect(probe.call('a', 'sc.exec', { t: 'set' })).rejects.toMatchObject({
      code: 'SC_ERR_BAD_REQUEST',
    });
    await expect(probe.call('a', 'sc.viewCommit', { view: { epoch: 'x' } })).rejects.toMatchObject({
      code: 'SC_ERR_BAD_REQUEST',
    });
    await expect(
      probe.call('a', 'sc.exec', { t: 'nope', e: 1, pd: 1, c: 'lookup', a: [1] }),
    ).rejects.toMatchObject({
      code: 'SC_ERR_NO_TABLE',
    });
    await expect(
      probe.call('a', 'sc.exec', { t: 'set', e: 1, pd: 1, c: 'nope', a: [1] }),
    ).rejects.toMatchObject({
      code: 'SC_ERR_BAD_REQUEST',
    });
    await probe.stop();
  });
});
