/**
 * The two-node quorum rule of the distributed guide, on real nodes over the
 * memory transport: exactly half of the view is a quorum only with the
 * smallest id, so a two-node cluster can lose its larger node, but a
 * survivor with the larger id cannot remove the smaller one: it stops
 * serving once its lease lapses, and waits.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually } from './cluster-suite.js';

const TABLES = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 16 }] as const;
const FAILURE_MS = 400;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function pair(): Promise<MemoryCluster> {
  const c = memoryCluster({ failureTimeoutMs: FAILURE_MS });
  cluster = c;
  await c.start('a', { tables: TABLES });
  await c.start('b', { tables: TABLES });
  await c.table('a', 'set').insertMany(Array.from({ length: 100 }, (_v, i) => [`k${i}`, i] as Tuple));
  return c;
}

/** What `id` answers, serving `k` itself: its value, or the error code. */
async function serve(c: MemoryCluster, id: string, k: string): Promise<unknown> {
  const t = c.node(id).getTable('set');
  if (t === undefined) throw new Error(`no table on ${id}`);
  return t.serveShard(k, 'lookup', [k]).catch((e: unknown) => (SuperCacheError.is(e) ? e.code : e));
}

describe('a two-node cluster', () => {
  it('loses its larger node: the smallest id removes it and keeps serving and taking writes', async () => {
    const c = await pair();
    const keys = Array.from({ length: 100 }, (_v, i) => `k${i}`);
    const onA: string[] = [];
    for (const k of keys) if (Array.isArray(await serve(c, 'a', k))) onA.push(k);
    c.net.kill('b');
    expect(await eventually(() => c.node('a').view.members.join() === 'a', FAILURE_MS * 20)).toBe(true);
    for (const k of onA) expect(await c.table('a', 'set').lookup(k)).toEqual([[k, keys.indexOf(k)]]);
    // Every partition is a's now: writes to any key are acknowledged and read back.
    for (const k of keys) await c.table('a', 'set').insert([k, 'after']);
    for (const k of keys) expect(await c.table('a', 'set').lookup(k)).toEqual([[k, 'after']]);
  });

  it('cannot lose its smaller node: the survivor keeps the view, stops serving when its lease lapses, and waits with its data', async () => {
    const c = await pair();
    const keys = Array.from({ length: 100 }, (_v, i) => `k${i}`);
    const onB: string[] = [];
    for (const k of keys) if (Array.isArray(await serve(c, 'b', k))) onB.push(k);
    expect(onB.length).toBeGreaterThan(0);
    const epoch = c.node('b').view.epoch;
    const held = await c.ownedSize('b', 'set');
    await c.crash('a');
    const k = onB[0] as string;
    expect(
      await eventually(async () => (await serve(c, 'b', k)) === 'SC_ERR_NO_QUORUM', FAILURE_MS * 20),
    ).toBe(true);
    // Well past the failure timeout, b has removed nobody and still refuses.
    await new Promise((r) => setTimeout(r, FAILURE_MS * 3));
    expect(c.node('b').view.members).toEqual(['a', 'b']);
    expect(c.node('b').view.epoch).toBe(epoch);
    for (const key of onB) expect(await serve(c, 'b', key)).toBe('SC_ERR_NO_QUORUM');
    // It waits with its data intact: nothing was dropped, only refused.
    expect(await c.ownedSize('b', 'set')).toBe(held);
  });
});

describe('a node cut off from its quorum', () => {
  it('answers SC_ERR_NO_QUORUM for keys owned across the cut instead of forwarding them', async () => {
    const c = memoryCluster({ failureTimeoutMs: FAILURE_MS });
    cluster = c;
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: TABLES });
    const keys = Array.from({ length: 100 }, (_v, i) => `k${i}`);
    await c.table('a', 'set').insertMany(keys.map((k, i) => [k, i] as Tuple));
    const table = c.node('c').getTable('set');
    if (table === undefined) throw new Error('no table on c');
    const elsewhere = keys.filter((k) => table.ownerOf(k).node !== 'c');
    expect(elsewhere.length).toBeGreaterThan(0);
    c.net.partition(['c'], ['a', 'b']);
    expect(await eventually(() => !c.node('c').leaseHeld, FAILURE_MS * 20)).toBe(true);
    const codes = await Promise.all(
      elsewhere.slice(0, 10).map((k) =>
        c
          .table('c', 'set')
          .insert([k, 'stranded'])
          .then(
            () => 'acknowledged',
            (e: unknown) => (SuperCacheError.is(e) ? e.code : String(e)),
          ),
      ),
    );
    expect(codes).toEqual(Array(10).fill('SC_ERR_NO_QUORUM'));
    c.net.heal();
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b,c', FAILURE_MS * 40)).toBe(true);
    for (const k of elsewhere.slice(0, 10))
      expect(await c.table('a', 'set').lookup(k)).toEqual([[k, keys.indexOf(k)]]);
  });
});

describe('a request from a node removed since it was made', () => {
  it('is refused with SC_ERR_STALE_EPOCH and changes nothing; a member’s older request is still served', async () => {
    const c = memoryCluster({ failureTimeoutMs: FAILURE_MS });
    cluster = c;
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: TABLES });
    const old = c.node('a').view.epoch;
    const table = c.node('a').getTable('set');
    if (table === undefined) throw new Error('no table on a');
    const k = Array.from({ length: 100 }, (_v, i) => `k${i}`).find(
      (x) => table.ownerOf(x).node === 'a',
    ) as string;
    await c.table('a', 'set').insert([k, 'acknowledged']);
    await c.crash('c');
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b', FAILURE_MS * 20)).toBe(true);
    // c's write, made under its old view, arrives after its removal (as a
    // retransmission does once a split heals).
    const late = await table
      .serveShard(k, 'insert', [[[k, 'from the past']]], { from: 'c', epoch: old })
      .then(
        () => 'served',
        (e: unknown) => (SuperCacheError.is(e) ? `${e.code}:${e.retryable}` : String(e)),
      );
    expect(late).toBe('SC_ERR_STALE_EPOCH:true');
    expect(await c.table('b', 'set').lookup(k)).toEqual([[k, 'acknowledged']]);
    expect(c.node('a').health().stats.fencedRequests).toBe(1);
    // b is still a member: its request made at the older epoch is served.
    await table.serveShard(k, 'insert', [[[k, 'from b']]], { from: 'b', epoch: old });
    expect(await c.table('b', 'set').lookup(k)).toEqual([[k, 'from b']]);
  });
});

describe('a write through a node cut off while it waits on the owner', () => {
  it('is not tried again once the node was removed: after it rejoins, the majority’s acknowledged write stays', async () => {
    // Peer calls outlast the split: the one the cut node made is still pending when it rejoins.
    const c = memoryCluster({ failureTimeoutMs: FAILURE_MS, callTimeoutMs: 4000 });
    cluster = c;
    const config = { replicationFactor: 3, replicationMode: 'sync' as const };
    for (const id of ['a', 'b', 'c']) await c.start(id, { tables: TABLES, config });
    const table = c.node('c').getTable('set');
    if (table === undefined) throw new Error('no table on c');
    const k = Array.from({ length: 100 }, (_v, i) => `k${i}`).find(
      (x) => table.ownerOf(x).node !== 'c',
    ) as string;
    await c.table('a', 'set').insert([k, 'before']);
    // Packets to and from c vanish (no refusal, as on a real split): its write to the owner waits.
    c.net.drop({ from: 'c' });
    c.net.drop({ to: 'c' });
    const stranded = c
      .table('c', 'set')
      .insert([k, 'stranded'])
      .then(
        () => 'acknowledged',
        (e: unknown) => (SuperCacheError.is(e) ? `${e.code}:${String(e.details?.outcome)}` : String(e)),
      );
    expect(await eventually(() => c.node('a').view.members.join() === 'a,b', FAILURE_MS * 20)).toBe(true);
    await c.table('a', 'set').insert([k, 'majority']);
    c.net.heal();
    expect(
      await eventually(
        () => ['a', 'b', 'c'].every((id) => c.node(id).view.members.join() === 'a,b,c'),
        FAILURE_MS * 40,
      ),
    ).toBe(true);
    // The pending call times out after the rejoin; the write is not sent again under the new view.
    expect(await stranded).toBe('SC_ERR_STALE_EPOCH:unknown');
    for (const id of ['a', 'b', 'c']) expect(await c.table(id, 'set').lookup(k)).toEqual([[k, 'majority']]);
  }, 30_000);
});
