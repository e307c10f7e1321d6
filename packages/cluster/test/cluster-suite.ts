/**
 * The cluster compliance suite: written once, run over every transport.
 * `clusterSuite(name, makeCluster)` needs only the {@link ClusterHandle}
 * operations below, so a harness may run every node in this process (the
 * memory transport) or in child processes over HTTP.
 *
 * Every loop is bounded in count and time; nothing asserts on durations.
 */

import type { TableRouter } from '@supercache/router';
import { _, $, SuperCacheError, type TableType, type Term, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';

// The DNS test server, for discovery tests of the packages above.
export type { SrvData, ZoneEntry } from './dns-responder.js';
export { DnsResponder } from './dns-responder.js';

/** One table every node of a suite cluster opens. */
export interface SuiteTableDef {
  readonly name: string;
  readonly type: TableType;
  readonly placement: 'partitions' | 'shards';
  /** `'partitions'` only. */
  readonly numPartitions?: number;
  /** `'shards'` only: this node's shard count (see {@link NodeStartOptions.localShards}). */
  readonly localShards?: number;
  /** Copies per key of a `'shards'` table (the memory harness only). */
  readonly replicas?: number;
  readonly replicationMode?: 'async' | 'sync' | 'strong';
}

/** Options of {@link ClusterHandle.start}. */
export interface NodeStartOptions {
  /** The node's six config fields (defaults: the harness's). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Tables the node opens before it joins. @defaultValue {@link SUITE_TABLES} */
  readonly tables?: readonly SuiteTableDef[];
  /** Per-table override of `localShards` for `'shards'` tables. */
  readonly localShards?: Readonly<Record<string, number>>;
}

/**
 * The table operations the suite uses: a subset of {@link TableRouter}, so a
 * harness over processes can implement it by proxy.
 */
export type SuiteTable = Pick<
  TableRouter,
  | 'insert'
  | 'insertMany'
  | 'lookup'
  | 'delete'
  | 'deleteObject'
  | 'member'
  | 'tab2list'
  | 'size'
  | 'select'
  | 'selectCount'
  | 'match'
  | 'matchObject'
  | 'first'
  | 'next'
  | 'last'
  | 'prev'
  | 'selectPage'
  | 'matchDelete'
>;

/** Minimal event source (a ClusterNode in process). */
export interface SuiteEvents {
  on(event: 'nodeUp' | 'nodeDown', fn: (node: string) => void): unknown;
  on(event: 'handoffProgress', fn: (e: { role: string; phase: string; entries: number }) => void): unknown;
}

/** What a harness gives the suite. */
export interface ClusterHandle {
  /**
   * Starts node `id` with its tables and joins it to the cluster (the first
   * node forms it). Rejects with the node's error (e.g. `SC_ERR_CONFIG_MISMATCH`).
   */
  start(id: string, options?: NodeStartOptions): Promise<void>;
  /** Graceful leave of node `id` (hands its data off, then stops). */
  leave(id: string): Promise<void>;
  /** Crash: node `id` stops answering at once, without handoff. */
  crash(id: string): Promise<void>;
  /** The routed table `table` as seen from node `id`. */
  table(id: string, table: string): SuiteTable;
  /** Members of the view held by node `id`. */
  members(id: string): Promise<readonly string[]>;
  /** Objects node `id` serves for `table` (owned shards only). */
  ownedSize(id: string, table: string): Promise<number>;
  /** Events of node `id`, when the harness can observe them (in-process only). */
  events?(id: string): SuiteEvents;
  /** Stops every node still running. */
  close(): Promise<void>;
}

/** Creates a fresh, empty cluster harness. */
export type MakeCluster = () => ClusterHandle | Promise<ClusterHandle>;

/** The tables the suite opens on every node by default. */
export const SUITE_TABLES: readonly SuiteTableDef[] = [
  { name: 'set', type: 'set', placement: 'partitions', numPartitions: 16 },
  { name: 'oset', type: 'ordered_set', placement: 'partitions', numPartitions: 16 },
  { name: 'bag', type: 'bag', placement: 'partitions', numPartitions: 16 },
  { name: 'dbag', type: 'duplicate_bag', placement: 'partitions', numPartitions: 16 },
  { name: 'pets', type: 'set', placement: 'shards', localShards: 2 },
];

const TABLE_OF_TYPE: Record<TableType, string> = {
  set: 'set',
  ordered_set: 'oset',
  bag: 'bag',
  duplicate_bag: 'dbag',
};

/** Deterministic PRNG (mulberry32) so load loops are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Polls `check` until it returns true, at most `timeoutMs`; returns its last answer. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startAll(c: ClusterHandle, ids: readonly string[], options?: NodeStartOptions): Promise<void> {
  for (const id of ids) await c.start(id, options);
}

function keyName(i: number): string {
  return `k${String(i).padStart(4, '0')}`;
}

/** Result of one load run. */
/** What a load loop records. */
export interface LoadResult {
  ops: number;
  writes: number;
  reads: number;
  deletes: number;
  misses: string[];
  errors: string[];
  /** Last acknowledged state of every key: a value, or null once deleted. */
  model: Map<string, number | null>;
  /** Operations that started and completed while the change was still under way (`done()` false). */
  during: number;
  /** Whether the change had finished (`done()` true) when the loop stopped, rather than the time or count limit. */
  finished: boolean;
}

/** The three operations a load loop drives through a named node. */
export interface LoadTarget {
  put(via: string, tuple: [string, number]): Promise<unknown>;
  remove(via: string, key: string): Promise<unknown>;
  get(via: string, key: string): Promise<unknown>;
}

/** A {@link LoadTarget} over one table of a {@link ClusterHandle}. */
export function tableTarget(c: ClusterHandle, table: string): LoadTarget {
  return {
    put: (via, tuple) => c.table(via, table).insert(tuple),
    remove: (via, key) => c.table(via, table).delete(key),
    get: (via, key) => c.table(via, table).lookup(key),
  };
}

/**
 * Runs workers that write, delete and read their own keys through random
 * nodes until `done()` (and at least `minOps`), bounded by `maxOps` and
 * `maxMs`. A read must return the worker's last acknowledged write (or
 * nothing after its last acknowledged delete).
 */
export async function loadLoop(
  target: LoadTarget,
  nodes: () => readonly string[],
  done: () => boolean,
  opts: {
    seed: number;
    workers: number;
    keysPerWorker: number;
    minOps: number;
    maxOps: number;
    maxMs: number;
    /** Prefix of every key, to keep runs apart. @defaultValue '' */
    keyPrefix?: string;
  },
): Promise<LoadResult> {
  const result: LoadResult = {
    ops: 0,
    writes: 0,
    reads: 0,
    deletes: 0,
    misses: [],
    errors: [],
    model: new Map(),
    during: 0,
    finished: false,
  };
  const started = Date.now();
  const running = () =>
    result.ops < opts.maxOps && Date.now() - started < opts.maxMs && (!done() || result.ops < opts.minOps);
  const worker = async (w: number) => {
    const rnd = prng(opts.seed + w);
    let version = 0;
    while (running()) {
      const ids = nodes();
      const via = ids[Math.floor(rnd() * ids.length)] as string;
      const k = `${opts.keyPrefix ?? ''}w${w}-${Math.floor(rnd() * opts.keysPerWorker)}`;
      const dice = rnd();
      result.ops++;
      const before = !done();
      try {
        if (dice < 0.45) {
          version++;
          await target.put(via, [k, version]);
          result.model.set(k, version);
          result.writes++;
        } else if (dice < 0.55) {
          await target.remove(via, k);
          result.model.set(k, null);
          result.deletes++;
        } else {
          result.reads++;
          const got = await target.get(via, k);
          const want = result.model.get(k);
          if (want === undefined) continue;
          const expected = want === null ? [] : [[k, want]];
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            result.misses.push(
              `${k} via ${via}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`,
            );
          }
        }
      } catch (e) {
        result.errors.push(`${k} via ${via}: ${SuperCacheError.is(e) ? e.code : ''} ${(e as Error).message}`);
      }
      if (before && !done()) result.during++;
      // Let the membership change make progress between operations.
      if (result.ops % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_v, w) => worker(w)));
  result.finished = done();
  return result;
}

/** Reads every key of a load model through each node; returns the mismatches. */
export async function verifyModel(
  target: LoadTarget,
  ids: readonly string[],
  model: ReadonlyMap<string, number | null>,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const id of ids) {
    for (const [k, v] of model) {
      const got = await target.get(id, k);
      const expected = v === null ? [] : [[k, v]];
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        wrong.push(`${k} via ${id}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
      }
    }
  }
  return wrong;
}

/**
 * Registers the cluster compliance tests under `describe(name)`.
 *
 * @param makeCluster - creates a fresh harness per test.
 */
export function clusterSuite(name: string, makeCluster: MakeCluster): void {
  describe(name, () => {
    let cluster: ClusterHandle | undefined;
    const fresh = async () => {
      cluster = await makeCluster();
      return cluster;
    };
    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });

    describe('routing', () => {
      for (const type of ['set', 'ordered_set', 'bag', 'duplicate_bag'] as const) {
        it(`reads through any node what was written through another (${type})`, async () => {
          const c = await fresh();
          await startAll(c, ['a', 'b', 'c']);
          const table = TABLE_OF_TYPE[type];
          const objs: Tuple[] = [];
          for (let i = 0; i < 60; i++) objs.push([keyName(i), i, 'x']);
          for (let i = 0; i < 30; i++) await c.table('a', table).insert(objs[i] as Tuple);
          await c.table('b', table).insertMany(objs.slice(30));
          if (type === 'bag' || type === 'duplicate_bag') {
            await c.table('c', table).insert([keyName(0), 0, 'y']);
          }
          for (const via of ['a', 'b', 'c']) {
            const t = c.table(via, table);
            for (let i = 1; i < 60; i++) expect(await t.lookup(keyName(i))).toEqual([[keyName(i), i, 'x']]);
            const k0 = await t.lookup(keyName(0));
            if (type === 'bag' || type === 'duplicate_bag') {
              expect(k0).toHaveLength(2);
              expect(k0).toContainEqual([keyName(0), 0, 'y']);
            } else {
              expect(k0).toEqual([[keyName(0), 0, 'x']]);
            }
            expect(await t.member(keyName(59))).toBe(true);
            expect(await t.member('absent')).toBe(false);
          }
          await c.table('c', table).delete(keyName(5));
          for (const via of ['a', 'b', 'c']) expect(await c.table(via, table).lookup(keyName(5))).toEqual([]);
        });
      }

      it('merges fan-outs from every node (select, match, tab2list, size, selectCount)', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (const table of ['set', 'bag', 'pets']) {
          const objs: Tuple[] = [];
          for (let i = 0; i < 90; i++) objs.push([keyName(i), i % 3, i]);
          await c.table('a', table).insertMany(objs);
          for (const via of ['a', 'b', 'c']) {
            const t = c.table(via, table);
            expect(await t.size()).toBe(90);
            expect((await t.tab2list()).length).toBe(90);
            const sel = (await t.select([[[$(1), 1, $(2)], [], [$(2)]]])) as number[];
            expect([...sel].sort((x, y) => x - y)).toEqual(objs.filter((o) => o[1] === 1).map((o) => o[2]));
            expect(await t.selectCount([[[$(1), 2, _], [], [true]]])).toBe(30);
            const m = await t.match([$(1), 0, _]);
            expect(m.length).toBe(30);
            expect((await t.matchObject([keyName(7), _, _])).length).toBe(1);
          }
        }
      });

      it('deletes one object (deleteObject) and every match (matchDelete) through any node', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        await c.table('a', 'bag').insertMany([
          ['kb', 1],
          ['kb', 2],
          ['kc', 1],
        ]);
        await c.table('b', 'bag').deleteObject(['kb', 1]);
        for (const via of ['a', 'b', 'c']) {
          expect(await c.table(via, 'bag').lookup('kb')).toEqual([['kb', 2]]);
          expect(await c.table(via, 'bag').lookup('kc')).toEqual([['kc', 1]]);
        }
        for (const table of ['set', 'pets']) {
          await c
            .table('a', table)
            .insertMany(Array.from({ length: 90 }, (_v, i) => [keyName(i), i % 3, i] as Tuple));
          await c.table('c', table).matchDelete([_, 1, _]);
          for (const via of ['a', 'b', 'c']) {
            const t = c.table(via, table);
            expect(await t.size()).toBe(60);
            expect(await t.match([_, 1, _])).toEqual([]);
            expect(await t.lookup(keyName(0))).toEqual([[keyName(0), 0, 0]]);
            expect(await t.lookup(keyName(1))).toEqual([]);
          }
        }
      });

      it('applies write fan-outs that race a join exactly: matchDelete rounds during 3 → 4', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        const n = 300;
        await c
          .table('a', 'set')
          .insertMany(Array.from({ length: n }, (_v, i) => [keyName(i), i % 10, i] as Tuple));
        let joined = false;
        const join = c.start('d').then(() => {
          joined = true;
        });
        // Round r deletes tag r through one fan-out, from a rotating node;
        // rounds run while the join is under way (at most 10).
        let rounds = 0;
        let beforeJoined = 0;
        while (rounds < 10 && (rounds < 2 || !joined)) {
          if (!joined) beforeJoined++;
          await c.table(['a', 'b', 'c'][rounds % 3] as string, 'set').matchDelete([_, rounds, _]);
          rounds++;
        }
        await join;
        expect(beforeJoined).toBeGreaterThan(0);
        const left = Array.from({ length: n }, (_v, i) => i).filter((i) => i % 10 >= rounds);
        for (const via of ['a', 'b', 'c', 'd']) {
          const t = c.table(via, 'set');
          expect(await t.size()).toBe(left.length);
          const got = (await t.select([[[_, _, $(1)], [], [$(1)]]])) as number[];
          expect([...got].sort((x, y) => x - y)).toEqual(left);
        }
      });

      it('keeps ordered_set order across nodes (tab2list, select, first/next, last/prev)', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        const keys: number[] = [];
        const rnd = prng(7);
        while (keys.length < 80) {
          const k = Math.floor(rnd() * 10_000);
          if (!keys.includes(k)) keys.push(k);
        }
        for (const k of keys) await c.table('a', 'oset').insert([k, `v${k}`]);
        const sorted = [...keys].sort((x, y) => x - y);
        for (const via of ['a', 'b', 'c']) {
          const t = c.table(via, 'oset');
          expect((await t.tab2list()).map((o) => o[0])).toEqual(sorted);
          expect(await t.select([[[$(1), _], [], [$(1)]]])).toEqual(sorted);
          expect(await t.first()).toBe(sorted[0]);
          expect(await t.last()).toBe(sorted[sorted.length - 1]);
          const walked: Term[] = [];
          let k = await t.first();
          while (k !== undefined && walked.length <= sorted.length) {
            walked.push(k);
            k = await t.next(k);
          }
          expect(walked).toEqual(sorted);
          expect(await t.prev(sorted[1] as number)).toBe(sorted[0]);
        }
      });

      it('pages cursors across nodes without duplicates or misses', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (const table of ['set', 'oset', 'pets']) {
          const objs: Tuple[] = [];
          for (let i = 0; i < 157; i++) objs.push([i, i * 2]);
          await c.table('b', table).insertMany(objs);
          const t = c.table('c', table);
          const seen: Term[] = [];
          let page = await t.selectPage([[[$(1), _], [], [$(1)]]], 10);
          let pages = 1;
          seen.push(...page.items);
          while (page.continuation !== undefined && pages < 100) {
            page = await t.selectPage(page.continuation);
            seen.push(...page.items);
            pages++;
          }
          expect(page.continuation).toBeUndefined();
          expect(seen.length).toBe(157);
          expect(new Set(seen).size).toBe(157);
          if (table === 'oset') expect(seen).toEqual(objs.map((o) => o[0]));
        }
      });
    });

    describe('seed scenarios', () => {
      it('joins 3 → 4: the new node holds a fair share and every key stays reachable', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (let i = 0; i < 200; i++) await c.table('a', 'set').insert([keyName(i), i]);
        await c.start('d');
        expect(await c.members('a')).toEqual(['a', 'b', 'c', 'd']);
        const share = await c.ownedSize('d', 'set');
        expect(share).toBeGreaterThanOrEqual((200 / 4) * 0.4);
        let total = 0;
        for (const id of ['a', 'b', 'c', 'd']) total += await c.ownedSize(id, 'set');
        expect(total).toBe(200);
        for (const via of ['a', 'd']) {
          for (let i = 0; i < 200; i++)
            expect(await c.table(via, 'set').lookup(keyName(i))).toEqual([[keyName(i), i]]);
        }
      });

      it('leaves 4 → 3: every key stays reachable', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c', 'd']);
        for (let i = 0; i < 200; i++) await c.table('b', 'set').insert([keyName(i), i]);
        expect(await c.ownedSize('c', 'set')).toBeGreaterThan(0);
        await c.leave('c');
        expect(await eventually(async () => (await c.members('a')).join() === 'a,b,d')).toBe(true);
        let total = 0;
        for (const id of ['a', 'b', 'd']) total += await c.ownedSize(id, 'set');
        expect(total).toBe(200);
        for (const via of ['a', 'b', 'd']) {
          for (let i = 0; i < 200; i++)
            expect(await c.table(via, 'set').lookup(keyName(i))).toEqual([[keyName(i), i]]);
        }
      });

      it('routes over heterogeneous shard counts (2, 4, 3) and keeps the sum through a join', async () => {
        const c = await fresh();
        await c.start('a', { localShards: { pets: 2 } });
        await c.start('b', { localShards: { pets: 4 } });
        await c.start('c', { localShards: { pets: 3 } });
        for (let i = 0; i < 200; i++) await c.table('a', 'pets').insert([keyName(i), i]);
        const sizes = async (ids: string[]) => {
          const out: number[] = [];
          for (const id of ids) out.push(await c.ownedSize(id, 'pets'));
          return out;
        };
        const three = await sizes(['a', 'b', 'c']);
        expect(three.reduce((x, y) => x + y, 0)).toBe(200);
        for (const n of three) expect(n).toBeGreaterThan(0);
        await c.start('d', { localShards: { pets: 1 } });
        const four = await sizes(['a', 'b', 'c', 'd']);
        expect(four.reduce((x, y) => x + y, 0)).toBe(200);
        expect(four[3]).toBeGreaterThan(0);
        // Only what rendezvous hashing says moved: nobody gained but the new node.
        for (let i = 0; i < 3; i++) expect(four[i]).toBeLessThanOrEqual(three[i] as number);
        for (let i = 0; i < 200; i++)
          expect(await c.table('c', 'pets').lookup(keyName(i))).toEqual([[keyName(i), i]]);
      });

      it('keeps every bag value through a join and a leave', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (const table of ['bag', 'dbag']) {
          for (let i = 0; i < 50; i++) {
            await c.table('a', table).insertMany([
              [keyName(i), 1],
              [keyName(i), 2],
              [keyName(i), 3],
            ]);
          }
        }
        const check = async (ids: string[]) => {
          for (const table of ['bag', 'dbag']) {
            for (const via of ids) {
              for (let i = 0; i < 50; i++) {
                const got = (await c.table(via, table).lookup(keyName(i))).map((o) => o[1]);
                expect([...got].sort()).toEqual([1, 2, 3]);
              }
            }
          }
        };
        await c.start('d');
        await check(['a', 'd']);
        await c.leave('b');
        await check(['c', 'd']);
        expect(await c.table('a', 'bag').size()).toBe(150);
      });
    });

    describe('membership under load', () => {
      // The loop runs until the change has finished (bounded by maxOps and
      // maxMs); each test then checks that the change did finish inside the
      // loop and that operations overlapped it.
      const loadOpts = { workers: 4, keysPerWorker: 40, minOps: 300, maxOps: 20_000, maxMs: 20_000 };

      it('joins 3 → 4 while reading and writing: no misses, no lost writes, deletes stay deleted', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (let i = 0; i < 500; i++) await c.table('a', 'set').insert([`pre${i}`, i]);
        let joined = false;
        const nodes = ['a', 'b', 'c'];
        const join = c.start('d').then(() => {
          joined = true;
        });
        const r = await loadLoop(
          tableTarget(c, 'set'),
          () => nodes,
          () => joined,
          { seed: 11, ...loadOpts },
        );
        await join;
        expect(r.finished).toBe(true);
        expect(r.during).toBeGreaterThan(0);
        expect(r.errors).toEqual([]);
        expect(r.misses).toEqual([]);
        expect(r.writes).toBeGreaterThan(0);
        expect(await verifyModel(tableTarget(c, 'set'), ['a', 'd'], r.model)).toEqual([]);
        for (let i = 0; i < 500; i++)
          expect(await c.table('d', 'set').lookup(`pre${i}`)).toEqual([[`pre${i}`, i]]);
      });

      it('leaves 4 → 3 while reading and writing: no misses, no lost writes, deletes stay deleted', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c', 'd']);
        for (let i = 0; i < 500; i++) await c.table('a', 'pets').insert([`pre${i}`, i]);
        let left = false;
        const nodes = ['a', 'b', 'd'];
        const leave = c.leave('c').then(() => {
          left = true;
        });
        const r = await loadLoop(
          tableTarget(c, 'pets'),
          () => nodes,
          () => left,
          { seed: 23, ...loadOpts },
        );
        await leave;
        expect(r.finished).toBe(true);
        expect(r.during).toBeGreaterThan(0);
        expect(r.errors).toEqual([]);
        expect(r.misses).toEqual([]);
        expect(await verifyModel(tableTarget(c, 'pets'), ['a', 'b', 'd'], r.model)).toEqual([]);
        for (let i = 0; i < 500; i++)
          expect(await c.table('b', 'pets').lookup(`pre${i}`)).toEqual([[`pre${i}`, i]]);
      });

      it('keeps bag values written during a join and a leave', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        let phase = 0;
        const written = new Map<string, number[]>();
        const writer = (async () => {
          let i = 0;
          while (phase < 2 && i < 3000) {
            const k = `bk${i % 60}`;
            const via = ['a', 'b'][i % 2] as string;
            await c.table(via, 'bag').insert([k, i]);
            const l = written.get(k) ?? [];
            l.push(i);
            written.set(k, l);
            i++;
            if (i % 8 === 0) await new Promise((r) => setImmediate(r));
          }
        })();
        await c.start('d');
        await c.leave('c');
        phase = 2;
        await writer;
        for (const [k, vals] of written) {
          const got = (await c.table('d', 'bag').lookup(k)).map((o) => o[1] as number);
          expect([...got].sort((x, y) => x - y)).toEqual([...vals].sort((x, y) => x - y));
        }
      });
    });

    describe('failures and configuration', () => {
      it('refuses a node whose config differs, naming the field and both values', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b']);
        let err: unknown;
        try {
          await c.start('x', { config: { numPartition: 99 } });
        } catch (e) {
          err = e;
        }
        expect(SuperCacheError.is(err)).toBe(true);
        const e = err as SuperCacheError;
        expect(e.code).toBe('SC_ERR_CONFIG_MISMATCH');
        expect(e.message).toContain('numPartition');
        expect(e.message).toContain('99');
        expect(await c.members('a')).toEqual(['a', 'b']);
        let err2: unknown;
        try {
          await c.start('y', { config: { replicationMode: 'strong' } });
        } catch (e2) {
          err2 = e2;
        }
        expect((err2 as SuperCacheError).code).toBe('SC_ERR_CONFIG_MISMATCH');
        expect((err2 as SuperCacheError).message).toContain('replicationMode');
      });

      it('survives a crash: the view drops the dead node and survivors keep serving their keys', async () => {
        const c = await fresh();
        await startAll(c, ['a', 'b', 'c']);
        for (let i = 0; i < 120; i++) await c.table('a', 'set').insert([keyName(i), i]);
        const owned: Record<string, number> = {};
        for (const id of ['a', 'b', 'c']) owned[id] = await c.ownedSize(id, 'set');
        await c.crash('c');
        expect(await eventually(async () => (await c.members('a')).join() === 'a,b', 20_000)).toBe(true);
        expect(await eventually(async () => (await c.members('b')).join() === 'a,b', 20_000)).toBe(true);
        // rf = 1: what c owned is gone; everything a and b owned is still served.
        const served = await c.table('b', 'set').size();
        expect(served).toBe((owned.a as number) + (owned.b as number));
        let found = 0;
        for (let i = 0; i < 120; i++)
          if ((await c.table('a', 'set').lookup(keyName(i))).length === 1) found++;
        expect(found).toBe(served);
        // And the cluster takes writes for every key again.
        for (let i = 0; i < 120; i++) await c.table('b', 'set').insert([keyName(i), -i]);
        expect(await c.table('a', 'set').size()).toBe(120);
      });

      it('fires nodeUp, nodeDown and handoffProgress events', async (ctx) => {
        const c = await fresh();
        if (c.events === undefined) {
          ctx.skip();
          return;
        }
        await startAll(c, ['a', 'b']);
        const ups: string[] = [];
        const downs: string[] = [];
        const progress: Array<{ role: string; phase: string; entries: number }> = [];
        c.events('a').on('nodeUp', (n) => ups.push(n));
        c.events('a').on('nodeDown', (n) => downs.push(n));
        c.events('a').on('handoffProgress', (e) => progress.push(e));
        for (let i = 0; i < 100; i++) await c.table('a', 'set').insert([keyName(i), i]);
        await c.start('c');
        await c.leave('c');
        expect(ups).toContain('c');
        expect(downs).toContain('c');
        expect(progress.some((p) => p.role === 'leader' && p.phase === 'committed')).toBe(true);
        expect(progress.some((p) => p.entries > 0)).toBe(true);
      });
    });
  });
}
