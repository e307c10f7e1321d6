/**
 * The guarded control plane: forged control messages sent by members (the
 * sender id is the one the transport names, as authentication binds it) are
 * refused with a typed error, and views and data stay as they were; the
 * legitimate flows (join, leave, crash removal, leader failover) still work.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { handoffSides } from '../src/distributed-table.js';
import { ClusterNode } from '../src/node.js';
import type { View } from '../src/view.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually } from './cluster-suite.js';

const SET_ONLY = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 16 }] as const;
const KEYS = 200;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function threeNodes(options: Parameters<typeof memoryCluster>[0] = {}): Promise<MemoryCluster> {
  const c = memoryCluster(options);
  cluster = c;
  for (const id of ['a', 'b', 'c']) await c.start(id, { tables: SET_ONLY });
  const objs: Tuple[] = [];
  for (let i = 0; i < KEYS; i++) objs.push([`k${i}`, i]);
  await c.table('a', 'set').insertMany(objs);
  return c;
}

/** The code a call fails with (or 'resolved'). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return SuperCacheError.is(e) ? e.code : `untyped: ${String(e)}`;
  }
}

function views(c: MemoryCluster): Record<string, { epoch: number; members: readonly string[] }> {
  const out: Record<string, { epoch: number; members: readonly string[] }> = {};
  for (const [id, n] of c.nodes) out[id] = { epoch: n.view.epoch, members: n.view.members };
  return out;
}

async function allKeysIntact(c: MemoryCluster, via: string): Promise<void> {
  for (let i = 0; i < KEYS; i++) expect(await c.table(via, 'set').lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
}

/** `view` at `epoch` without `gone` (as the protocol's removal would build it). */
function dropping(view: View, gone: string, epoch = view.epoch + 1): View {
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) {
    shards[t] = Object.fromEntries(Object.entries(per).filter(([n]) => n !== gone));
  }
  const addresses = Object.fromEntries(Object.entries(view.addresses).filter(([n]) => n !== gone));
  return { ...view, epoch, members: view.members.filter((m) => m !== gone), addresses, shards };
}

describe('guarded views', () => {
  it('refuses a next-epoch view dropping a member, committed by a non-leader', async () => {
    const c = await threeNodes();
    const before = views(c);
    const view = c.node('a').view;
    // c (a member, not the leader) drops b; b (not the leader) drops the leader a.
    for (const to of ['a', 'b']) {
      const code = await refusal(
        c.node('c').transport.call(to, 'sc.viewCommit', { view: dropping(view, 'b') }),
      );
      expect(code).toBe('SC_ERR_FORBIDDEN');
    }
    expect(
      await refusal(c.node('b').transport.call('c', 'sc.viewCommit', { view: dropping(view, 'a') })),
    ).toBe('SC_ERR_FORBIDDEN');
    // A proposal of that removal is refused too: a is alive here.
    expect(
      await refusal(c.node('b').transport.call('c', 'sc.viewPropose', { view: dropping(view, 'a') })),
    ).toBe('SC_ERR_FORBIDDEN');
    expect(views(c)).toEqual(before);
    await allKeysIntact(c, 'c');
  });

  it('refuses an epoch jump to 2^53-1, even from the leader, and a node still joins afterwards', async () => {
    const c = await threeNodes();
    const before = views(c);
    const view = c.node('a').view;
    const huge = { ...view, epoch: Number.MAX_SAFE_INTEGER };
    for (const to of ['b', 'c']) {
      expect(await refusal(c.node('a').transport.call(to, 'sc.viewCommit', { view: huge }))).toBe(
        'SC_ERR_FORBIDDEN',
      );
    }
    expect(views(c)).toEqual(before);
    await c.start('d', { tables: SET_ONLY });
    for (const id of ['a', 'b', 'c', 'd']) expect(c.node(id).view.members).toEqual(['a', 'b', 'c', 'd']);
    await allKeysIntact(c, 'd');
  });

  it('refuses a commit by a non-leader even when it changes no member', async () => {
    const c = await threeNodes();
    const before = views(c);
    const view = c.node('a').view;
    const next = { ...view, epoch: view.epoch + 1, handoffs: [...view.handoffs, 'forged'] };
    expect(await refusal(c.node('c').transport.call('b', 'sc.viewCommit', { view: next }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    expect(views(c)).toEqual(before);
  });

  it('refuses a heartbeat naming another node than its sender', async () => {
    const c = await threeNodes();
    const code = await refusal(
      c.node('c').transport.call('a', 'sc.ping', { id: 'b', e: c.node('c').view.epoch }),
    );
    expect(code).toBe('SC_ERR_FORBIDDEN');
    // A dead node is not kept alive by pings naming it: it is removed.
    await c.crash('b');
    const keepAlive = setInterval(() => {
      c.node('c')
        .transport.call('a', 'sc.ping', { id: 'b' })
        .catch(() => {});
    }, 20);
    try {
      expect(await eventually(() => !c.node('a').view.members.includes('b'))).toBe(true);
    } finally {
      clearInterval(keepAlive);
    }
  });
});

describe('guarded joins and leaves', () => {
  it("refuses sc.join with another node's address, and a restart of a running member", async () => {
    const c = await threeNodes();
    const before = views(c);
    const x = c.net.createTransport('x');
    await x.start();
    const join = (id: string, address: string) =>
      refusal(x.call('a', 'sc.join', { id, address, config: c.node('a').config, tables: {} }));
    // a0 would lead (smallest id) while b answers at its address.
    expect(await join('a0', 'b')).toBe('SC_ERR_FORBIDDEN');
    // b "restarting" at c's address, and at its own (b is running, not joining).
    expect(await join('b', 'c')).toBe('SC_ERR_FORBIDDEN');
    expect(await join('b', 'b')).toBe('SC_ERR_FORBIDDEN');
    // Forwarded by a member, the leader checks just the same.
    expect(
      await refusal(x.call('c', 'sc.join', { id: 'a0', address: 'b', config: c.node('a').config })),
    ).toBe('SC_ERR_FORBIDDEN');
    expect(views(c)).toEqual(before);
    await allKeysIntact(c, 'b');
    await x.stop();
  });

  it('refuses sc.leave for a member that is not leaving', async () => {
    const c = await threeNodes();
    const before = views(c);
    expect(await refusal(c.node('c').transport.call('a', 'sc.leave', { id: 'b', hops: 0 }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    expect(views(c)).toEqual(before);
    await allKeysIntact(c, 'a');
  });
});

describe('guarded handoffs', () => {
  it('refuses handoff data under a made-up id, and a prepare or switch by a non-leader', async () => {
    const c = await threeNodes();
    const before = views(c);
    const view = c.node('a').view;
    const shard = c.node('b').getTable('set')!.shardOf('k1');
    const chunk = { h: 'made-up', t: 'set', e: view.epoch + 1, items: [[shard, ['k1', 'evil'], 0, null]] };
    expect(await refusal(c.node('c').transport.call('b', 'sc.handoffChunk', chunk))).toBe('SC_ERR_FORBIDDEN');
    expect(await refusal(c.node('c').transport.call('b', 'sc.handoffDelta', { ...chunk, items: [] }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    expect(await refusal(c.node('c').transport.call('b', 'sc.handoffDone', { h: 'made-up' }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    const next = { ...dropping(view, 'c'), handoffs: [...view.handoffs, 'made-up'] };
    expect(
      await refusal(c.node('c').transport.call('b', 'sc.handoffPrepare', { h: 'made-up', prev: view, next })),
    ).toBe('SC_ERR_FORBIDDEN');
    expect(await refusal(c.node('c').transport.call('b', 'sc.handoffSwitch', { h: 'made-up' }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    // Nothing was staged, nothing is held: the view listing the handoff is refused too, and k1 is intact.
    expect(await refusal(c.node('c').transport.call('b', 'sc.viewCommit', { view: next }))).toBe(
      'SC_ERR_FORBIDDEN',
    );
    expect(views(c)).toEqual(before);
    await allKeysIntact(c, 'b');
  });

  it('refuses handoff data from a member that is not a source of a known handoff, for another epoch', async () => {
    const c = await threeNodes();
    // A real handoff (d joins); meanwhile a forged chunk for it from x, a stranger.
    const x = c.net.createTransport('x');
    await x.start();
    const seen: string[] = [];
    const forged: Promise<string>[] = [];
    for (const source of ['a', 'b', 'c']) {
      c.node(source).on('handoffProgress', (e) => {
        if (e.role !== 'source' || e.phase !== 'start' || seen.includes(e.handoff)) return;
        seen.push(e.handoff);
        const epoch = c.node(source).view.epoch + 1;
        const shard = c.node('a').getTable('set')!.shardOf('k1');
        const items = [[shard, ['k1', 'evil'], 0, null]];
        // d, the joiner, was told of the handoff before any source started.
        forged.push(refusal(x.call('d', 'sc.handoffChunk', { h: e.handoff, t: 'set', e: epoch, items })));
        // A source of the handoff, but not for that epoch.
        forged.push(
          refusal(
            c
              .node(source)
              .transport.call('d', 'sc.handoffChunk', { h: e.handoff, t: 'set', e: epoch + 5, items }),
          ),
        );
      });
    }
    await c.start('d', { tables: SET_ONLY });
    expect(seen.length).toBeGreaterThan(0);
    expect(await Promise.all(forged)).toEqual(seen.flatMap(() => ['SC_ERR_FORBIDDEN', 'SC_ERR_STALE_EPOCH']));
    await allKeysIntact(c, 'd');
    await x.stop();
  });
});

describe('bounded staging', () => {
  it('drops an incoming handoff past maxStagedBytes and refuses it with SC_ERR_LIMIT', async () => {
    const c = await threeNodes();
    const before = views(c);
    const d = new ClusterNode({
      nodeId: 'd',
      transport: c.net.createTransport('d', { timeoutMs: 2000 }),
      peers: [{ id: 'a', address: 'a' }],
      heartbeatMs: 50,
      failureTimeoutMs: 500,
      joinAttempts: 1,
      maxStagedBytes: 64,
    });
    d.table('set', { type: 'set', numPartitions: 16 });
    const seen: string[] = [];
    c.node('a').on('handoffProgress', (e) => {
      if (e.role === 'leader' && e.phase === 'aborted' && e.error !== undefined) seen.push(e.error);
    });
    expect(await refusal(d.start())).toBe('SC_ERR_HANDOFF');
    expect(seen.some((m) => m.includes('maxStagedBytes'))).toBe(true);
    expect(views(c)).toEqual(before);
    await allKeysIntact(c, 'c');
  });
});

describe('staged handoffs nobody commits', () => {
  it('drops what a handoff staged when neither its commit nor its abort arrives in time', async () => {
    const c = await threeNodes();
    const T2 = { type: 'set', numPartitions: 8 } as const;
    for (const id of ['a', 'b', 'c']) c.node(id).table('t2', T2);
    for (const id of ['a', 'b', 'c']) await c.node(id).getTable('t2')!.ready();
    for (let i = 0; i < 50; i++)
      await c
        .node('a')
        .getTable('t2')!
        .router.insert([`t${i}`, i]);
    const d = new ClusterNode({
      nodeId: 'd',
      transport: c.net.createTransport('d', { timeoutMs: 2000 }),
      peers: [{ id: 'a', address: 'a' }],
      heartbeatMs: 50,
      failureTimeoutMs: 500,
      joinAttempts: 1,
      handoffTimeoutMs: 1000,
      cursorIdleMs: 2000,
    });
    c.nodes.set('d', d);
    await d.start();
    // The handoff that makes d a host of t2 fails at the switch, and its abort never reaches d.
    for (const id of ['a', 'b', 'c'])
      c.node(id).transport.handle('sc.handoffSwitch', () => {
        throw new SuperCacheError('SC_ERR_TIMEOUT', 'switch lost');
      });
    d.transport.handle('sc.handoffAbort', () => true);
    const staged = new Set<string>();
    d.on('handoffProgress', (e) => {
      if (e.role === 'target' && e.phase === 'staged' && e.table === 't2') staged.add(e.handoff);
    });
    const t2 = d.table('t2', T2);
    expect(await refusal(t2.ready())).toBe('SC_ERR_HANDOFF');
    expect(staged.size).toBeGreaterThan(0);
    const target = handoffSides(t2).target;
    expect([...staged].some((h) => target.stagedCounts(h) !== undefined)).toBe(true);
    expect(await eventually(() => [...staged].every((h) => target.stagedCounts(h) === undefined))).toBe(true);
    expect(d.view.members).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('guarded replication', () => {
  it('refuses replication records and digests from a member that is not the primary', async () => {
    const c = await threeNodes({ config: { replicationFactor: 2 } });
    const t = c.node('a').getTable('set')!;
    const p = t.shardOf('k1');
    const [primary, backup] = t.replicasOf(p);
    const other = ['a', 'b', 'c'].find((m) => m !== primary && m !== backup) as string;
    const e = c.node(other).view.epoch;
    const records = [[p, 1, [[1, [['k1', []]]]]]];
    expect(
      await refusal(
        c.node(other).transport.call(backup as string, 'sc.replicate', { t: 'set', e, b: records }),
      ),
    ).toBe('SC_ERR_NOT_OWNER');
    expect(
      await refusal(
        c
          .node(other)
          .transport.call(backup as string, 'sc.replicaDigest', { t: 'set', e, p, s: 0, d: [0, 0, 0] }),
      ),
    ).toBe('SC_ERR_NOT_OWNER');
    // The primary itself, at an epoch nobody holds: refused as stale.
    expect(
      await refusal(
        c
          .node(primary as string)
          .transport.call(backup as string, 'sc.replicate', { t: 'set', e: e + 7, b: records }),
      ),
    ).toBe('SC_ERR_STALE_EPOCH');
    await allKeysIntact(c, other);
  });
});

describe('legitimate flows under the guard', () => {
  it('joins, leaves gracefully, removes a crashed leader and hands leadership on', async () => {
    const c = await threeNodes();
    await c.start('d', { tables: SET_ONLY });
    await c.leave('c');
    for (const id of ['a', 'b', 'd']) expect(c.node(id).view.members).toEqual(['a', 'b', 'd']);
    await allKeysIntact(c, 'd');
    const epoch = c.node('b').view.epoch;
    await c.crash('a');
    expect(
      await eventually(
        () => c.node('b').view.members.join() === 'b,d' && c.node('d').view.members.join() === 'b,d',
      ),
    ).toBe(true);
    expect(c.node('d').view.epoch).toBe(epoch + 1);
    expect(c.node('d').leader).toBe('b');
    // The new leader commits the next change: a join.
    await c.start('e', { tables: SET_ONLY });
    for (const id of ['b', 'd', 'e']) expect(c.node(id).view.members).toEqual(['b', 'd', 'e']);
  });
});
