/**
 * KeyValue / Queue throughput against a raw `Map`, in one process (4 shards,
 * LocalBackend, every call awaited, as an application would).
 *
 *   pnpm exec tsx --conditions=@supercache/source packages/structures/bench/structures.bench.ts
 *
 * Each figure is the best of 3 runs. Prints a markdown table and writes
 * bench/results/structures.json.
 * Bounded to well under 30 s.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { partitionOf } from '@supercache/partition';
import { createRegistry, LocalBackend, ShardSet, TableRouter } from '@supercache/router';
import { KeyValue, Queue, registerStructureCommands } from '../src/index.js';

const SHARDS = 4;
const N = 50_000;
const BATCH = 10_000;
const BATCH_ROUNDS = 10;

function router(): TableRouter {
  const registry = createRegistry();
  registerStructureCommands(registry);
  const shards = new ShardSet({ shards: SHARDS, type: 'set', keyPos: 0, registry, sweepIntervalMs: 0 });
  return new TableRouter(new LocalBackend({ shards, shardOf: (pd) => partitionOf(pd, SHARDS) }));
}

interface Row {
  name: string;
  ops: number;
  ms: number;
  opsPerSec: number;
  baseline?: string;
  ratio?: number;
}

const REPS = 3;

/** Best of {@link REPS} runs (the least disturbed by GC and other processes). */
async function measure(name: string, ops: number, f: () => Promise<void> | void): Promise<Row> {
  let ms = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    await f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { name, ops, ms: Math.round(ms * 10) / 10, opsPerSec: Math.round((ops / ms) * 1000) };
}

async function main(): Promise<void> {
  const keys = Array.from({ length: N }, (_v, i) => `user:${i}`);
  const value = { name: 'Alice', age: 30 };
  const rows: Row[] = [];

  // Warm up the JIT on a throwaway store.
  {
    const kv = new KeyValue(router(), 'warm');
    for (let i = 0; i < 5_000; i++) await kv.add(keys[i] as string, value);
    for (let i = 0; i < 5_000; i++) await kv.get(keys[i] as string);
    await kv.addBatch(keys.slice(0, 5_000).map((k) => [k, value] as const));
  }

  const map = new Map<string, unknown>();
  const mapSet = await measure('Map.set', N, () => {
    for (const k of keys) map.set(`session\u0000${k}`, value);
  });
  const mapGet = await measure('Map.get', N, () => {
    let hits = 0;
    for (const k of keys) if (map.get(`session\u0000${k}`) !== undefined) hits++;
    if (hits !== N) throw new Error('map miss');
  });

  const kv = new KeyValue(router(), 'session');
  const add = await measure('KeyValue.add', N, async () => {
    for (const k of keys) await kv.add(k, value);
  });
  const get = await measure('KeyValue.get', N, async () => {
    for (const k of keys) if ((await kv.get(k)) === undefined) throw new Error('kv miss');
  });

  const batchKv = new KeyValue(router(), 'batch');
  const pairs = keys.slice(0, BATCH).map((k) => [k, value] as const);
  const batch = await measure(
    `KeyValue.addBatch(${BATCH.toLocaleString('en')})`,
    BATCH * BATCH_ROUNDS,
    async () => {
      for (let r = 0; r < BATCH_ROUNDS; r++) await batchKv.addBatch(pairs);
    },
  );
  const mapBatch = await measure(`Map.set ×${BATCH.toLocaleString('en')}`, BATCH * BATCH_ROUNDS, () => {
    const m = new Map<string, unknown>();
    for (let r = 0; r < BATCH_ROUNDS; r++) for (const [k, v] of pairs) m.set(`batch\u0000${k}`, v);
  });

  const q = new Queue(router(), 'jobs');
  const qAdd = await measure('Queue.add', N, async () => {
    for (let i = 0; i < N; i++) await q.add(i);
  });
  // measure() ran the adds REPS times: REPS × N values to take out.
  const qOut = await measure('Queue.out', N, async () => {
    for (let i = 0; i < N; i++) if ((await q.out()) === undefined) throw new Error('queue ran dry');
  });
  const arr: number[] = [];
  const arrPush = await measure('Array.push', N, () => {
    for (let i = 0; i < N; i++) arr.push(i);
  });

  const vs = (row: Row, base: Row): Row => ({
    ...row,
    baseline: base.name,
    ratio: Math.round((row.opsPerSec / base.opsPerSec) * 1000) / 1000,
  });
  rows.push(
    mapSet,
    vs(add, mapSet),
    mapGet,
    vs(get, mapGet),
    mapBatch,
    vs(batch, mapBatch),
    arrPush,
    vs(qAdd, arrPush),
  );
  rows.push(vs(qOut, arrPush));

  const fmt = (n: number) => n.toLocaleString('en');
  const lines = [
    `KeyValue / Queue vs raw Map — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${SHARDS} shards, local backend`,
    '',
    '| operation | ops | ms | ops/sec | vs baseline |',
    '|---|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.ops)} | ${r.ms} | ${fmt(r.opsPerSec)} | ${r.baseline === undefined ? '(baseline)' : `${r.ratio}× ${r.baseline}`} |`,
    ),
  ];
  console.log(lines.join('\n'));

  const out = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    'bench',
    'results',
    'structures.json',
  );
  mkdirSync(dirname(out), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    shards: SHARDS,
    results: rows,
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

await main();
