/**
 * The two sides of a handoff on their own, over a stub table: the source
 * plans what moves and holds exactly that data at the switch; the target
 * stages what arrives out of sight and applies it only when the handoff's
 * view is committed (last writer wins for sets, the source's list for bags).
 */

import { HybridLogicalClock } from '@supercache/replication';
import { ShardSet } from '@supercache/router';
import type { TableType, Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import type { TableHost } from '../src/distributed-table.js';
import { HandoffSource } from '../src/handoff-source.js';
import { HandoffTarget } from '../src/handoff-target.js';
import type { HandoffTableAccess } from '../src/handoff-wire.js';
import { newCounters } from '../src/health.js';
import { PartitionsPlacement } from '../src/placement.js';
import { EMPTY_VIEW, type View } from '../src/view.js';

const P = 16;

function view(epoch: number, hosts: readonly string[], handoffs: readonly string[] = []): View {
  return {
    ...EMPTY_VIEW,
    cluster: 'c',
    epoch,
    members: [...hosts].sort(),
    addresses: Object.fromEntries(hosts.map((h) => [h, h])),
    shards: { t: Object.fromEntries(hosts.map((h) => [h, P])) },
    handoffs,
  };
}

function access(self: string, type: TableType = 'set'): HandoffTableAccess & { events: unknown[] } {
  const shards = new ShardSet({ type, shards: P });
  const placement = new PartitionsPlacement('t', P, 1, undefined);
  const events: unknown[] = [];
  const host = {
    nodeId: self,
    hlc: new HybridLogicalClock({ nodeId: self }),
    clock: { now: () => Date.now() },
    counters: newCounters(),
    handoffChunkSize: 100,
    holdTimeoutMs: 5000,
    callTimeoutMs: 1000,
    progress: (e: unknown) => events.push(e),
    callNode: async () => 0,
  } as unknown as TableHost;
  return {
    name: 't',
    spec: { placement: 'partitions', type, keyPos: 0, partitionPos: 0, numPartitions: P },
    shards,
    host,
    placement,
    replicator: () => undefined,
    routingFor: (v) => placement.routing(v),
    ownerIn: (r, pd: Term) => placement.ownerIn(r, pd),
    events,
  };
}

describe('HandoffTarget', () => {
  it('keeps staged data out of sight until its handoff is committed, then applies it', () => {
    const t = access('b');
    const target = new HandoffTarget(t);
    const p = t.placement.shardOf('k');
    const v = t.host.hlc.now();
    target.stageChunk('h1', 2, [[p, ['k', 1], 0, v]]);
    expect(t.shards.table(p).lookup('k')).toEqual([]);
    expect(target.stagedCounts('h1')?.entries).toBe(1);
    // A view that does not name h1 but is older than its epoch keeps it staged.
    target.applyCommitted(view(1, ['a', 'b']));
    expect(target.stagedCounts('h1')).toBeDefined();
    target.applyCommitted(view(2, ['a', 'b'], ['h1']));
    expect(t.shards.table(p).lookup('k')).toEqual([['k', 1]]);
    expect(target.stagedCounts('h1')).toBeUndefined();
    expect(t.events).toContainEqual(
      expect.objectContaining({ handoff: 'h1', role: 'target', phase: 'applied' }),
    );
  });

  it('drops what was staged for a handoff a later view did not commit, and what was discarded', () => {
    const t = access('b');
    const target = new HandoffTarget(t);
    const p = t.placement.shardOf('k');
    target.stageChunk('h1', 2, [[p, ['k', 1], 0, null]]);
    target.applyCommitted(view(2, ['a', 'b'], []));
    expect(target.stagedCounts('h1')).toBeUndefined();
    target.stageChunk('h2', 3, [[p, ['k', 2], 0, null]]);
    target.discard('h2');
    target.applyCommitted(view(3, ['a', 'b'], ['h2']));
    expect(t.shards.table(p).lookup('k')).toEqual([]);
  });

  it('keeps a live object newer than the staged one (set), and takes the source’s list for a bag', () => {
    const t = access('b');
    const target = new HandoffTarget(t);
    const p = t.placement.shardOf('k');
    const older = t.host.hlc.now();
    const newer = t.host.hlc.now();
    t.shards.table(p).insertEntry(['k', 'live'], { expiresAt: 0, version: newer });
    target.stageChunk('h1', 2, [[p, ['k', 'staged'], 0, older]]);
    target.applyCommitted(view(2, ['a', 'b'], ['h1']));
    expect(t.shards.table(p).lookup('k')).toEqual([['k', 'live']]);

    const bag = access('b', 'bag');
    const bt = new HandoffTarget(bag);
    bag.shards.table(p).insert(['k', 'stale']);
    bt.stageDelta('h1', 2, [
      [
        p,
        'k',
        [
          [['k', 1], 0, null],
          [['k', 2], 0, null],
        ],
      ],
    ]);
    bt.applyCommitted(view(2, ['a', 'b'], ['h1']));
    expect(bag.shards.table(p).lookup('k')).toEqual([
      ['k', 1],
      ['k', 2],
    ]);
  });

  it('refuses a staged item for a shard the table does not have', () => {
    const target = new HandoffTarget(access('b'));
    expect(() => target.stageChunk('h1', 2, [[P, ['k', 1], 0, null]])).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_REQUEST' }),
    );
  });
});

describe('HandoffSource', () => {
  it('plans the partitions a join takes from this node, tracks their keys and holds only them at the switch', async () => {
    const t = access('a');
    const source = new HandoffSource(t);
    const prev = view(1, ['a']);
    const next = view(2, ['a', 'b']);
    expect(source.plan('h1', prev, next)).toBe(true);
    expect(source.active).toBe(true);
    expect(source.hid).toBe('h1');
    const after = t.placement.routing(next);
    const moved = Array.from({ length: 400 }, (_x, i) => `k${i}`).find(
      (k) => t.placement.ownerIn(after, k).node === 'b',
    ) as string;
    const stays = Array.from({ length: 400 }, (_x, i) => `k${i}`).find(
      (k) => t.placement.ownerIn(after, k).node === 'a',
    ) as string;
    source.touched(t.placement.shardOf(moved), moved);
    source.touched(t.placement.shardOf(stays), stays);
    // Only the moving partition's key waits for a delta.
    expect(source.pendingDelta()).toBe(1);
    expect(source.gate(t.placement.shardOf(moved), moved)).toBeUndefined();
    await source.holdAndFinish('h1');
    expect(source.gate(t.placement.shardOf(moved), moved)).toBeInstanceOf(Promise);
    expect(source.gate(t.placement.shardOf(stays), stays)).toBeUndefined();
    source.abort();
    expect(source.active).toBe(false);
    expect(source.gate(t.placement.shardOf(moved), moved)).toBeUndefined();
  });

  it('plans nothing when nothing moves', () => {
    const source = new HandoffSource(access('a'));
    expect(source.plan('h1', view(1, ['a']), view(2, ['a']))).toBe(false);
    expect(source.active).toBe(false);
  });
});
