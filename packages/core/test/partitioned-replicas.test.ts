/**
 * PartitionedTable `replicas` (distributed mode, memory transport): RF 2
 * `sync` under a load loop whose every acknowledged write is checked, a
 * node crashing in the middle, then every key read back through the
 * survivors; and the option's validation.
 */

import { ClusterNode, MemoryNetwork } from '@supercache/cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProvider } from '../src/cluster.js';
import { PartitionedTable } from '../src/index.js';
import { expectCode } from './helpers.js';

const FAST = {
  heartbeatMs: 25,
  failureTimeoutMs: 400,
  callTimeoutMs: 2000,
  retry: { attempts: 60, baseMs: 5, maxMs: 50 },
};

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  cleanup = [];
});

interface Member {
  readonly id: string;
  readonly node: ClusterNode;
  readonly table: PartitionedTable;
}

async function startMember(
  net: MemoryNetwork,
  id: string,
  peers: readonly string[],
  extra: Record<string, unknown> = {},
): Promise<Member> {
  const node = new ClusterNode({
    ...FAST,
    nodeId: id,
    transport: net.createTransport(id, { timeoutMs: 2000 }),
    peers: peers.map((p) => ({ id: p, address: p })),
  });
  cleanup.push(() => node.stop());
  const table = await PartitionedTable.start({
    name: 'accounts',
    distributed: true,
    nodeId: id,
    partitions: 2,
    replicas: 2,
    replicationMode: 'sync',
    clusterProvider: clusterProvider({ node }),
    ...extra,
  });
  cleanup.push(() => table.stop());
  return { id, node, table };
}

describe('PartitionedTable replicas (distributed)', () => {
  it('RF 2 sync: a node crashes under load; no acknowledged write is lost and every key is found', async () => {
    const net = new MemoryNetwork({ seed: 21 });
    const members: Member[] = [];
    for (const id of ['a', 'b', 'c'])
      members.push(
        await startMember(
          net,
          id,
          members.map((m) => m.id),
        ),
      );
    // Keys written once before the load, never again: a crash must not take them.
    const still = Array.from({ length: 300 }, (_x, i) => [`s${i}`, i] as [string, number]);
    await (members[0] as Member).table.insertMany(still);
    const victim = members[1] as Member;
    let dead = false;
    const through = (i: number): PartitionedTable => {
      const alive = members.filter((m) => m !== victim || !dead);
      return (alive[i % alive.length] as Member).table;
    };
    // Each writer owns its keys and writes increasing values: an acknowledged
    // value must be found (or a newer one) at the end.
    const acked = new Map<string, number>();
    const attempted = new Map<string, number>();
    let ok = 0;
    const writer = async (w: number) => {
      for (let i = 0; i < 150; i++) {
        const k = `w${w}-${i % 20}`;
        const v = (attempted.get(k) ?? 0) + 1;
        attempted.set(k, v);
        try {
          await through(w + i).insert([k, v]);
          acked.set(k, v);
          ok++;
        } catch {
          // outcome unknown: neither counted as acknowledged nor as lost
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3].map((w) => writer(w)));
    await new Promise((r) => setTimeout(r, 150));
    // The victim is the primary of some keys.
    expect(victim.table.local.size).toBeGreaterThan(0);
    net.kill(victim.id);
    dead = true;
    await victim.node.stop();
    await load;
    expect(ok).toBeGreaterThan(100);
    const survivors = members.filter((m) => m !== victim);
    for (const m of survivors) {
      for (const [k, v] of acked) {
        const rows = await m.table.lookup(k);
        expect(rows.length, `key ${k} through ${m.id}`).toBe(1);
        const got = rows[0]?.[1] as number;
        expect(got, `key ${k} through ${m.id}`).toBeGreaterThanOrEqual(v);
        expect(got).toBeLessThanOrEqual(attempted.get(k) as number);
      }
    }
    for (const m of survivors)
      for (const [k, v] of still)
        expect(await m.table.lookup(k), `key ${k} through ${m.id}`).toEqual([[k, v]]);
    expect(await (survivors[0] as Member).table.size()).toBe(attempted.size + still.length);
    // The health report counts two copies per key on the two survivors.
    expect((survivors[0] as Member).table.health().replication.accounts).toMatchObject({
      placement: 'shards',
      factor: 2,
      copies: 2,
      shortfall: 0,
      zeroCopy: false,
      mode: 'sync',
    });
  });

  it('refuses bad replicas and replicationMode values, naming the option', async () => {
    const net = new MemoryNetwork({ seed: 1 });
    const provider = clusterProvider({ transport: net.createTransport('x') });
    const base = { name: 'bad', distributed: true, clusterProvider: provider };
    for (const replicas of [0, 8, 2.5, '2']) {
      const e = await expectCode(PartitionedTable.start({ ...base, replicas } as never), 'SC_ERR_BAD_CONFIG');
      expect(e.message).toContain('replicas');
    }
    const mode = await expectCode(
      PartitionedTable.start({ ...base, replicas: 2, replicationMode: 'eventual' } as never),
      'SC_ERR_BAD_CONFIG',
    );
    expect(mode.message).toContain('replicationMode');
    const local = await expectCode(PartitionedTable.start({ name: 'bad', replicas: 2 }), 'SC_ERR_BAD_CONFIG');
    expect(local.message).toContain('replicas');
    const hash = await expectCode(
      PartitionedTable.start({ ...base, replicas: 2, callbacks: { hash: () => 0 } }),
      'SC_ERR_BAD_CONFIG',
    );
    expect(hash.message).toContain('replicas');
    const typo = await expectCode(
      PartitionedTable.start({ ...base, replication_mode: 'sync' } as never),
      'SC_ERR_BAD_CONFIG',
    );
    expect(typo.message).toContain('did you mean replicationMode');
  });

  it('refuses a node whose replicas differ from the cluster’s (SC_ERR_CONFIG_MISMATCH)', async () => {
    const net = new MemoryNetwork({ seed: 2 });
    const a = await startMember(net, 'a', []);
    expect(a.table.replicas).toBe(2);
    const e = await expectCode(startMember(net, 'b', ['a'], { replicas: 3 }), 'SC_ERR_CONFIG_MISMATCH');
    expect(e.details).toMatchObject({ field: 'replicas', node: 3, cluster: 2 });
  });
});
