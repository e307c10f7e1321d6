/**
 * The cursor promise of the distributed guide, on real nodes over the memory
 * transport: cursors are not snapshot-isolated — a cursor open across a view
 * change may miss or repeat keys that moved — but every key that stayed on
 * its owner is returned exactly once, nothing that was never written appears,
 * and the cursor ends normally.
 */

import { _, $, type Term, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import type { View } from '../src/view.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';

const N = 300;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function ownerNode(c: MemoryCluster, table: string, k: number, view: View): string {
  const t = c.node('a').getTable(table);
  if (t === undefined) throw new Error(`no table ${table}`);
  return t.ownerOf(k, view).node;
}

describe('a cursor open across a view change', () => {
  for (const change of ['join', 'leave'] as const) {
    it(`returns every key that did not move exactly once, and only written keys (${change})`, async () => {
      const c = memoryCluster({});
      cluster = c;
      for (const id of ['a', 'b', 'c', 'd']) if (change === 'leave' || id !== 'd') await c.start(id);
      const tables = ['set', 'oset', 'pets'];
      for (const table of tables)
        await c.table('a', table).insertMany(Array.from({ length: N }, (_v, i) => [i, i] as Tuple));
      const before = c.node('a').view;
      const open = new Map<string, Awaited<ReturnType<ReturnType<MemoryCluster['table']>['selectPage']>>>();
      for (const table of tables)
        open.set(table, await c.table('b', table).selectPage([[[$(1), _], [], [$(1)]]], 20));
      if (change === 'join') await c.start('d');
      else await c.leave('c');
      const after = c.node('a').view;
      expect(after.epoch).toBeGreaterThan(before.epoch);
      for (const table of tables) {
        let page = open.get(table) as NonNullable<ReturnType<typeof open.get>>;
        const seen: Term[] = [...page.items];
        let pages = 1;
        while (page.continuation !== undefined && pages < 200) {
          page = await c.table('b', table).selectPage(page.continuation);
          seen.push(...page.items);
          pages++;
        }
        expect(page.continuation).toBeUndefined();
        const stayed = Array.from({ length: N }, (_v, i) => i).filter(
          (k) => ownerNode(c, table, k, before) === ownerNode(c, table, k, after),
        );
        expect(stayed.length).toBeGreaterThan(0);
        for (const k of stayed) expect(seen.filter((x) => x === k).length, `${table} key ${k}`).toBe(1);
        for (const k of seen) expect(typeof k === 'number' && k >= 0 && k < N).toBe(true);
        if (table === 'oset') {
          const asc = seen.every((k, i) => i === 0 || (seen[i - 1] as number) <= (k as number));
          expect(asc).toBe(true);
        }
      }
    });
  }
});
