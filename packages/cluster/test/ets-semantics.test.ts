/**
 * The ETS semantics of issue 11 through the routed table API, on a local
 * backend and on a two-node cluster over the memory transport: the storage
 * operations travel as the same commands and cursors either way.
 */

import { partitionOf } from '@supercache/partition';
import { LocalBackend, ShardSet, type TableCursor, TableRouter } from '@supercache/router';
import { _, $, $_, type MatchSpec, SuperCacheError, type TableType, type Term } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';

const ALL: MatchSpec = [[_, [], [$_]]];
const KEYS: MatchSpec = [[[$(1), _], [], [$(1)]]];
const TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function local(type: TableType): TableRouter {
  const shards = new ShardSet({ type, shards: 4, sweepIntervalMs: 0 });
  return new TableRouter(new LocalBackend({ shards, shardOf: (pd) => partitionOf(pd, 4) }));
}

async function clustered(type: TableType): Promise<TableRouter> {
  cluster = memoryCluster();
  const tables = [{ name: 't', type, placement: 'partitions', numPartitions: 16 }] as const;
  for (const id of ['a', 'b']) await cluster.start(id, { tables });
  return cluster.table('a', 't') as TableRouter;
}

async function codeOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (SuperCacheError.is(e)) return e.code;
    throw e;
  }
  return undefined;
}

async function allPages(first: () => Promise<{ items: Term[]; continuation?: TableCursor }>, r: TableRouter) {
  const out: Term[] = [];
  let page = await first();
  for (let i = 0; i < 1000; i++) {
    out.push(...page.items);
    if (page.continuation === undefined) break;
    page = await r.selectReversePage(page.continuation);
  }
  return out;
}

const BACKENDS = [
  ['local', async (type: TableType) => local(type)],
  ['cluster', clustered],
] as const;

describe.each(BACKENDS)('ETS semantics through the router (%s)', (_name, make) => {
  it.each(TYPES)('selectReverse and its pages: reversed only on an ordered_set (%s)', async (type) => {
    const r = await make(type);
    const keys = Array.from({ length: 40 }, (_v, i) => `k${String(i).padStart(2, '0')}`);
    await r.insertMany(keys.map((k) => [k, 1]));
    const fwd = await r.select(KEYS);
    const rev = await r.selectReverse(KEYS);
    if (type === 'ordered_set') {
      expect(rev).toEqual([...keys].reverse());
    } else {
      expect(rev).toEqual(fwd);
    }
    expect(await allPages(() => r.selectReversePage(KEYS, 7), r)).toEqual(rev);
  });

  it('answers lookupElement with a default for a missing key', async () => {
    const r = await make('set');
    await r.insert(['k', 1, 'x']);
    expect(await r.lookupElement('k', 2, { default: 'd' })).toBe('x');
    expect(await r.lookupElement('nope', 2, { default: 'd' })).toBe('d');
    expect(await r.lookupElement('nope', 2, { default: { deep: [1] } })).toEqual({ deep: [1] });
    expect(await codeOf(r.lookupElement('nope', 2))).toBe('SC_ERR_NOT_FOUND');
    expect(await codeOf(r.lookupElement('nope', 2, { default: (() => 1) as never }))).toBe('SC_ERR_BAD_ARG');
  });

  it('inserts the default of updateElement for a missing key, then updates it', async () => {
    const r = await make('set');
    expect(await r.updateElement('k', [1, 'new'], ['whatever', 'old', 0])).toBe(true);
    expect(await r.lookup('k')).toEqual([['k', 'new', 0]]);
    expect(await r.updateElement('j', [1, 'x'])).toBe(false);
    expect(await r.updateElement('k', [2, 5], {})).toBe(true);
    expect(await r.lookup('k')).toEqual([['k', 'new', 5]]);
  });

  it('refuses a selectReplace body that can change the key, even on an empty table', async () => {
    const r = await make('set');
    const spec: MatchSpec = [[[$(1), $(2)], [], [['tuple', ['+', $(1), 0], $(2)]]]];
    expect(await codeOf(r.selectReplace(spec))).toBe('SC_ERR_BAD_MATCH_SPEC');
    await r.insert([1, 1]);
    expect(await r.selectReplace([[[$(1), $(2)], [], [['tuple', $(1), ['+', $(2), 1]]]]])).toBe(1);
    expect(await r.lookup(1)).toEqual([[1, 2]]);
  });

  it('refuses a finished or closed continuation and names a garbage one', async () => {
    const r = await make('set');
    await r.insertMany(Array.from({ length: 10 }, (_v, i) => [i, i]));
    const p1 = await r.selectPage(ALL, 6);
    const cont = p1.continuation as TableCursor;
    const p2 = await r.selectPage(cont);
    expect(p1.items.length + p2.items.length).toBe(10);
    expect(p2.continuation).toBeUndefined();
    expect(await codeOf(r.selectPage(cont))).toBe('SC_ERR_BAD_CONTINUATION');

    const q = (await r.selectPage(ALL, 3)).continuation as TableCursor;
    await r.closeCursor(q);
    await r.closeCursor(q);
    expect(await codeOf(r.selectPage(q))).toBe('SC_ERR_BAD_CONTINUATION');

    for (const garbage of [{}, 42, null, 'c']) {
      const e = await r.selectPage(garbage as never).catch((x: unknown) => x);
      expect(SuperCacheError.is(e) && e.code).toBe('SC_ERR_BAD_ARG');
      expect((e as SuperCacheError).details).toMatchObject({ argument: 'continuation' });
    }
    expect(await codeOf(r.closeCursor({} as never))).toBe('SC_ERR_BAD_ARG');
    expect(await codeOf(() => r.foldl(1 as never, 0))).toBe('SC_ERR_BAD_ARG');
    expect(await codeOf(() => r.foldr('f' as never, 0))).toBe('SC_ERR_BAD_ARG');
  });
});
