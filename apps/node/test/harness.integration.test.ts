/**
 * The process harness of the cluster compliance suite (`process-harness.ts`):
 * bare `ClusterNode` processes with named tables, driven by proxy. When
 * `@supercache/cluster` exports its `clusterSuite` from a test-only entry,
 * `clusterSuite('over processes', () => new ProcessHarness())` runs the whole
 * suite on it; until then these cases exercise it directly.
 */

import { _, $, SuperCacheError } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessHarness } from './process-harness.js';

describe('cluster nodes as processes (suite harness)', () => {
  let h: ProcessHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  }, 60_000);

  it('routes every table type across three processes', async () => {
    h = new ProcessHarness();
    for (const id of ['a', 'b', 'c']) await h.start(id);
    expect(await h.members('c')).toEqual(['a', 'b', 'c']);
    for (const table of ['set', 'oset', 'bag', 'pets']) {
      await h.table('a', table).insertMany(Array.from({ length: 40 }, (_v, i) => [`k${i}`, i]));
      for (const via of ['b', 'c']) {
        expect(await h.table(via, table).lookup('k7')).toEqual([['k7', 7]]);
        expect(await h.table(via, table).size()).toBe(40);
      }
      let owned = 0;
      for (const id of ['a', 'b', 'c']) owned += await h.ownedSize(id, table);
      expect(owned).toBe(40);
    }
    // Cursors page across processes.
    const t = h.table('b', 'oset');
    const seen: unknown[] = [];
    let page = await t.selectPage([[[$(1), _], [], [$(1)]]], 15);
    seen.push(...page.items);
    while (page.continuation !== undefined && seen.length < 100) {
      page = await t.selectPage(page.continuation);
      seen.push(...page.items);
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_v, i) => `k${i}`).sort());
  }, 60_000);

  it('refuses a process whose config differs, naming the field', async () => {
    h = new ProcessHarness();
    await h.start('a');
    const err = await h.start('x', { config: { numPartition: 99 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(SuperCacheError.is(err)).toBe(true);
    expect((err as SuperCacheError).code).toBe('SC_ERR_CONFIG_MISMATCH');
    expect((err as Error).message).toContain('numPartition');
    expect(await h.members('a')).toEqual(['a']);
  }, 60_000);

  it('leaves gracefully (SIGTERM) and keeps every key', async () => {
    h = new ProcessHarness();
    for (const id of ['a', 'b', 'c']) await h.start(id);
    await h.table('a', 'set').insertMany(Array.from({ length: 100 }, (_v, i) => [`k${i}`, i]));
    await h.leave('b');
    expect(await h.members('a')).toEqual(['a', 'c']);
    for (let i = 0; i < 100; i++) expect(await h.table('c', 'set').lookup(`k${i}`)).toEqual([[`k${i}`, i]]);
  }, 60_000);

  it('reports a leave that fails as failed: the process exits 1 and leave() rejects', async () => {
    h = new ProcessHarness();
    for (const id of ['a', 'b']) await h.start(id);
    // With the leader gone, b can neither leave through it nor lead a
    // two-node view alone (it is not the smallest id): its leave fails.
    await h.crash('a');
    await expect(h.leave('b')).rejects.toThrow(/left with exit code 1\nleave failed/);
  }, 60_000);

  it('keeps every acknowledged write of a replicated shards table (replicas 2, sync) through a kill -9 under load', async () => {
    h = new ProcessHarness();
    const tables = [
      { name: 'rep', type: 'set', placement: 'shards', replicas: 2, replicationMode: 'sync' } as const,
    ];
    for (const id of ['a', 'b', 'c']) await h.start(id, { tables, localShards: { rep: 2 } });
    const KEYS = 60;
    // Written once before the load: each must survive the crash as is.
    await h.table('a', 'rep').insertMany(Array.from({ length: KEYS }, (_v, i) => [`base${i}`, i]));
    const acked = new Map<string, number>();
    let stop = false;
    let writes = 0;
    let failures = 0;
    const deadline = Date.now() + 20_000;
    const load = (async () => {
      // Through a and b only (c is the victim); each key's value only grows.
      for (let n = 0; n < 3000 && !stop && Date.now() < deadline; n++) {
        const key = `k${n % KEYS}`;
        const via = n % 2 === 0 ? 'a' : 'b';
        try {
          await h!.table(via, 'rep').insert([key, n]);
          acked.set(key, n);
          writes++;
        } catch {
          failures++; // outcome unknown: not counted as acknowledged
        }
      }
    })();
    while (writes < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await h.crash('c');
    const crashedAt = writes;
    while (writes < crashedAt + 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await load;
    expect(writes).toBeGreaterThan(crashedAt); // the load ran on after the crash
    expect(await h.members('a')).toEqual(['a', 'b']);
    const lost: string[] = [];
    for (const via of ['a', 'b']) {
      for (let i = 0; i < KEYS; i++) {
        if ((await h.table(via, 'rep').lookup(`base${i}`)).length !== 1) lost.push(`${via}:base${i}`);
      }
      for (const [key, n] of acked) {
        const got = (await h.table(via, 'rep').lookup(key)) as [string, number][];
        // A later unacknowledged write may have landed; an older value is a loss.
        if (got.length !== 1 || got[0]![1] < n) lost.push(`${via}:${key}=${JSON.stringify(got)} want>=${n}`);
      }
    }
    console.log(
      `shards replicas 2 sync kill -9 c: ${writes} acknowledged, ${failures} failed, ${acked.size} keys checked`,
    );
    expect(lost).toEqual([]);
  }, 90_000);

  it('keeps every acknowledged write of a replicated shards table through a SIGSTOP of twice the failure timeout, and serves no stale value after SIGCONT', async () => {
    h = new ProcessHarness();
    const tables = [
      { name: 'rep', type: 'set', placement: 'shards', replicas: 2, replicationMode: 'sync' } as const,
    ];
    // The fixture's failure timeout is 1500 ms: c stays frozen for 3 s.
    for (const id of ['a', 'b', 'c']) await h.start(id, { tables, localShards: { rep: 2 } });
    const KEYS = 40;
    // Written once before the load and never again: a loss cannot be hidden by a later write.
    await h.table('a', 'rep').insertMany(Array.from({ length: KEYS }, (_v, i) => [`base${i}`, i]));
    const acked = new Map<string, number>(Array.from({ length: KEYS }, (_v, i) => [`base${i}`, i]));
    let stop = false;
    let writes = 0;
    const deadline = Date.now() + 30_000;
    const load = (async () => {
      for (let n = 0; n < 4000 && !stop && Date.now() < deadline; n++) {
        const key = `k${n % KEYS}`;
        try {
          await h!.table(n % 2 === 0 ? 'a' : 'b', 'rep').insert([key, n]);
          acked.set(key, n);
          writes++;
        } catch {
          // outcome unknown: not counted as acknowledged
        }
      }
    })();
    const waitWrites = async (n: number) => {
      while (writes < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    await waitWrites(80);
    h.signal('c', 'SIGSTOP');
    const frozenAt = writes;
    let removed = false;
    try {
      // At least twice the failure timeout, and until the others removed c (at most 10 s).
      const frozenSince = Date.now();
      while (Date.now() - frozenSince < 10_000) {
        removed ||= (await h.members('a')).join() === 'a,b';
        if (removed && Date.now() - frozenSince >= 3000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      h.signal('c', 'SIGCONT');
    }
    expect(removed).toBe(true);
    // Right after waking, c may still hold its old view: whatever it answers
    // must not be older than what was acknowledged before it woke.
    const stale: string[] = [];
    let answered = 0;
    for (const [key, n] of new Map(acked)) {
      const got = (await h
        .table('c', 'rep')
        .lookup(key)
        .catch(() => undefined)) as [string, number][] | undefined;
      if (got === undefined) continue;
      answered++;
      if (got.length !== 1 || got[0]![1] < n) stale.push(`c:${key}=${JSON.stringify(got)} want>=${n}`);
    }
    expect(stale).toEqual([]);
    await waitWrites(frozenAt + 80);
    stop = true;
    await load;
    expect(writes).toBeGreaterThan(frozenAt);
    // c was removed while frozen and joins again (empty); wait for one view.
    for (let i = 0; i < 200 && (await h.members('c').catch(() => [])).join() !== 'a,b,c'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const wrong: string[] = [];
    for (const via of ['a', 'b', 'c']) {
      for (const [key, n] of acked) {
        const got = (await h.table(via, 'rep').lookup(key)) as [string, number][];
        // Only the last acknowledged value, or a later unacknowledged one, is right.
        if (got.length !== 1 || got[0]![1] < n) wrong.push(`${via}:${key}=${JSON.stringify(got)} want>=${n}`);
      }
    }
    console.log(
      `shards replicas 2 sync SIGSTOP c: ${writes} acknowledged, ${answered} reads answered by c right after SIGCONT, ${acked.size} keys read through 3 nodes`,
    );
    expect(wrong).toEqual([]);
  }, 90_000);

  // Regression: the non-leader sources of a join's handoff must learn the
  // joiner's address from the proposed view before streaming to it.
  it('joins a 4th process while its tables hold data', async () => {
    h = new ProcessHarness();
    for (const id of ['a', 'b', 'c']) await h.start(id);
    await h.table('a', 'set').insertMany(Array.from({ length: 200 }, (_v, i) => [`k${i}`, i]));
    await h.start('d');
    expect(await h.ownedSize('d', 'set')).toBeGreaterThan(0);
  }, 60_000);
});
