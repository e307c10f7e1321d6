/**
 * Concurrency: thousands of operations issued at once, in a random order,
 * over a backend that delays every request and reply by a random number of
 * ticks. Because each read-modify-write is one synchronous command on the
 * owning shard, nothing is lost or handed out twice. The control test shows
 * the harness does catch a read-then-write split across two awaits.
 */

import { describe, expect, it } from 'vitest';
import { KeyValue, Queue, Stack } from '../src/index.js';
import { makeRouter, mulberry32, shuffle } from './helpers.js';

const SEED = Number(process.env.STRUCTURES_SEED ?? 20_240_611);
const N = 2_000;
const EMPTY = '__empty__';

type Op = { kind: 'in' | 'out' | 'drain'; run: () => Promise<unknown> };

async function runShuffled(ops: Op[], seed: number): Promise<Array<{ kind: Op['kind']; result: unknown }>> {
  shuffle(ops, mulberry32(seed));
  const results = await Promise.all(ops.map((o) => o.run()));
  return ops.map((o, i) => ({ kind: o.kind, result: results[i] }));
}

function expectExactlyOnce(received: number[], n: number): void {
  expect(received.length).toBe(n);
  const sorted = [...received].sort((a, b) => a - b);
  expect(sorted).toEqual(Array.from({ length: n }, (_v, i) => i));
}

function collect(results: Array<{ kind: Op['kind']; result: unknown }>): number[] {
  const got: number[] = [];
  for (const r of results) {
    if (r.kind === 'out' && r.result !== EMPTY) got.push(r.result as number);
    if (r.kind === 'drain') got.push(...(r.result as number[]));
  }
  return got;
}

describe(`concurrent structure operations (seed ${SEED})`, () => {
  it(`hands every value out exactly once under ${N} concurrent adds and ${N} outs`, async () => {
    const q = new Queue<number>(makeRouter({ jitterSeed: SEED }), 'jobs');
    const ops: Op[] = [];
    for (let i = 0; i < N; i++) {
      ops.push({ kind: 'in', run: () => q.add(i) });
      ops.push({ kind: 'out', run: () => q.out(EMPTY) });
    }
    for (let i = 0; i < 5; i++) ops.push({ kind: 'drain', run: () => q.getAll() });
    const got = collect(await runShuffled(ops, SEED));
    got.push(...(await q.getAll()));
    expectExactlyOnce(got, N);
    expect(await q.count()).toBe(0);
  });

  it('takes the oldest values first while consumers race', async () => {
    const q = new Queue<number>(makeRouter({ jitterSeed: SEED + 1 }), 'fifo');
    for (let i = 0; i < 500; i++) await q.add(i);
    // Replies arrive in any order, but each out takes the oldest value at the
    // moment it runs: 250 racing outs take exactly 0..249 and leave 250..499.
    const taken = await Promise.all(Array.from({ length: 250 }, () => q.out(EMPTY)));
    // The outs really raced: they did not run in the order they were issued.
    expect(taken).not.toEqual(Array.from({ length: 250 }, (_v, i) => i));
    expect([...taken].sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 250 }, (_v, i) => i),
    );
    expect(await q.getAll()).toEqual(Array.from({ length: 250 }, (_v, i) => 250 + i));
  });

  it(`pops every pushed value exactly once under ${N} concurrent pushes and ${N} pops`, async () => {
    const s = new Stack<number>(makeRouter({ jitterSeed: SEED + 2 }), 'work');
    const ops: Op[] = [];
    for (let i = 0; i < N; i++) {
      ops.push({ kind: 'in', run: () => s.push(i) });
      ops.push({ kind: 'out', run: () => s.pop(EMPTY) });
    }
    for (let i = 0; i < 5; i++) ops.push({ kind: 'drain', run: () => s.getAll() });
    const got = collect(await runShuffled(ops, SEED + 2));
    got.push(...(await s.getAll()));
    expectExactlyOnce(got, N);
    expect(await s.count()).toBe(0);
  });

  it.each(['set', 'ordered_set'] as const)(`sums ${N} concurrent increments exactly (%s)`, async (type) => {
    const kv = new KeyValue<string, number>(makeRouter({ type, jitterSeed: SEED + 3 }), 'counters');
    const rng = mulberry32(SEED + 4);
    const expected = new Map<string, number>();
    // Counters c0..c2 only go up and c3..c5 only go down (steps 1..9), so the
    // values one counter returns, sorted, give the order its increments ran in.
    const ops: Array<{ key: string; step: number; run: () => Promise<number> }> = [];
    for (let i = 0; i < N; i++) {
      const c = Math.floor(rng() * 6);
      const key = `c${c}`;
      const step = (1 + Math.floor(rng() * 9)) * (c < 3 ? 1 : -1);
      expected.set(key, (expected.get(key) ?? 0) + step);
      ops.push({ key, step, run: () => kv.increment(key, step) });
    }
    shuffle(ops, rng);
    const returned = await Promise.all(ops.map((o) => o.run()));
    for (const [key, total] of expected) expect(await kv.get(key)).toBe(total);
    // Every increment saw a distinct intermediate state of its counter: put
    // in the order they ran, each one started from the value the previous
    // one returned (the first from 0), and the last returned the total.
    for (const [key, total] of expected) {
      const steps = ops
        .map((o, i) => ({ step: o.step, result: returned[i] as number, key: o.key }))
        .filter((x) => x.key === key)
        .sort((x, y) => (total > 0 ? x.result - y.result : y.result - x.result));
      expect(new Set(steps.map((x) => x.result)).size).toBe(steps.length);
      let state = 0;
      for (const x of steps) {
        expect(x.result - x.step).toBe(state);
        state = x.result;
      }
      expect(state).toBe(total);
    }
  });

  it('loses updates with a read-then-write across two awaits (control: the harness can fail)', async () => {
    const kv = new KeyValue<string, number>(makeRouter({ jitterSeed: SEED + 5 }), 'naive');
    const naive = async () => {
      const v = await kv.get('n', 0);
      await kv.add('n', v + 1);
    };
    await Promise.all(Array.from({ length: 500 }, naive));
    expect(await kv.get('n')).toBeLessThan(500);
  });
});
