/**
 * Throughput of WriteBuffer against calling the sink directly.
 *
 * Run from the repository root:
 *   pnpm exec tsx packages/buffer/bench/buffer.bench.ts
 *
 * The sink is a `Map.set` over 10 000 keys (a stand-in for a table insert).
 * Each case pushes the same pre-built items; the best of several rounds is
 * reported, as items per second and as a ratio to the direct baseline.
 * Finishes in a few seconds.
 */
import { WriteBuffer, type WriteBufferOptions } from '../src/index.js';

type Item = readonly [key: number, value: number];

const ITEMS = 1_000_000;
const ROUNDS = 5;
const KEYS = 10_000;

const items: Item[] = Array.from({ length: ITEMS }, (_, i) => [i % KEYS, i] as const);
const table = new Map<number, number>();

function sink(item: Item): void {
  table.set(item[0], item[1]);
}

function applyBatch(batch: Item[]): void {
  for (let i = 0; i < batch.length; i++) sink(batch[i]!);
}

async function applyBatchAsync(batch: Item[]): Promise<void> {
  applyBatch(batch);
  await Promise.resolve();
}

interface Case {
  readonly name: string;
  readonly run: () => Promise<void>;
}

function bufferCase(
  name: string,
  options: Omit<WriteBufferOptions<Item>, 'apply'>,
  apply: (batch: Item[]) => void | Promise<void>,
  awaitEachPush: boolean,
): Case {
  return {
    name,
    run: async () => {
      const buffer = new WriteBuffer<Item>({ ...options, apply });
      if (awaitEachPush) {
        for (let i = 0; i < ITEMS; i++) await buffer.push(items[i]!);
      } else {
        // A synchronous producer, as lazyPut callers are: back off only when told to.
        for (let i = 0; i < ITEMS; i++) {
          const waiting = buffer.push(items[i]!);
          if (waiting !== undefined) await waiting;
        }
      }
      await buffer.stop();
      const stats = buffer.stats();
      if (stats.applied !== ITEMS) throw new Error(`${name}: applied ${stats.applied} of ${ITEMS}`);
    },
  };
}

const cases: Case[] = [
  {
    name: 'direct sink(item)',
    run: async () => {
      for (let i = 0; i < ITEMS; i++) sink(items[i]!);
    },
  },
  bufferCase('buffer, sync apply, maxBatch 1024', {}, applyBatch, false),
  bufferCase('buffer, sync apply, maxBatch 64', { maxBatch: 64 }, applyBatch, false),
  bufferCase('buffer, sync apply, maxBatch 1', { maxBatch: 1 }, applyBatch, false),
  bufferCase('buffer, async apply, maxBatch 1024', {}, applyBatchAsync, false),
  bufferCase('buffer, async apply, await every push', {}, applyBatchAsync, true),
];

async function best(c: Case): Promise<number> {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    table.clear();
    const start = performance.now();
    await c.run();
    bestMs = Math.min(bestMs, performance.now() - start);
  }
  return bestMs;
}

const started = performance.now();
console.log(`@supercache/buffer throughput: ${ITEMS.toLocaleString('en')} items, best of ${ROUNDS}`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
let baseline = 0;
for (const c of cases) {
  const ms = await best(c);
  const perSec = (ITEMS / ms) * 1000;
  if (baseline === 0) baseline = perSec;
  const ratio = perSec / baseline;
  console.log(
    `${c.name.padEnd(40)} ${(perSec / 1e6).toFixed(2).padStart(7)} M items/s  ${ms.toFixed(1).padStart(8)} ms  x${ratio.toFixed(2)} of direct`,
  );
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
