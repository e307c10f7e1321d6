/**
 * Model-based tests: random operation sequences run against the structures
 * and against plain arrays / maps; every answer must agree. fast-check
 * prints the seed and the shrunk counterexample on failure; rerun one with
 * `FC_SEED=<seed>`.
 */

import type { TableType } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyValue, Queue, Stack } from '../src/index.js';
import { makeRouter, TABLE_TYPES } from './helpers.js';

const SEED = Number(process.env.FC_SEED ?? 424_242);
const RUNS = 60;
const EMPTY = '__empty__';

type QueueOp =
  | { op: 'add'; v: number }
  | { op: 'out' }
  | { op: 'peek' }
  | { op: 'count' }
  | { op: 'getAll' }
  | { op: 'clear' };

const queueOp: fc.Arbitrary<QueueOp> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -50, max: 50 }).map((v) => ({ op: 'add' as const, v })) },
  { weight: 4, arbitrary: fc.constant({ op: 'out' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'peek' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'count' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'getAll' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('Queue and Stack against an array model', () => {
  it('Queue answers every add/out/peek/count/getAll/clear like an array used as a FIFO', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(queueOp, { maxLength: 80 }), async (ops) => {
        const q = new Queue<number>(makeRouter(), 'model');
        const model: number[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'add':
              model.push(o.v);
              expect(await q.add(o.v)).toBe(model.length);
              break;
            case 'out':
              expect(await q.out(EMPTY)).toBe(model.length === 0 ? EMPTY : model.shift());
              break;
            case 'peek':
              expect(await q.peek(EMPTY)).toBe(model.length === 0 ? EMPTY : model[0]);
              break;
            case 'count':
              expect(await q.count()).toBe(model.length);
              break;
            case 'getAll':
              expect(await q.getAll()).toEqual(model.splice(0));
              break;
            case 'clear':
              expect(await q.clear()).toBe(model.splice(0).length);
              break;
          }
        }
        expect(await q.getAll()).toEqual(model);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('Stack answers every push/pop/peek/count/getAll/clear like an array used as a LIFO', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(queueOp, { maxLength: 80 }), async (ops) => {
        const s = new Stack<number>(makeRouter(), 'model');
        const model: number[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'add':
              model.push(o.v);
              expect(await s.push(o.v)).toBe(model.length);
              break;
            case 'out':
              expect(await s.pop(EMPTY)).toBe(model.length === 0 ? EMPTY : model.pop());
              break;
            case 'peek':
              expect(await s.peek(EMPTY)).toBe(model.length === 0 ? EMPTY : model[model.length - 1]);
              break;
            case 'count':
              expect(await s.count()).toBe(model.length);
              break;
            case 'getAll':
              expect(await s.getAll()).toEqual(model.splice(0).reverse());
              break;
            case 'clear':
              expect(await s.clear()).toBe(model.splice(0).length);
              break;
          }
        }
        expect(await s.getAll()).toEqual(model.reverse());
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });
});

type KvOp =
  | { op: 'add' | 'update' | 'updateFn' | 'replace'; ns: number; k: number; v: number | string }
  | { op: 'remove' | 'get' | 'getAll' | 'increment'; ns: number; k: number }
  | { op: 'count' | 'keys' | 'removeAll'; ns: number };

const ns = fc.integer({ min: 0, max: 1 });
const key = fc.integer({ min: 0, max: 4 });
const value = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b'));
const kvOp: fc.Arbitrary<KvOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('add' as const), ns, k: key, v: value }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('update' as const, 'updateFn' as const, 'replace' as const),
      ns,
      k: key,
      v: value,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom('remove' as const, 'get' as const, 'getAll' as const, 'increment' as const),
      ns,
      k: key,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('count' as const, 'keys' as const, 'removeAll' as const),
      ns,
    }),
  },
);

function sortedKeys(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

describe.each(TABLE_TYPES)('KeyValue on a %s table against a map model', (type: TableType) => {
  const bag = type === 'bag' || type === 'duplicate_bag';

  it('answers like a Map of value lists, with namespaces kept apart', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(kvOp, { maxLength: 80 }), async (ops) => {
        const router = makeRouter({ type });
        const stores = [
          new KeyValue<number, number | string>(router, 'a'),
          new KeyValue<number, number | string>(router, 'b'),
        ];
        const models = [new Map<number, Array<number | string>>(), new Map<number, Array<number | string>>()];
        for (const o of ops) {
          const kv = stores[o.ns] as KeyValue<number, number | string>;
          const m = models[o.ns] as Map<number, Array<number | string>>;
          switch (o.op) {
            case 'add': {
              await kv.add(o.k, o.v);
              const cur = m.get(o.k) ?? [];
              if (!bag) m.set(o.k, [o.v]);
              else if (type === 'duplicate_bag' || !cur.includes(o.v)) m.set(o.k, [...cur, o.v]);
              break;
            }
            case 'update': {
              // Present or not, the key ends with exactly this value (the seed's update/3).
              expect(await kv.update(o.k, o.v)).toBe(o.v);
              m.set(o.k, [o.v]);
              break;
            }
            case 'updateFn': {
              // update/4: the default when absent, else fn of the latest value.
              const bump = (x: number | string) => (typeof x === 'number' ? x + 1 : `${x}!`);
              const cur = m.get(o.k);
              const next = cur === undefined ? o.v : bump(cur[cur.length - 1] as number | string);
              expect(await kv.update(o.k, o.v, bump)).toBe(next);
              m.set(o.k, [next]);
              break;
            }
            case 'replace':
              await kv.replace(o.k, o.v);
              m.set(o.k, [o.v]);
              break;
            case 'remove':
              expect(await kv.remove(o.k)).toBe(m.delete(o.k));
              break;
            case 'get':
              // The latest value (a bag's last), as the seed's get.
              expect(await kv.get(o.k, EMPTY)).toBe(m.get(o.k)?.at(-1) ?? EMPTY);
              break;
            case 'getAll':
              expect(await kv.getAll(o.k)).toEqual(m.get(o.k) ?? []);
              break;
            case 'increment': {
              if (bag) {
                await expect(kv.increment(o.k)).rejects.toMatchObject({ code: 'SC_ERR_WRONG_TABLE_TYPE' });
                break;
              }
              const cur = m.get(o.k)?.[0] ?? 0;
              if (typeof cur !== 'number') {
                await expect(kv.increment(o.k)).rejects.toMatchObject({ code: 'SC_ERR_BAD_COUNTER' });
              } else {
                expect(await kv.increment(o.k)).toBe(cur + 1);
                m.set(o.k, [cur + 1]);
              }
              break;
            }
            case 'count': {
              let n = 0;
              for (const vs of m.values()) n += vs.length;
              expect(await kv.count()).toBe(n);
              break;
            }
            case 'keys':
              expect(sortedKeys(await kv.keys())).toEqual(sortedKeys([...m.keys()]));
              break;
            case 'removeAll': {
              let n = 0;
              for (const vs of m.values()) n += vs.length;
              expect(await kv.removeAll()).toBe(n);
              m.clear();
              break;
            }
          }
        }
        for (let i = 0; i < 2; i++) {
          const kv = stores[i] as KeyValue<number, number | string>;
          const m = models[i] as Map<number, Array<number | string>>;
          const expected: Array<[number, number | string]> = [];
          for (const [k, vs] of m) for (const v of vs) expected.push([k, v]);
          const order = (a: [number, number | string], b: [number, number | string]) =>
            a[0] - b[0] || String(a[1]).localeCompare(String(b[1]));
          expect((await kv.toList()).sort(order)).toEqual(expected.sort(order));
        }
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });
});
